using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Storefleet.Testing.KubeApi.Discovery;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>
/// In-memory object storage with one global resource version, a bounded event history (so a watch
/// can resume from a recent resource version, and an older one gets 410 Gone) and live watchers.
/// Thread-safe: every mutation happens under one lock and is published to watchers in order.
/// Objects handed out are deep copies. Lists, a namespace's objects and an owner's dependents are read from indexes (as a
/// real API server reads an etcd key prefix), so their cost follows what they return, not how many objects are stored.
/// </summary>
public sealed class ObjectStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ApiResource> _resources = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _byNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _byOwner = new(StringComparer.Ordinal);
    private readonly LinkedList<WatchEvent> _history = new();
    private readonly List<Channel<WatchEvent>> _watchers = [];
    private long _resourceVersion = 1000;

    public ObjectStore(int historyLimit = 10_000) => HistoryLimit = historyLimit;

    public int HistoryLimit { get; set; }

    /// <summary>Raised after every committed change, outside the lock (the workload simulation listens).</summary>
    public event Action<WatchEvent>? Changed;

    public long CurrentResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>The oldest resource version a watch can resume from.</summary>
    public long OldestResumableVersion
    {
        get
        {
            lock (_gate)
            {
                return _history.First?.Value.ResourceVersion - 1 ?? _resourceVersion;
            }
        }
    }

    public JsonObject? Get(ApiResource resource, string? ns, string name)
    {
        lock (_gate)
        {
            return _objects.TryGetValue(Key(resource, ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
        }
    }

    /// <summary>Objects of a resource, in one namespace or (null) all, ordered by namespace then name (as etcd orders its keys), with the list's resource version.</summary>
    public (IReadOnlyList<JsonObject> Items, long ResourceVersion) List(ApiResource resource, string? ns)
    {
        var prefix = resource.GroupResource + "/" + (ns is null ? string.Empty : ns + "/");
        lock (_gate)
        {
            var items = _keys.GetViewBetween(prefix, prefix + char.MaxValue)
                .Select(key => (JsonObject)_objects[key].DeepClone())
                .ToArray();
            return (items, _resourceVersion);
        }
    }

    /// <summary>All objects in a namespace, of every namespaced resource.</summary>
    public IReadOnlyList<(ApiResource Resource, JsonObject Object)> InNamespace(string ns)
    {
        lock (_gate)
        {
            return Indexed(_byNamespace, ns);
        }
    }

    /// <summary>Every object whose ownerReferences name <paramref name="ownerUid"/>.</summary>
    public IReadOnlyList<(ApiResource Resource, JsonObject Object)> OwnedBy(string ownerUid)
    {
        lock (_gate)
        {
            return Indexed(_byOwner, ownerUid);
        }
    }

    /// <summary>Stores a new object. Returns null if one of that name exists.</summary>
    public JsonObject? TryCreate(ApiResource resource, JsonObject obj) =>
        Commit(resource, obj, mustExist: false, expectedVersion: null, "ADDED");

    /// <summary>
    /// Replaces an object. With <paramref name="expectedVersion"/>, only if the stored version matches
    /// (throws <see cref="VersionConflictException"/> otherwise). Returns null when absent.
    /// </summary>
    public JsonObject? TryReplace(ApiResource resource, JsonObject obj, string? expectedVersion) =>
        Commit(resource, obj, mustExist: true, expectedVersion, "MODIFIED");

    /// <summary>Reads, transforms and writes an object atomically. Returns null when absent.</summary>
    public JsonObject? Update(ApiResource resource, string? ns, string name, Func<JsonObject, JsonObject?> change)
    {
        WatchEvent? published = null;
        JsonObject? result;
        lock (_gate)
        {
            var key = Key(resource, ns, name);
            if (!_objects.TryGetValue(key, out var current))
            {
                return null;
            }

            var changed = change((JsonObject)current.DeepClone());
            if (changed is null)
            {
                return (JsonObject)current.DeepClone();
            }

            result = Store(resource, key, changed, "MODIFIED", out published);
        }

        Publish(published);
        return result;
    }

    public JsonObject? Remove(ApiResource resource, string? ns, string name)
    {
        WatchEvent? published;
        JsonObject removed;
        lock (_gate)
        {
            var key = Key(resource, ns, name);
            if (!_objects.Remove(key, out var current))
            {
                return null;
            }

            _resources.Remove(key);
            Unindex(key, current);
            var rv = ++_resourceVersion;
            current["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            removed = current;
            published = Record(new WatchEvent("DELETED", resource, ns, (JsonObject)current.DeepClone(), rv));
        }

        Publish(published);
        return (JsonObject)removed.DeepClone();
    }

    /// <summary>
    /// Starts a watch: returns the history after <paramref name="afterVersion"/> (null: none) and a
    /// channel of later events, atomically, so nothing is missed or duplicated.
    /// Throws <see cref="ResourceVersionTooOldException"/> when that history is gone.
    /// </summary>
    public (IReadOnlyList<WatchEvent> Backlog, ChannelReader<WatchEvent> Live, IDisposable Subscription) Watch(long? afterVersion)
    {
        var channel = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            IReadOnlyList<WatchEvent> backlog = [];
            if (afterVersion is { } after && after < _resourceVersion)
            {
                var oldest = _history.First?.Value.ResourceVersion - 1 ?? _resourceVersion;
                if (after < oldest)
                {
                    throw new ResourceVersionTooOldException(after, oldest);
                }

                backlog = _history.Where(e => e.ResourceVersion > after).ToArray();
            }

            _watchers.Add(channel);
            return (backlog, channel.Reader, new Unsubscribe(this, channel));
        }
    }

    /// <summary>Forgets everything (objects, history) and ends every watch.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _objects.Clear();
            _resources.Clear();
            _keys.Clear();
            _byNamespace.Clear();
            _byOwner.Clear();
            _history.Clear();
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }

            _watchers.Clear();
        }
    }

    /// <summary>Drops all history, so any watch resuming from an older version gets 410 Gone (like etcd compaction).</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _history.Clear();
        }
    }

    private JsonObject? Commit(ApiResource resource, JsonObject obj, bool mustExist, string? expectedVersion, string type)
    {
        WatchEvent? published;
        JsonObject result;
        lock (_gate)
        {
            var metadata = obj["metadata"]!.AsObject();
            var key = Key(resource, metadata["namespace"]?.GetValue<string>(), metadata["name"]!.GetValue<string>());
            var exists = _objects.TryGetValue(key, out var current);
            if (exists != mustExist)
            {
                return null;
            }

            if (expectedVersion is not null && current!["metadata"]!["resourceVersion"]!.GetValue<string>() != expectedVersion)
            {
                throw new VersionConflictException();
            }

            result = Store(resource, key, obj, type, out published);
        }

        Publish(published);
        return result;
    }

    private JsonObject Store(ApiResource resource, string key, JsonObject obj, string type, out WatchEvent published)
    {
        var rv = ++_resourceVersion;
        obj["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        if (_objects.TryGetValue(key, out var previous))
        {
            Unindex(key, previous);
        }

        _objects[key] = obj;
        Index(key, obj);
        _resources[key] = resource;
        published = Record(new WatchEvent(type, resource, obj["metadata"]!["namespace"]?.GetValue<string>(), (JsonObject)obj.DeepClone(), rv));
        return (JsonObject)obj.DeepClone();
    }

    private WatchEvent Record(WatchEvent e)
    {
        _history.AddLast(e);
        while (_history.Count > HistoryLimit)
        {
            _history.RemoveFirst();
        }

        foreach (var watcher in _watchers)
        {
            watcher.Writer.TryWrite(e);
        }

        return e;
    }

    private void Publish(WatchEvent? e)
    {
        if (e is not null)
        {
            Changed?.Invoke(e);
        }
    }

    private (ApiResource Resource, JsonObject Object)[] Indexed(Dictionary<string, SortedSet<string>> index, string value) =>
        index.TryGetValue(value, out var keys)
            ? keys.Select(key => (_resources[key], (JsonObject)_objects[key].DeepClone())).ToArray()
            : [];

    private void Index(string key, JsonObject obj)
    {
        _keys.Add(key);
        foreach (var (index, value) in IndexedValues(key, obj))
        {
            if (!index.TryGetValue(value, out var keys))
            {
                index[value] = keys = new SortedSet<string>(StringComparer.Ordinal);
            }

            keys.Add(key);
        }
    }

    private void Unindex(string key, JsonObject obj)
    {
        _keys.Remove(key);
        foreach (var (index, value) in IndexedValues(key, obj))
        {
            if (index.TryGetValue(value, out var keys) && keys.Remove(key) && keys.Count == 0)
            {
                index.Remove(value);
            }
        }
    }

    /// <summary>The index entries of an object: its namespace and every owner it names.</summary>
    private IEnumerable<(Dictionary<string, SortedSet<string>> Index, string Value)> IndexedValues(string key, JsonObject obj)
    {
        if (key.Split('/') is [_, { Length: > 0 } ns, _])
        {
            yield return (_byNamespace, ns);
        }

        if (obj["metadata"]?["ownerReferences"] is JsonArray owners)
        {
            foreach (var uid in owners.Select(o => o?["uid"]?.GetValue<string>()).OfType<string>().Distinct(StringComparer.Ordinal))
            {
                yield return (_byOwner, uid);
            }
        }
    }

    private static string Key(ApiResource resource, string? ns, string name) =>
        resource.Namespaced ? $"{resource.GroupResource}/{ns}/{name}" : $"{resource.GroupResource}//{name}";

    private sealed class Unsubscribe(ObjectStore store, Channel<WatchEvent> channel) : IDisposable
    {
        public void Dispose()
        {
            lock (store._gate)
            {
                store._watchers.Remove(channel);
            }

            channel.Writer.TryComplete();
        }
    }
}

public sealed class VersionConflictException : Exception;

public sealed class ResourceVersionTooOldException(long requested, long oldest)
    : Exception($"too old resource version: {requested} ({oldest})");

using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Watching;

/// <summary>
/// The list or watch call of one resource across all namespaces (label-selected), as the generated client offers it.
/// Lists are paged: <paramref name="continueToken"/> is the previous page's (null for the first); watches pass null.
/// </summary>
public delegate Task<HttpOperationResponse<TList>> ListCall<TList>(IKubernetes client, string? resourceVersion, bool watch, string? continueToken, CancellationToken cancellationToken);

/// <summary>
/// An informer for one resource: lists once, then watches from the list's resource version, keeping a projection of
/// every object (see <see cref="ICachedObject"/>) indexed by namespace. A watch that ends is resumed from the last
/// resource version seen (bookmarks keep it fresh); only an expired version (410 Gone) or a failed watch lists again.
/// Every change is reported with the object's namespace, so its store is reconciled at once.
/// </summary>
public sealed class ResourceCache<T, TList, TView>(
    string resource,
    ListCall<TList> list,
    Func<T, TView> project,
    ClusterConnection cluster,
    TimeProvider clock,
    ILogger logger) : IResourceCache
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IKubernetesObject<V1ListMeta>, IItems<T>
    where TView : ICachedObject
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, TView>> _byNamespace = new(StringComparer.Ordinal);
    private volatile bool _synced;

    public string Resource => resource;

    /// <summary>The first list arrived (and no relist is under way that failed): the cache is a complete picture.</summary>
    public bool Synced => _synced;

    /// <summary>Requests this cache made that were not watches (lists), for the load figures.</summary>
    public long Lists => Interlocked.Read(ref _lists);

    private long _lists;

    /// <summary>An object changed, appeared or went away (its namespace and the raw object, when there is one).</summary>
    public event Action<string, T?>? Changed;

    public IReadOnlyCollection<TView> InNamespace(string ns) =>
        _byNamespace.TryGetValue(ns, out var items) ? (IReadOnlyCollection<TView>)items.Values.ToArray() : [];

    public TView? Get(string ns, string name) =>
        _byNamespace.TryGetValue(ns, out var items) && items.TryGetValue(name, out var view) ? view : default;

    public int Count => _byNamespace.Values.Sum(v => v.Count);

    public async Task RunAsync(TimeSpan retryDelay, CancellationToken stoppingToken)
    {
        string? resourceVersion = null;
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            var client = cluster.TryGetClient(out _);
            if (client is null)
            {
                await Task.Delay(retryDelay, clock, stoppingToken);
                continue;
            }

            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(client, stoppingToken);
                    cluster.ReportReachable();
                }

                var started = clock.GetTimestamp();
                var expired = false;
                Exception? watchError = null;
                // Each watch is bounded (5–10 min, jittered) so a silently dead connection is noticed.
                var watchCall = list(client, resourceVersion, true, null, stoppingToken);
#pragma warning disable CS0618 // The replacement (per-resource WatchListAsync clients) has no all-namespaces form with a label selector for every kind.
                await foreach (var (type, item) in watchCall.WatchAsync<T, TList>(e => watchError = e, stoppingToken))
#pragma warning restore CS0618
                {
                    switch (type)
                    {
                        case WatchEventType.Added or WatchEventType.Modified:
                            Upsert(item);
                            break;
                        case WatchEventType.Deleted:
                            Remove(item);
                            break;
                        case WatchEventType.Error:
                            expired = true;
                            break;
                    }

                    if (expired)
                    {
                        break;
                    }

                    resourceVersion = item?.Metadata?.ResourceVersion is { Length: > 0 } rv ? rv : resourceVersion;
                }

                if (expired || watchError is KubernetesException { Status.Code: 410 })
                {
                    // The resource version is too old: list again (what a real informer does).
                    resourceVersion = null;
                    continue;
                }

                if (watchError is not null)
                {
                    LogWatchEnded(watchError.Message);
                }

                // A watch that ended at once (a proxy closing streams) is resumed with backoff, never in a tight loop.
                if (clock.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
                {
                    await Task.Delay(Jittered(delay), clock, stoppingToken);
                    delay = Doubled(delay, retryDelay);
                }
                else
                {
                    delay = TimeSpan.FromMilliseconds(200);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                resourceVersion = null;
            }
            catch (Exception e)
            {
                if (KubeErrors.IsUnreachable(e))
                {
                    cluster.ReportUnreachable(KubeErrors.Describe(e));
                }

                WatchFailed(logger, resource, KubeErrors.Describe(e), delay.TotalMilliseconds, null);
                await Task.Delay(Jittered(delay), clock, stoppingToken);
                delay = Doubled(delay, retryDelay);
            }
        }
    }

    /// <summary>
    /// Lists everything in pages (as client-go's reflector does, so a large fleet never arrives as one huge response),
    /// replaces the cache's contents, and reports every namespace whose objects changed or went.
    /// </summary>
    private async Task<string?> ListAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        var fresh = new Dictionary<string, Dictionary<string, TView>>(StringComparer.Ordinal);
        string? continueToken = null;
        string? listVersion = null;
        do
        {
            Interlocked.Increment(ref _lists);
            using var page = await list(client, null, false, continueToken, cancellationToken);
            listVersion ??= page.Body.Metadata?.ResourceVersion;
            foreach (var item in page.Body.Items)
            {
                var view = project(item);
                if (!fresh.TryGetValue(view.Namespace, out var names))
                {
                    names = new Dictionary<string, TView>(StringComparer.Ordinal);
                    fresh[view.Namespace] = names;
                }

                names[view.Name] = view;
            }

            continueToken = page.Body.Metadata?.ContinueProperty is { Length: > 0 } next ? next : null;
        }
        while (continueToken is not null);

        var touched = new HashSet<string>(_byNamespace.Keys.Where(ns => !fresh.ContainsKey(ns)), StringComparer.Ordinal);
        foreach (var (ns, names) in fresh)
        {
            if (!_byNamespace.TryGetValue(ns, out var current) || current.Count != names.Count || names.Any(kv => !current.TryGetValue(kv.Key, out var old) || !Equals(old, kv.Value)))
            {
                touched.Add(ns);
            }

            _byNamespace[ns] = new ConcurrentDictionary<string, TView>(names, StringComparer.Ordinal);
        }

        foreach (var ns in _byNamespace.Keys.Where(ns => !fresh.ContainsKey(ns)).ToArray())
        {
            _byNamespace.TryRemove(ns, out _);
        }

        _synced = true;
        foreach (var ns in touched)
        {
            Changed?.Invoke(ns, default);
        }

        return listVersion;
    }

    private void Upsert(T item)
    {
        var view = project(item);
        var names = _byNamespace.GetOrAdd(view.Namespace, _ => new ConcurrentDictionary<string, TView>(StringComparer.Ordinal));
        if (names.TryGetValue(view.Name, out var old) && Equals(old, view))
        {
            return;
        }

        names[view.Name] = view;
        Changed?.Invoke(view.Namespace, item);
    }

    private void Remove(T item)
    {
        var view = project(item);
        if (_byNamespace.TryGetValue(view.Namespace, out var names) && names.TryRemove(view.Name, out _))
        {
            Changed?.Invoke(view.Namespace, item);
        }
    }

    private void LogWatchEnded(string reason) => WatchEnded(logger, resource, reason, null);

    private static readonly Action<ILogger, string, string, double, Exception?> WatchFailed =
        LoggerMessage.Define<string, string, double>(LogLevel.Warning, new EventId(1, "WatchFailed"), "Watch of {Resource} failed ({Reason}); retrying in {DelayMs} ms.");

    private static readonly Action<ILogger, string, string, Exception?> WatchEnded =
        LoggerMessage.Define<string, string>(LogLevel.Debug, new EventId(2, "WatchEnded"), "Watch of {Resource} ended ({Reason}); resuming.");

    private static TimeSpan Jittered(TimeSpan delay) => delay * (0.8 + (Random.Shared.NextDouble() * 0.4));

    private static TimeSpan Doubled(TimeSpan delay, TimeSpan max) => TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, max.TotalMilliseconds));
}

/// <summary>What every resource cache offers without its types.</summary>
public interface IResourceCache
{
    string Resource { get; }

    bool Synced { get; }

    long Lists { get; }

    int Count { get; }

    Task RunAsync(TimeSpan retryDelay, CancellationToken stoppingToken);
}

using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Storefleet.Core.Stores;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api.Streaming;

/// <summary>
/// The streaming reads (Server-Sent Events), so no client ever has to poll:
/// <list type="bullet">
/// <item><c>GET /api/v1/stores/{name}/events?follow=true</c>: the timeline, then each new event as it is written. Every
/// event carries its timeline id; reconnecting with <c>Last-Event-ID</c> continues after it.</item>
/// <item><c>GET /api/v1/stores?watch=true</c>: <c>added</c> for every store the caller may see, <c>synced</c>, then
/// <c>added</c>/<c>modified</c>/<c>deleted</c> as records change. Ids are positions in the change feed; reconnecting with
/// <c>Last-Event-ID</c> continues after it, or — if the feed no longer reaches back that far — gets <c>relist</c>, the
/// equivalent of Kubernetes' 410: list again and watch without an id.</item>
/// </list>
/// Same rules as the reads (owner isolation, roles); a <c>heartbeat</c> event every <see cref="StreamOptions.Heartbeat"/>
/// keeps proxies from closing an idle stream; a client has at most <see cref="StreamOptions.MaxStreamsPerClient"/> open.
/// </summary>
public sealed class StoreStreams(IStoreRepository repository, StoreWork work, IOptions<StreamOptions> options, IHostApplicationLifetime lifetime)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { TypeInfoResolver = ApiJsonContext.Default };
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>Opens a stream for <paramref name="client"/>, or null when it has too many open already.</summary>
    public IDisposable? TryOpen(string client)
    {
        var count = _open.AddOrUpdate(client, 1, (_, n) => n + 1);
        if (count <= options.Value.MaxStreamsPerClient)
        {
            return new Opened(this, client);
        }

        Close(client);
        return null;
    }

    public int MaxStreamsPerClient => options.Value.MaxStreamsPerClient;

    /// <summary>A store's timeline after <paramref name="lastEventId"/>, then its new events, until the store is deleted or the client goes.</summary>
    public async IAsyncEnumerable<SseItem<string>> FollowAsync(string name, long lastEventId, IDisposable opened, [EnumeratorCancellation] CancellationToken requestAborted)
    {
        using var _ = opened;
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, lifetime.ApplicationStopping);
        var token = stopping.Token;
        var signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        void OnChanged(string changed)
        {
            if (changed == name)
            {
                signal.Writer.TryWrite(true);
            }
        }

        repository.Changed += OnChanged;
        try
        {
            var last = lastEventId;
            while (!token.IsCancellationRequested)
            {
                var timeline = await repository.GetTimelineAsync(name, token);
                if (timeline.Count > 0 && last > 0 && timeline[0].Id > last + 1)
                {
                    // Older entries were trimmed while the client was away: say what it missed, then go on.
                    yield return new SseItem<string>(JsonSerializer.Serialize(new StreamGap(last + 1, timeline[0].Id - 1), Json), "gap");
                }

                var ended = false;
                foreach (var entry in timeline.Where(e => e.Id > last))
                {
                    yield return new SseItem<string>(JsonSerializer.Serialize(StoreEventResource.From(entry.Event, entry.Id), Json), "store-event") { EventId = Id(entry.Id) };
                    last = entry.Id;
                    ended |= entry.Event.Type == StoreEventType.Deleted;
                }

                if (ended)
                {
                    yield break; // the store is gone: its timeline has ended
                }

                if (!await WaitAsync(signal, token))
                {
                    yield return new SseItem<string>("{}", "heartbeat");
                }
            }
        }
        finally
        {
            repository.Changed -= OnChanged;
        }
    }

    /// <summary>The stores <paramref name="actor"/> may see, then their changes, from the start or after <paramref name="lastEventId"/>.</summary>
    public async IAsyncEnumerable<SseItem<string>> WatchAsync(Actor actor, long? lastEventId, IDisposable opened, [EnumeratorCancellation] CancellationToken requestAborted)
    {
        using var _ = opened;
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, lifetime.ApplicationStopping);
        var token = stopping.Token;
        var signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        void OnChanged(string changed) => signal.Writer.TryWrite(true);
        repository.Changed += OnChanged;
        try
        {
            long position;
            if (lastEventId is { } resumeAfter)
            {
                position = resumeAfter;
            }
            else
            {
                // The position first, then the list: a change between the two is sent again as modified, never lost.
                position = (await repository.GetChangesAsync(long.MaxValue, token)).Latest;
                string? next = null;
                do
                {
                    var page = await repository.ListAsync(new StoreQuery(StoreQuery.MaxLimit, next, Owner: actor.IsAdmin ? null : actor.Subject), token);
                    foreach (var store in page.Items)
                    {
                        yield return new SseItem<string>(JsonSerializer.Serialize(work.View(store), Json), "added") { EventId = Id(position) };
                    }

                    next = page.Continue;
                }
                while (next is not null);

                yield return new SseItem<string>(JsonSerializer.Serialize(new StreamPosition(position), Json), "synced") { EventId = Id(position) };
            }

            while (!token.IsCancellationRequested)
            {
                var changes = await repository.GetChangesAsync(position, token);
                if (changes.Missed(position))
                {
                    yield return new SseItem<string>(JsonSerializer.Serialize(new StreamRelist(position, changes.Oldest,
                        "The change feed no longer reaches back to this position. List the stores again (GET /api/v1/stores), then watch without Last-Event-ID."), Json), "relist");
                    yield break;
                }

                foreach (var change in changes.Changes)
                {
                    position = change.Sequence;
                    if (!actor.CanSee(change.Owner))
                    {
                        continue;
                    }

                    if (change.Type == StoreChangeType.Deleted)
                    {
                        yield return new SseItem<string>(JsonSerializer.Serialize(new DeletedStore(change.Name), Json), "deleted") { EventId = Id(change.Sequence) };
                        continue;
                    }

                    // The record as it is now (a later change may follow; it is sent too).
                    var store = await repository.GetAsync(change.Name, token);
                    if (store is not null)
                    {
                        var kind = change.Type == StoreChangeType.Added ? "added" : "modified";
                        yield return new SseItem<string>(JsonSerializer.Serialize(work.View(store), Json), kind) { EventId = Id(change.Sequence) };
                    }
                }

                if (changes.Changes.Count == 0 && !await WaitAsync(signal, token))
                {
                    yield return new SseItem<string>("{}", "heartbeat");
                }
            }
        }
        finally
        {
            repository.Changed -= OnChanged;
        }
    }

    /// <summary>Waits for a change (true) or the heartbeat interval (false); ends quietly when the client or the server goes.</summary>
    private async Task<bool> WaitAsync(Channel<bool> signal, CancellationToken token)
    {
        using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(token);
        heartbeat.CancelAfter(options.Value.Heartbeat);
        try
        {
            await signal.Reader.ReadAsync(heartbeat.Token);
            return true;
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            return false;
        }
    }

    private static string Id(long value) => value.ToString(CultureInfo.InvariantCulture);

    private void Close(string client) => _open.AddOrUpdate(client, 0, (_, n) => Math.Max(0, n - 1));

    private sealed class Opened(StoreStreams streams, string client) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                streams.Close(client);
            }
        }
    }
}

/// <summary>Streaming settings (<c>Storefleet:Streams</c>).</summary>
public sealed class StreamOptions
{
    public const string SectionName = "Storefleet:Streams";

    /// <summary>An idle stream sends a heartbeat event this often, so proxies keep it open.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Streams one client (token, or address without one) may have open at once; more are refused with 429.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000)]
    public int MaxStreamsPerClient { get; set; } = 20;
}

/// <summary>Timeline entries from <paramref name="From"/> to <paramref name="To"/> were trimmed before the client saw them.</summary>
public sealed record StreamGap(long From, long To);

/// <summary>The watch's position after its initial list: later events come after it.</summary>
public sealed record StreamPosition(long Position);

/// <summary>The change feed no longer reaches back to <paramref name="Position"/> (it starts at <paramref name="Oldest"/>).</summary>
public sealed record StreamRelist(long Position, long Oldest, string Detail);

/// <summary>A store that was deleted (its record is gone).</summary>
public sealed record DeletedStore(string Name);

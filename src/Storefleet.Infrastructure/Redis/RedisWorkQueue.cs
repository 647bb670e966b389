using StackExchange.Redis;
using Storefleet.Core.Provisioning;

namespace Storefleet.Infrastructure.Redis;

/// <summary><see cref="IWorkQueue"/> on Redis: a sorted set by due time, leases with fencing counters, a pub/sub wake-up.</summary>
public sealed class RedisWorkQueue : IWorkQueue, IDisposable
{
    private static readonly TimeSpan DirtyTtl = TimeSpan.FromHours(1);

    /// <summary>How long a store's fence counter outlives its last claim (long after any lease could matter).</summary>
    public static readonly TimeSpan FenceRetention = TimeSpan.FromDays(7);
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _clock;
    private readonly ISubscriber _subscriber;
    private CancellationTokenSource _reconnection = new();

    public RedisWorkQueue(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider clock)
    {
        _redis = redis;
        _keys = keys;
        _clock = clock;
        _subscriber = redis.GetSubscriber();
        // Asynchronously: with Redis down at start the subscription is registered and made on connect.
        _ = _subscriber.SubscribeAsync(keys.QueueChannel, (_, _) => Signalled?.Invoke()).ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        redis.ConnectionRestored += OnConnectionRestored;
    }

    public CancellationToken NextReconnection => Volatile.Read(ref _reconnection).Token;

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            // Not disposed: a keeper may still be linking to its token; a source without a timer holds nothing.
            Interlocked.Exchange(ref _reconnection, new CancellationTokenSource()).Cancel();
        }
    }

    public event Action? Signalled;

    private IDatabase Db => _redis.GetDatabase();

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task EnqueueAsync(string store, DateTimeOffset due, CancellationToken cancellationToken = default)
    {
        var now = Now;
        var dueMs = due.ToUnixTimeMilliseconds();
        var outcome = (long)await Db.ScriptEvaluateAsync(
            QueueScripts.Enqueue,
            [_keys.Queue, _keys.Lease(store), _keys.Dirty(store)],
            [store, dueMs, now, (long)DirtyTtl.TotalMilliseconds]).ConfigureAwait(false);
        if (outcome == 1 && dueMs <= now)
        {
            await _subscriber.PublishAsync(_keys.QueueChannel, store).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<Lease>> ClaimAsync(string holder, int max, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var now = Now;
        // Look a little deeper than asked: some due stores are leased by other workers.
        var candidates = await Db.SortedSetRangeByScoreAsync(_keys.Queue, double.NegativeInfinity, now, take: max * 4).ConfigureAwait(false);
        var leases = new List<Lease>(max);
        foreach (var candidate in candidates)
        {
            if (leases.Count >= max)
            {
                break;
            }

            var name = (string)candidate!;
            var nonce = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
            var fence = (long)await Db.ScriptEvaluateAsync(
                QueueScripts.Claim,
                [_keys.Queue, _keys.Lease(name), _keys.Fence(name)],
                [name, now, holder, (long)ttl.TotalMilliseconds, nonce, (long)FenceRetention.TotalMilliseconds]).ConfigureAwait(false);
            if (fence > 0)
            {
                leases.Add(new Lease(name, holder, fence, nonce));
            }
        }

        return leases;
    }

    public async Task<bool> RenewAsync(Lease lease, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        (long)await Db.ScriptEvaluateAsync(
            QueueScripts.Renew,
            [_keys.Lease(lease.Store), _keys.Queue],
            [lease.Token, (long)ttl.TotalMilliseconds, lease.Store, Now]).ConfigureAwait(false) == 1;

    public async Task CompleteAsync(Lease lease, DateTimeOffset? nextDue, CancellationToken cancellationToken = default)
    {
        var outcome = (long)await Db.ScriptEvaluateAsync(
            QueueScripts.Complete,
            [_keys.Queue, _keys.Lease(lease.Store), _keys.Dirty(lease.Store)],
            [lease.Store, lease.Token, nextDue?.ToUnixTimeMilliseconds() ?? -1, Now]).ConfigureAwait(false);
        if (outcome == 2 || (nextDue is { } due && due <= _clock.GetUtcNow()))
        {
            await _subscriber.PublishAsync(_keys.QueueChannel, lease.Store).ConfigureAwait(false);
        }
    }

    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default)
    {
        var first = await Db.SortedSetRangeByRankWithScoresAsync(_keys.Queue, 0, 0).ConfigureAwait(false);
        return first.Length == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)first[0].Score);
    }

    public void Dispose()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        // Fire and forget: the process (or its connection) is going away; a slow or lost Redis must not fail the shutdown.
        _subscriber.Unsubscribe(_keys.QueueChannel, flags: CommandFlags.FireAndForget);
        _reconnection.Dispose();
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;
using StackExchange.Redis;
using Storefleet.Core.Stores;
using Storefleet.Engine.Telemetry;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Server.Hosting;

/// <summary>
/// Gauges over the state store, read when Prometheus scrapes (one pipelined batch, bounded by a short timeout):
/// stores by phase and plan (<c>storefleet_stores</c>; every phase on every plan ever used, zeros included), the queue's depth and how long its oldest due entry has waited, and the
/// Redis round-trip time and whether Redis and the cluster answer. A scrape while Redis is down reports nothing for the
/// Redis-derived gauges (and <c>storefleet_redis_up 0</c>) rather than failing.
/// </summary>
public sealed class StateMetrics(StorefleetMetrics metrics, IConnectionMultiplexer redis, RedisKeys keys, RedisStoreRepository repository, TimeProvider clock,
    Storefleet.Engine.Kubernetes.ClusterConnection cluster) : IHostedService
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        metrics.Meter.CreateObservableGauge("storefleet.stores", ReadStores, "{store}", "Stores by phase and plan (the whole installation, from the state store).");
        metrics.Meter.CreateObservableGauge("storefleet.queue.depth", ReadQueueDepth, "{store}", "Stores waiting in the engine's work queue.");
        metrics.Meter.CreateObservableGauge("storefleet.queue.oldest_due_age", ReadOldestDueAge, "s", "How long the longest-waiting due store has waited past its due time (0 when none is late).");
        metrics.Meter.CreateObservableGauge("storefleet.redis.rtt", ReadRoundTrip, "s", "Round-trip time of a PING to the state store.");
        metrics.Meter.CreateObservableGauge("storefleet.redis.up", () => Read<TimeSpan>(() => redis.GetDatabase().Ping()) is null ? 0 : 1, description: "1 when the state store answered a PING at scrape time, else 0.");
        metrics.Meter.CreateObservableGauge("storefleet.cluster.up", () => cluster.State.Reachable ? 1 : 0, description: "1 when the engine's last call to the Kubernetes API got an answer, else 0.");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private IEnumerable<Measurement<long>> ReadStores()
    {
        var counts = repository.CountByPhaseAndPlanAsync();
        try
        {
            if (!counts.Wait(ReadTimeout))
            {
                return [];
            }
        }
        catch (AggregateException e) when (e.InnerException is RedisException or TimeoutException)
        {
            return [];
        }

        return [.. counts.Result.Select(c => new Measurement<long>(c.Count,
            new KeyValuePair<string, object?>("phase", c.Phase.ToWire()), new KeyValuePair<string, object?>("plan", c.Plan)))];
    }

    private IEnumerable<Measurement<long>> ReadQueueDepth() =>
        Read<long>(() => redis.GetDatabase().SortedSetLength(keys.Queue)) is { } depth ? [new Measurement<long>(depth)] : [];

    private IEnumerable<Measurement<double>> ReadOldestDueAge()
    {
        SortedSetEntry[] oldest;
        try
        {
            oldest = redis.GetDatabase().SortedSetRangeByRankWithScores(keys.Queue, 0, 0);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return [];
        }

        var late = oldest.Length == 0 ? 0 : (clock.GetUtcNow().ToUnixTimeMilliseconds() - oldest[0].Score) / 1000.0;
        return [new Measurement<double>(Math.Max(0, late))];
    }

    private IEnumerable<Measurement<double>> ReadRoundTrip()
    {
        var started = Stopwatch.GetTimestamp();
        return Read<TimeSpan>(() => redis.GetDatabase().Ping()) is null ? [] : [new Measurement<double>(Stopwatch.GetElapsedTime(started).TotalSeconds)];
    }

    /// <summary>A synchronous read (gauges are read synchronously at scrape time); null when Redis does not answer.</summary>
    private static T? Read<T>(Func<T> read)
        where T : struct
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null;
        }
    }
}

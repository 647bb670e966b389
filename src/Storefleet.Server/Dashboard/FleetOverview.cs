using StackExchange.Redis;
using Storefleet.Core.Fleet;
using Storefleet.Core.Stores;
using Storefleet.Engine.Helm;
using Storefleet.Engine.Reconciling;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Server.Dashboard;

/// <summary>What the fleet overview shows at <paramref name="At"/>: the whole installation, from the state store.</summary>
public sealed record FleetOverview(
    DateTimeOffset At,
    IReadOnlyDictionary<StorePhase, long> Phases,
    IReadOnlyList<PhasePlanCount> ByPlan,
    FleetHistorySnapshot History,
    IReadOnlyList<AttentionGroup> Attention,
    EngineLoad Engine)
{
    public long Total => Phases.Values.Sum();
}

/// <summary>Stores failed or degraded for the same <paramref name="Reason"/>; <paramref name="Stores"/> lists the most recent of them.</summary>
public sealed record AttentionGroup(StorePhase Phase, string Reason, int Count, IReadOnlyList<AttentionStore> Stores);

public sealed record AttentionStore(string Name, string Message, DateTimeOffset Since);

/// <summary>The engine's queue (the whole installation) and this replica's helm slots and reconciles.</summary>
public sealed record EngineLoad(long QueueDepth, TimeSpan OldestDueWait, int HelmRunning, int HelmSlots, int ReconcilesInFlight);

/// <summary>Reads the <see cref="FleetOverview"/>: a handful of round trips whatever the size of the fleet.</summary>
public sealed class FleetOverviewReader(
    RedisStoreRepository stores,
    IFleetHistory history,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    HelmRunner helm,
    EngineActivity activity,
    TimeProvider clock)
{
    /// <summary>How many failed and how many degraded stores are examined for their reasons (the newest).</summary>
    public const int AttentionScanLimit = 200;

    /// <summary>How many stores each reason links to.</summary>
    public const int StoresPerReason = 5;

    public async Task<FleetOverview> ReadAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var counts = stores.CountByPhaseAndPlanAsync(cancellationToken);
        var snapshot = history.ReadAsync(now, cancellationToken);
        var failed = stores.ListAsync(new StoreQuery(AttentionScanLimit, Phase: StorePhase.Failed), cancellationToken);
        var degraded = stores.ListAsync(new StoreQuery(AttentionScanLimit, Phase: StorePhase.Degraded), cancellationToken);
        var db = redis.GetDatabase();
        var depth = db.SortedSetLengthAsync(keys.Queue);
        var oldest = db.SortedSetRangeByRankWithScoresAsync(keys.Queue, 0, 0);
        await Task.WhenAll(counts, snapshot, failed, degraded, depth, oldest);

        var all = await counts;
        var phases = Enum.GetValues<StorePhase>().ToDictionary(p => p, p => all.Where(c => c.Phase == p).Sum(c => c.Count));
        var late = (await oldest) is [var first] ? now - DateTimeOffset.FromUnixTimeMilliseconds((long)first.Score) : TimeSpan.Zero;
        return new FleetOverview(
            now,
            phases,
            [.. all.Where(c => c.Count > 0)],
            await snapshot,
            [.. Attention((await failed).Items, ConditionTypes.Failed), .. Attention((await degraded).Items, ConditionTypes.Degraded)],
            new EngineLoad(await depth, late > TimeSpan.Zero ? late : TimeSpan.Zero, helm.Running, helm.Limit, activity.ActiveReconciles));
    }

    private static IEnumerable<AttentionGroup> Attention(IReadOnlyList<Store> items, string conditionType) =>
        items
            .Select(s => (Store: s, Cause: s.Condition(conditionType)))
            .GroupBy(x => x.Cause?.Reason ?? "Unknown", StringComparer.Ordinal)
            .Select(g => new AttentionGroup(g.First().Store.Phase, g.Key, g.Count(),
                [.. g.Take(StoresPerReason).Select(x => new AttentionStore(x.Store.Name, x.Cause?.Message ?? "", x.Cause?.LastTransitionTime ?? x.Store.UpdatedAt))]))
            .OrderByDescending(g => g.Count)
            .ThenBy(g => g.Reason, StringComparer.Ordinal);
}

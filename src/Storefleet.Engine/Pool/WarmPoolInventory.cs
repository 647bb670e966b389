using Storefleet.Core.Pool;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Pool;

/// <summary>What a warm-pool member is doing, as the keeper and the pool's view see it.</summary>
public enum MemberState
{
    /// <summary>Ready on what this control plane installs: a create of its plan claims it.</summary>
    Idle,

    /// <summary>Ready on an older chart, values or application versions than this control plane installs: never claimed, recycled one at a time.</summary>
    Outdated,

    /// <summary>Ready on a newer chart than this control plane ships (a control-plane upgrade in progress): left to the newer replicas.</summary>
    Ahead,

    /// <summary>Unhealthy for less than <see cref="WarmPoolInventory.DegradedGrace"/>: not claimed; deleted if it does not recover.</summary>
    Degraded,

    /// <summary>Being provisioned.</summary>
    Provisioning,

    /// <summary>Claimed by a store that is taking it over.</summary>
    Claimed,

    /// <summary>Failed, or unhealthy for longer than the grace: deleted and reported.</summary>
    Failed,

    /// <summary>Being deleted (recycled, shrunk, or failed).</summary>
    Deleting,
}

/// <summary>One member as reported: its record, state, and the store that claimed it, if any.</summary>
public sealed record PoolMember(Store Record, MemberState State, string? ClaimedBy);

/// <summary>One plan's pool: its configured size and its members.</summary>
public sealed record PlanPool(StorePlan Plan, int Size, IReadOnlyList<PoolMember> Members)
{
    public int Count(MemberState state) => Members.Count(m => m.State == state);

    /// <summary>Members that hold a place in the pool: idle, provisioning, degraded (may recover), outdated and ahead (until recycled).</summary>
    public int Available => Count(MemberState.Idle) + Count(MemberState.Outdated) + Count(MemberState.Ahead) + Count(MemberState.Provisioning) + Count(MemberState.Degraded);
}

/// <summary>Reads the warm pool: every member record, classified against the chart and values this control plane installs.</summary>
public sealed class WarmPoolInventory(IStoreRepository repository, IWarmPoolState pool, Fleet.FleetVersions versions, WarmPoolSizes sizes, TimeProvider clock)
{
    /// <summary>How long a member may be Degraded before it is deleted as failed.</summary>
    public static readonly TimeSpan DegradedGrace = TimeSpan.FromMinutes(10);

    public async Task<IReadOnlyList<PlanPool>> ReadAsync(CancellationToken cancellationToken)
    {
        var members = new List<Store>();
        string? next = null;
        do
        {
            var page = await repository.ListAsync(new StoreQuery(StoreQuery.MaxLimit, next, Owner: WarmPool.Owner), cancellationToken);
            members.AddRange(page.Items);
            next = page.Continue;
        }
        while (next is not null);

        var claims = await pool.ClaimsAsync(cancellationToken);
        var retiring = await pool.RetiringAsync(cancellationToken);
        var now = clock.GetUtcNow();
        return [.. StorePlan.All.Select(plan => new PlanPool(plan, sizes.Of(plan.Id),
            [.. members.Where(m => m.Spec.Plan == plan).OrderBy(m => m.CreatedAt).Select(m => new PoolMember(m, StateOf(m, claims, retiring, now), claims.GetValueOrDefault(m.Name)))]))];
    }

    private MemberState StateOf(Store member, IReadOnlyDictionary<string, string> claims, IReadOnlySet<string> retiring, DateTimeOffset now) => member.Phase switch
    {
        StorePhase.Deleting => MemberState.Deleting,
        _ when claims.ContainsKey(member.Name) => MemberState.Claimed,
        // Set aside for deletion (its deletion is asked for again if it was not recorded).
        _ when retiring.Contains(member.Name) => MemberState.Deleting,
        StorePhase.Failed => MemberState.Failed,
        StorePhase.Degraded => now - member.PhaseStartedAt > DegradedGrace ? MemberState.Failed : MemberState.Degraded,
        StorePhase.Ready => versions.Standing(member) switch
        {
            Fleet.VersionStanding.Outdated => MemberState.Outdated,
            Fleet.VersionStanding.Ahead => MemberState.Ahead,
            _ => MemberState.Idle,
        },
        _ => MemberState.Provisioning,
    };
}

using Microsoft.Extensions.Options;
using Storefleet.Core.Pool;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Helm;

namespace Storefleet.Engine.Pool;

/// <summary>What a warm-pool member is doing, as the keeper and the pool's view see it.</summary>
public enum MemberState
{
    /// <summary>Ready on what this control plane installs: a create of its plan claims it.</summary>
    Idle,

    /// <summary>Ready on an older chart or values: still claimable (a claim upgrades it), recycled one at a time.</summary>
    Outdated,

    /// <summary>Being provisioned.</summary>
    Provisioning,

    /// <summary>Claimed by a store that is taking it over.</summary>
    Claimed,

    /// <summary>Failed, or unhealthy: deleted and reported.</summary>
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

    /// <summary>Members that are, or will be, claimable: idle, outdated (until recycled) and provisioning.</summary>
    public int Available => Count(MemberState.Idle) + Count(MemberState.Outdated) + Count(MemberState.Provisioning);
}

/// <summary>Reads the warm pool: every member record, classified against the chart and values this control plane installs.</summary>
public sealed class WarmPoolInventory(IStoreRepository repository, IWarmPoolState pool, StoreReleases releases, IOptions<EngineOptions> options)
{
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
        return [.. StorePlan.All.Select(plan => new PlanPool(plan, options.Value.PoolSize(plan.Id),
            [.. members.Where(m => m.Spec.Plan == plan).OrderBy(m => m.CreatedAt).Select(m => new PoolMember(m, StateOf(m, claims), claims.GetValueOrDefault(m.Name)))]))];
    }

    private MemberState StateOf(Store member, IReadOnlyDictionary<string, string> claims) => member.Phase switch
    {
        StorePhase.Deleting => MemberState.Deleting,
        StorePhase.Failed or StorePhase.Degraded => MemberState.Failed,
        _ when claims.ContainsKey(member.Name) => MemberState.Claimed,
        StorePhase.Ready when member.Pin is { } pin && pin.Digest != releases.Target(member, StoreClusterNames.For(member, options.Value.NamespacePrefix)).Digest => MemberState.Outdated,
        StorePhase.Ready => MemberState.Idle,
        _ => MemberState.Provisioning,
    };
}

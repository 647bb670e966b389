using Storefleet.Core.Pool;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

/// <summary>
/// A store that claimed a warm-pool member, one row per situation: adopted first (whatever its namespace looks like
/// then), personalised through the release and the bootstrap, and any failure while personalising gives the member up
/// (discarded, then a cold provision) instead of failing the store. And the record: adopting the member's uid and
/// placement, and starting afresh (new uid, own name) after a discard.
/// </summary>
public sealed class WarmPoolDeciderTests
{
    private const string Digest = "d1";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private static readonly DecisionSettings Settings = new(Timeout, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(6),
        DegradedAfter: TimeSpan.FromSeconds(60), RepairBackoff: TimeSpan.FromSeconds(30), MaxRepairsPerHour: 5, DataJobTimeout: TimeSpan.FromHours(2));

    private static readonly WorkloadState AllReady = new(true, [], "all ready");

    public static TheoryData<string, Store, StoreObservation, Type> Rows => new()
    {
        { "claimed, namespace still the member's (foreign to the store) → adopt", Claimed(PoolClaimStage.Adopt), Seen(ns: NamespaceState.Foreign), typeof(ReconcileAction.AdoptPoolMember) },
        { "claimed, namespace already relabelled → adopt (finishes the credentials)", Claimed(PoolClaimStage.Adopt), Seen(), typeof(ReconcileAction.AdoptPoolMember) },
        { "deletion asked for before adopting → adopt first (only then is the namespace the store's to delete)", Claimed(PoolClaimStage.Adopt) with { Phase = StorePhase.Deleting }, Seen(ns: NamespaceState.Foreign), typeof(ReconcileAction.AdoptPoolMember) },
        { "personalising, release on the member's values → upgrade", Claimed(PoolClaimStage.Personalise), Seen(release: new(ReleaseStatus.Deployed, 1, "member")), typeof(ReconcileAction.InstallOrUpgrade) },
        { "personalising, upgraded, workloads ready → bootstrapping", Claimed(PoolClaimStage.Personalise), Seen(workloads: AllReady), typeof(ReconcileAction.MarkInfrastructureReady) },
        { "personalising bootstrap running → wait", Claimed(PoolClaimStage.Personalise, StorePhase.Bootstrapping), Seen(bootstrap: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AwaitBootstrap) },
        { "personalising bootstrap done → ready", Claimed(PoolClaimStage.Personalise, StorePhase.Bootstrapping), Seen(bootstrap: Job(BootstrapJobStatus.Succeeded)), typeof(ReconcileAction.MarkReady) },
        { "personalising bootstrap failed → abandon the claim, not the store", Claimed(PoolClaimStage.Personalise, StorePhase.Bootstrapping), Seen(bootstrap: Job(BootstrapJobStatus.Failed)), typeof(ReconcileAction.AbandonClaim) },
        { "personalising past the phase timeout → abandon the claim", Claimed(PoolClaimStage.Personalise, StorePhase.Bootstrapping, Timeout + TimeSpan.FromSeconds(1)), Seen(bootstrap: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AbandonClaim) },
        { "personalising, namespace gone → abandon the claim", Claimed(PoolClaimStage.Personalise), Seen(ns: NamespaceState.Foreign), typeof(ReconcileAction.AbandonClaim) },
        { "given up while bootstrapping → discard the member", Claimed(PoolClaimStage.Discard, StorePhase.Bootstrapping), Seen(bootstrap: Job(BootstrapJobStatus.Failed)), typeof(ReconcileAction.DiscardPoolMember) },
        { "given up while provisioning → discard the member", Claimed(PoolClaimStage.Discard), Seen(), typeof(ReconcileAction.DiscardPoolMember) },
        { "claimed and done, live → the live rules (nothing to do)", Claimed(PoolClaimStage.Done, StorePhase.Ready), Seen(workloads: AllReady), typeof(ReconcileAction.Nothing) },
        { "a store of its own failing its bootstrap → failed, as always", Store.Request("shop", Spec, "alice", T0) with { Phase = StorePhase.Bootstrapping }, Seen(bootstrap: Job(BootstrapJobStatus.Failed)), typeof(ReconcileAction.Fail) },
    };

    private static StoreSpec Spec => new(StoreEngine.WooCommerce, StorePlan.Small);

    [Theory]
    [MemberData(nameof(Rows))]
    public void Decides(string situation, Store store, StoreObservation observed, Type expected)
    {
        var action = ReconcileDecider.Decide(store, observed, Digest, T0, Settings);
        Assert.True(action.GetType() == expected, $"{situation}: expected {expected.Name}, got {action}");
    }

    [Fact]
    public void AClaimTakesOverTheMembersUidAndPlacement_AndADiscardStartsAfreshUnderItsOwnName()
    {
        var member = Store.Request(WarmPool.NewMemberName(), Spec, WarmPool.Owner, T0) with { Phase = StorePhase.Ready, BootstrapGeneration = 1 };
        var store = Store.Request("shop", Spec, "alice", T0);

        var claimed = store.ClaimedFrom(member, T0);
        Assert.Equal((StorePhase.Provisioning, member.Uid, member.Name, member.Name, 2L), (claimed.Phase, claimed.Uid, claimed.Placement, claimed.ClusterName, claimed.BootstrapGeneration));
        Assert.Equal(new PoolClaim(member.Name, T0, PoolClaimStage.Adopt), claimed.Claim);
        Assert.Equal($"store-{member.Name}", StoreClusterNames.For(claimed, "store-").Namespace);
        Assert.True(member.IsPoolMember);
        Assert.False(claimed.IsPoolMember);

        var cold = claimed.WithClaimStage(PoolClaimStage.Discard, T0, "BootstrapFailed: no").ProvisionedCold(T0);
        Assert.Equal((StorePhase.Provisioning, "shop", (PoolClaim?)null, 1L), (cold.Phase, cold.ClusterName, cold.Claim, cold.BootstrapGeneration));
        Assert.NotEqual(member.Uid, cold.Uid);
        Assert.NotEqual(store.Uid, cold.Uid);
        Assert.Equal("store-shop", StoreClusterNames.For(cold, "store-").Namespace);
    }

    [Theory]
    [InlineData("pool-abc")]
    [InlineData("pool-0123456789")]
    public void PoolMemberNames_AreReservedForTheControlPlane_ButCanBeLookedUp(string name)
    {
        Assert.Contains("reserved", StoreName.Validate(name));
        Assert.Null(StoreName.ValidateLookup(name));
        Assert.Matches("^pool-[0-9a-f]{10}$", WarmPool.NewMemberName());
    }

    private static Store Claimed(PoolClaimStage stage, StorePhase phase = StorePhase.Provisioning, TimeSpan? waited = null) =>
        Store.Request("shop", Spec, "alice", T0) with
        {
            Phase = phase,
            Placement = "pool-0a1b2c3d4e",
            Claim = new PoolClaim("pool-0a1b2c3d4e", T0, stage),
            Progress = new ProgressClock(waited ?? TimeSpan.Zero, T0),
        };

    private static BootstrapJobState Job(BootstrapJobStatus status) => new(status, "pool-0a1b2c3d4e-bootstrap-2");

    private static StoreObservation Seen(
        NamespaceState ns = NamespaceState.Ours,
        ReleaseState? release = null,
        WorkloadState? workloads = null,
        BootstrapJobState? bootstrap = null) =>
        new(ns, true, release ?? new ReleaseState(ReleaseStatus.Deployed, 3, Digest), workloads ?? AllReady with { Ready = false }, bootstrap ?? BootstrapJobState.Absent, null);
}

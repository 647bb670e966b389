using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

/// <summary>The decider's rules for live stores (Ready, Degraded) and plan changes (Updating): one row per situation.</summary>
public sealed class DayTwoDeciderTests
{
    private const string Digest = "d1";
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private static readonly DecisionSettings Settings = new(Timeout, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(6),
        DegradedAfter: TimeSpan.FromSeconds(60), RepairBackoff: TimeSpan.FromSeconds(30), MaxRepairsPerHour: 5);

    private static readonly ReleaseState Deployed = new(ReleaseStatus.Deployed, 3, Digest);
    private static readonly WorkloadProblem CrashLoop = new("CrashLoopBackOff", "Pod shop-wordpress-x container wordpress (image wordpress:6.8.3): CrashLoopBackOff.");
    private static readonly DriftReport DeploymentDeleted = new([new DriftedObject("Deployment/shop-wordpress", "deleted")], []);
    private static readonly DriftReport LabelsRemoved = new([], ["pod-security.kubernetes.io/enforce"]);
    private static readonly IReadOnlyList<VolumeState> SmallVolumes =
        [new("data-shop-mysql-0", "database", "4Gi", "standard"), new("shop-wordpress", "files", "2Gi", "standard")];

    public static TheoryData<string, Store, StoreObservation, Type> Rows => new()
    {
        { "ready and healthy → nothing", Live(), Seen(), typeof(ReconcileAction.Nothing) },
        { "ready, namespace deleted → failed (NamespaceLost)", Live(), Seen(ns: NamespaceState.Absent), typeof(ReconcileAction.Fail) },
        { "degraded, namespace terminating → failed (NamespaceLost)", Live(StorePhase.Degraded), Seen(ns: NamespaceState.Terminating), typeof(ReconcileAction.Fail) },
        { "ready, another store's namespace → failed (NamespaceLost)", Live(), Seen(ns: NamespaceState.Foreign), typeof(ReconcileAction.Fail) },
        { "ready, spec changed → start the update", Live() with { Generation = 2 }, Seen(), typeof(ReconcileAction.StartUpdate) },
        { "ready, a release object deleted → repair", Live(), Seen(drift: DeploymentDeleted), typeof(ReconcileAction.RepairDrift) },
        { "ready, Pod Security labels removed → repair", Live(), Seen(drift: LabelsRemoved), typeof(ReconcileAction.RepairDrift) },
        { "ready, release rolled back by hand (other digest) → repair", Live(), Seen(release: new ReleaseState(ReleaseStatus.Deployed, 4, "old")), typeof(ReconcileAction.RepairDrift) },
        { "ready, release uninstalled by hand → repair", Live(), Seen(release: ReleaseState.Absent), typeof(ReconcileAction.RepairDrift) },
        { "ready, release pending and young → wait", Live(), Seen(release: new ReleaseState(ReleaseStatus.PendingUpgrade, 4, Age: TimeSpan.FromSeconds(5))), typeof(ReconcileAction.AwaitPendingRelease) },
        { "drift again 10 s after a repair → back off", Live() with { Repairs = [T0.AddSeconds(-10)] }, Seen(drift: DeploymentDeleted), typeof(ReconcileAction.AwaitRepairBackoff) },
        { "drift again after the backoff → repair", Live() with { Repairs = [T0.AddSeconds(-31)] }, Seen(drift: DeploymentDeleted), typeof(ReconcileAction.RepairDrift) },
        { "drift after 5 repairs this hour → pause", Live() with { Repairs = [.. Enumerable.Range(1, 5).Select(i => T0.AddMinutes(-10 * i))] }, Seen(drift: DeploymentDeleted), typeof(ReconcileAction.PauseRepairs) },
        { "repairs an hour old do not count", Live() with { Repairs = [.. Enumerable.Range(1, 5).Select(i => T0.AddMinutes(-61 - i))] }, Seen(drift: DeploymentDeleted), typeof(ReconcileAction.RepairDrift) },
        { "repair paused (DriftPersistent) → drift left alone", Paused(), Seen(drift: DeploymentDeleted), typeof(ReconcileAction.Nothing) },
        { "ready, a pod crash-looping → degraded", Live(), Seen(health: [CrashLoop]), typeof(ReconcileAction.MarkDegraded) },
        { "ready, unavailable for 10 s (within the grace) → nothing yet", Live(), Seen(health: [Unavailable(10)]), typeof(ReconcileAction.Nothing) },
        { "ready, unavailable for 2 min → degraded", Live(), Seen(health: [Unavailable(120)]), typeof(ReconcileAction.MarkDegraded) },
        { "degraded for the same cause → nothing", Degraded(CrashLoop), Seen(health: [CrashLoop]), typeof(ReconcileAction.Nothing) },
        { "degraded, another cause now → degraded (the new cause)", Degraded(CrashLoop), Seen(health: [new WorkloadProblem("OOMKilled", "oom")]), typeof(ReconcileAction.MarkDegraded) },
        { "degraded, cause cleared → ready", Degraded(CrashLoop), Seen(), typeof(ReconcileAction.MarkRecovered) },
        { "degraded by a failed update, healthy → stays degraded", RolledBack(), Seen(), typeof(ReconcileAction.Nothing) },
        { "updating, release has the old values → upgrade", Updating(), Seen(release: new ReleaseState(ReleaseStatus.Deployed, 3, "old"), workloads: NotReady()), typeof(ReconcileAction.InstallOrUpgrade) },
        { "updating, upgraded, workloads not ready → wait", Updating(), Seen(workloads: NotReady()), typeof(ReconcileAction.AwaitWorkloads) },
        { "updating, ready, small volumes on plan medium → grow", Updating(), Seen(workloads: Ready(), volumes: SmallVolumes), typeof(ReconcileAction.GrowVolumes) },
        { "updating, ready, volumes sized → ready", Updating(), Seen(workloads: Ready(), volumes: [new("data-shop-mysql-0", "database", "15Gi", "standard"), new("shop-wordpress", "files", "8Gi", "standard")]), typeof(ReconcileAction.MarkUpdated) },
        { "updating, not ready past the timeout → roll back", Updating(waited: Timeout + TimeSpan.FromSeconds(1)), Seen(workloads: NotReady()), typeof(ReconcileAction.RollBack) },
        { "updating, namespace gone → failed (NamespaceLost)", Updating(), Seen(ns: NamespaceState.Absent), typeof(ReconcileAction.Fail) },
        { "upgrading, ready, migrations running → wait for the upgrade Job", Upgrading(), Seen(workloads: Ready()) with { UpgradeJob = new(BootstrapJobStatus.Running, "shop-upgrade-2") }, typeof(ReconcileAction.AwaitUpgradeJob) },
        { "upgrading, ready, migrations done → helm test", Upgrading(), Seen(workloads: Ready()) with { UpgradeJob = new(BootstrapJobStatus.Succeeded, "shop-upgrade-2") }, typeof(ReconcileAction.TestRelease) },
        { "upgrading without helm test, migrations done → ready", Upgrading(test: false), Seen(workloads: Ready()) with { UpgradeJob = new(BootstrapJobStatus.Succeeded, "shop-upgrade-2") }, typeof(ReconcileAction.MarkUpdated) },
        { "upgrading, migrations failed (workloads not ready yet) → roll back", Upgrading(), Seen(workloads: NotReady()) with { UpgradeJob = new(BootstrapJobStatus.Failed, "shop-upgrade-2", "BackoffLimitExceeded") }, typeof(ReconcileAction.RollBack) },
        { "upgrading, migrations still running past the timeout → roll back", Upgrading(Timeout + TimeSpan.FromSeconds(1)), Seen(workloads: Ready()) with { UpgradeJob = new(BootstrapJobStatus.Running, "shop-upgrade-2") }, typeof(ReconcileAction.RollBack) },
        { "upgrading, restore started, everything ready now → still roll back", Upgrading(), Seen(workloads: Ready()) with { UpgradeJob = new(BootstrapJobStatus.Succeeded, "shop-upgrade-2"), Restore = new("shop-restore-2", true, BootstrapJobStatus.Running) }, typeof(ReconcileAction.RollBack) },
        { "a plan change ignores an earlier upgrade's Job", Updating() with { Upgrade = new UpgradeRun(1, true) }, Seen(workloads: Ready(), volumes: [new("data-shop-mysql-0", "database", "15Gi", "standard"), new("shop-wordpress", "files", "8Gi", "standard")]), typeof(ReconcileAction.MarkUpdated) },
        { "updating never creates credentials (they would not match the database)", Updating(), Seen(credentials: false, workloads: NotReady()), typeof(ReconcileAction.AwaitWorkloads) },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Decide_LiveAndUpdatingStores(string situation, Store store, StoreObservation observed, Type expected)
    {
        var action = ReconcileDecider.Decide(store, observed, Digest, T0, Settings);

        Assert.True(action.GetType() == expected, $"{situation}: got {action}");
    }

    [Fact]
    public void ANamespaceLost_SaysTheDataIsGone_AndWhatRetryDoes()
    {
        var action = Assert.IsType<ReconcileAction.Fail>(ReconcileDecider.Decide(Live(), Seen(ns: NamespaceState.Absent), Digest, T0, Settings));

        Assert.Equal("NamespaceLost", action.Reason);
        Assert.Contains("gone", action.Message);
        Assert.Contains("Retry to provision a fresh, empty store", action.Message);
    }

    [Fact]
    public void TheRepairBackoff_DoublesWithEachRepairThisHour()
    {
        var store = Live() with { Repairs = [T0.AddSeconds(-100), T0.AddSeconds(-50), T0.AddSeconds(-20)] };

        var wait = Assert.IsType<ReconcileAction.AwaitRepairBackoff>(ReconcileDecider.Decide(store, Seen(drift: DeploymentDeleted), Digest, T0, Settings));

        // Third repair this hour: 30 s × 2² after the last one.
        Assert.Equal(T0.AddSeconds(-20) + TimeSpan.FromSeconds(120), wait.Until);
    }

    [Fact]
    public void AProblemWithinItsGrace_AsksToBeLookedAtWhenTheGraceEnds()
    {
        var nothing = Assert.IsType<ReconcileAction.Nothing>(ReconcileDecider.Decide(Live(), Seen(health: [Unavailable(10)]), Digest, T0, Settings));

        Assert.Equal(T0.AddSeconds(50), nothing.RecheckAt);
    }

    [Fact]
    public void AFailedUpdate_RollsTheSpecBackToTheServingPlan_AsANewObservedGeneration()
    {
        var updating = Updating();

        var rolledBack = updating.RolledBack(new StoreCondition(ConditionTypes.UpdateFailed, false, "UpgradeFailed", "quota refused", T0), T0);

        Assert.Equal(StorePhase.Degraded, rolledBack.Phase);
        Assert.Equal(StorePlan.Small, rolledBack.Spec.Plan);
        Assert.Equal(updating.Generation + 1, rolledBack.Generation);
        Assert.Equal(rolledBack.Generation, rolledBack.ObservedGeneration);
        Assert.Equal(ConditionTypes.UpdateFailed, rolledBack.Condition(ConditionTypes.Degraded)!.Reason);
        Assert.True(rolledBack.AwaitsPerson);
        Assert.False(rolledBack.Resumed(T0).AwaitsPerson);
    }

    [Fact]
    public void VolumesNeverShrink_AndGrowToThePlansSizes()
    {
        Assert.Empty(PlanChange.Shrinks(StorePlan.Medium, SmallVolumes));
        Assert.Equal(["data-shop-mysql-0 4Gi → 15Gi", "shop-wordpress 2Gi → 8Gi"], PlanChange.Growths(StorePlan.Medium, SmallVolumes).Select(g => g.ToString()));
        var mediumVolumes = PlanChange.Growths(StorePlan.Medium, SmallVolumes).Select(g => g.Volume with { Requested = g.To }).ToList();
        Assert.Equal(2, PlanChange.Shrinks(StorePlan.Small, mediumVolumes).Count);
        Assert.Empty(PlanChange.Growths(StorePlan.Small, mediumVolumes));
    }

    private static Store Live(StorePhase phase = StorePhase.Ready) =>
        Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", T0.AddDays(-30)) with
        {
            Phase = phase,
            PhaseStartedAt = T0.AddDays(-1),
            AppliedPlan = StorePlan.Small,
            Inventory = new ReleaseInventory(["Deployment/shop-wordpress"], T0.AddDays(-1), 3),
        };

    private static Store Degraded(WorkloadProblem cause) =>
        Live(StorePhase.Degraded).With(new StoreCondition(ConditionTypes.Degraded, true, cause.Reason, cause.Message, T0), T0);

    private static Store Paused() =>
        Live().With(new StoreCondition(ConditionTypes.DriftPersistent, true, "RepairsPaused", "x", T0), T0);

    private static Store RolledBack() =>
        Updating().RolledBack(new StoreCondition(ConditionTypes.UpdateFailed, false, "UpgradeFailed", "quota refused", T0), T0);

    private static Store Updating(TimeSpan? waited = null) =>
        (Live().WithPlan(StorePlan.Medium, T0).Take(StoreTrigger.StartUpdate, T0)) with { Progress = new ProgressClock(waited ?? TimeSpan.Zero, T0) };

    private static Store Upgrading(TimeSpan? waited = null, bool test = true) =>
        (Live().WithUpgradeRequested(T0, snapshot: true, test: test, overrides: null).Take(StoreTrigger.StartUpdate, T0)) with { Progress = new ProgressClock(waited ?? TimeSpan.Zero, T0) };

    private static WorkloadProblem Unavailable(int seconds) =>
        new("Unavailable", "Deployment shop-wordpress has 0 of 1 replicas ready.", T0.AddSeconds(-seconds));

    private static WorkloadState Ready() => new(true, [], "all ready");

    private static WorkloadState NotReady() => new(false, [], "Deployment shop-wordpress 0/1 ready");

    private static StoreObservation Seen(
        NamespaceState ns = NamespaceState.Ours,
        bool credentials = true,
        ReleaseState? release = null,
        WorkloadState? workloads = null,
        IReadOnlyList<WorkloadProblem>? health = null,
        DriftReport? drift = null,
        IReadOnlyList<VolumeState>? volumes = null) =>
        new(ns, credentials, release ?? Deployed, workloads ?? WorkloadState.NotObserved, BootstrapJobState.Absent, null,
            Health: health ?? [], Drift: drift ?? DriftReport.None, Volumes: volumes ?? []);
}

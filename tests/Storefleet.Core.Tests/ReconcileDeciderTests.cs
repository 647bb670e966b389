using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

/// <summary>Every rule of the decider, first match wins: one row per (record, observation) situation.</summary>
public sealed class ReconcileDeciderTests
{
    private const string Digest = "d1";
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private static readonly DecisionSettings Settings = new(Timeout, MaxObservationGap: TimeSpan.FromMinutes(1), StalePendingAfter: TimeSpan.FromMinutes(6));
    private static readonly TimeSpan Stale = TimeSpan.FromMinutes(7);

    private static readonly WorkloadState Ready = new(true, [], "all ready");
    private static readonly WorkloadState Pulling = new(false, [new WorkloadProblem("ImagePullBackOff", "Pod p container c (image wordpress:x): ImagePullBackOff.")], "Deployment 0/1 ready");
    private static readonly ReleaseState Deployed = new(ReleaseStatus.Deployed, 1, Digest);

    /// <summary>Situation, phase, what was observed, how long the step has waited for progress, and the expected action.</summary>
    public static TheoryData<string, StorePhase, StoreObservation, TimeSpan, Type> Rows => new()
    {
        { "deleting, release present → uninstall", StorePhase.Deleting, Seen(release: Deployed), TimeSpan.Zero, typeof(ReconcileAction.UninstallRelease) },
        { "deleting, no release, namespace ours → delete it", StorePhase.Deleting, Seen(), TimeSpan.Zero, typeof(ReconcileAction.DeleteNamespace) },
        { "deleting, namespace terminating → wait", StorePhase.Deleting, Seen(ns: NamespaceState.Terminating, release: Deployed), TimeSpan.Zero, typeof(ReconcileAction.AwaitNamespaceGone) },
        { "deleting, namespace absent → remove the record", StorePhase.Deleting, Seen(ns: NamespaceState.Absent), TimeSpan.Zero, typeof(ReconcileAction.RemoveRecord) },
        { "deleting, namespace foreign → never touched, record removed", StorePhase.Deleting, Seen(ns: NamespaceState.Foreign), TimeSpan.Zero, typeof(ReconcileAction.RemoveRecord) },
        { "ready → nothing", StorePhase.Ready, Seen(release: Deployed, workloads: Ready), TimeSpan.Zero, typeof(ReconcileAction.Nothing) },
        { "failed → nothing until a person acts", StorePhase.Failed, Seen(ns: NamespaceState.Absent), TimeSpan.Zero, typeof(ReconcileAction.Nothing) },
        { "requested → start", StorePhase.Requested, Seen(ns: NamespaceState.Absent), TimeSpan.Zero, typeof(ReconcileAction.StartProvisioning) },
        { "foreign namespace → fail", StorePhase.Provisioning, Seen(ns: NamespaceState.Foreign), TimeSpan.Zero, typeof(ReconcileAction.Fail) },
        { "previous namespace terminating → wait", StorePhase.Provisioning, Seen(ns: NamespaceState.Terminating), TimeSpan.Zero, typeof(ReconcileAction.AwaitNamespaceRelease) },
        { "previous namespace terminating past the timeout → fail", StorePhase.Provisioning, Seen(ns: NamespaceState.Terminating), Timeout + TimeSpan.FromSeconds(1), typeof(ReconcileAction.Fail) },
        { "namespace absent → create", StorePhase.Provisioning, Seen(ns: NamespaceState.Absent), TimeSpan.Zero, typeof(ReconcileAction.CreateNamespace) },
        { "credentials absent → create", StorePhase.Provisioning, Seen(credentials: false), TimeSpan.Zero, typeof(ReconcileAction.CreateCredentials) },
        { "foreign namespace of an earlier store (other uid) → fail", StorePhase.Provisioning, Seen(ns: NamespaceState.Foreign, foreignUid: "old-uid"), TimeSpan.Zero, typeof(ReconcileAction.Fail) },
        { "pending-install older than helm's timeout + grace → recover", StorePhase.Provisioning, Seen(release: new ReleaseState(ReleaseStatus.PendingInstall, 1, Age: Stale)), TimeSpan.Zero, typeof(ReconcileAction.RecoverPendingRelease) },
        { "pending-upgrade older than helm's timeout + grace → recover", StorePhase.Bootstrapping, Seen(release: new ReleaseState(ReleaseStatus.PendingUpgrade, 2, Age: Stale)), TimeSpan.Zero, typeof(ReconcileAction.RecoverPendingRelease) },
        { "pending-install younger than helm's timeout + grace → wait (its helm may be alive)", StorePhase.Provisioning, Seen(release: new ReleaseState(ReleaseStatus.PendingInstall, 1, Age: TimeSpan.FromMinutes(2))), TimeSpan.Zero, typeof(ReconcileAction.AwaitPendingRelease) },
        { "pending-upgrade with its age unknown → wait", StorePhase.Provisioning, Seen(release: new ReleaseState(ReleaseStatus.PendingUpgrade, 2)), TimeSpan.Zero, typeof(ReconcileAction.AwaitPendingRelease) },
        { "pending-install, old, but our own helm still runs on it → wait", StorePhase.Provisioning, Seen(release: new ReleaseState(ReleaseStatus.PendingInstall, 1, Age: Stale), helmRunningHere: true), TimeSpan.Zero, typeof(ReconcileAction.AwaitPendingRelease) },
        { "an uninstall that died part-way (uninstalling, stale) → recover (it blocks every upgrade)", StorePhase.Provisioning, Seen(release: new ReleaseState(ReleaseStatus.Uninstalling, 1, Age: Stale)), TimeSpan.Zero, typeof(ReconcileAction.RecoverPendingRelease) },
        { "release absent → install", StorePhase.Provisioning, Seen(), TimeSpan.Zero, typeof(ReconcileAction.InstallOrUpgrade) },
        { "release failed → upgrade", StorePhase.Provisioning, Seen(release: new ReleaseState(ReleaseStatus.Failed, 1, Digest)), TimeSpan.Zero, typeof(ReconcileAction.InstallOrUpgrade) },
        { "deployed with other values → upgrade", StorePhase.Bootstrapping, Seen(release: new ReleaseState(ReleaseStatus.Deployed, 1, "old")), TimeSpan.Zero, typeof(ReconcileAction.InstallOrUpgrade) },
        { "workloads ready → bootstrapping", StorePhase.Provisioning, Seen(release: Deployed, workloads: Ready), TimeSpan.Zero, typeof(ReconcileAction.MarkInfrastructureReady) },
        { "workloads not ready → wait", StorePhase.Provisioning, Seen(release: Deployed, workloads: Pulling), TimeSpan.FromMinutes(9), typeof(ReconcileAction.AwaitWorkloads) },
        { "workloads not ready past the timeout → fail", StorePhase.Provisioning, Seen(release: Deployed, workloads: Pulling), Timeout + TimeSpan.FromSeconds(1), typeof(ReconcileAction.Fail) },
        { "job running → wait", StorePhase.Bootstrapping, Seen(release: Deployed, job: new BootstrapJobState(BootstrapJobStatus.Running, "j")), TimeSpan.Zero, typeof(ReconcileAction.AwaitBootstrap) },
        { "job succeeded → ready", StorePhase.Bootstrapping, Seen(release: Deployed, job: new BootstrapJobState(BootstrapJobStatus.Succeeded, "j")), TimeSpan.Zero, typeof(ReconcileAction.MarkReady) },
        { "job failed → fail", StorePhase.Bootstrapping, Seen(release: Deployed, job: new BootstrapJobState(BootstrapJobStatus.Failed, "j", "BackoffLimitExceeded", ["db down"])), TimeSpan.Zero, typeof(ReconcileAction.Fail) },
        { "job running past the timeout → fail", StorePhase.Bootstrapping, Seen(release: Deployed, job: new BootstrapJobState(BootstrapJobStatus.Running, "j")), Timeout + TimeSpan.FromSeconds(1), typeof(ReconcileAction.Fail) },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Decide_FirstMatchingRuleWins(string situation, StorePhase phase, StoreObservation observed, TimeSpan waited, Type expected)
    {
        var store = Waiting(phase, waited);

        var action = ReconcileDecider.Decide(store, observed, Digest, T0 + waited, Settings);

        Assert.True(action.GetType() == expected, $"{situation}: got {action}");
    }

    [Fact]
    public void APendingReleaseBeingDeleted_IsUninstalledWithoutHooks()
    {
        var store = Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", T0) with { Phase = StorePhase.Deleting };

        var action = ReconcileDecider.Decide(store, Seen(release: new ReleaseState(ReleaseStatus.PendingInstall, 1)), Digest, T0, Settings);

        Assert.Equal(new ReconcileAction.UninstallRelease(WithoutHooks: true), action);
    }

    [Fact]
    public void AFailureAfterTheTimeout_NamesThePodAndImage()
    {
        var waited = Timeout + TimeSpan.FromSeconds(1);
        var store = Waiting(StorePhase.Provisioning, waited);

        var action = Assert.IsType<ReconcileAction.Fail>(ReconcileDecider.Decide(store, Seen(release: Deployed, workloads: Pulling), Digest, T0 + waited, Settings));

        Assert.Equal("ImagePullBackOff", action.Reason);
        Assert.Contains("wordpress:x", action.Message);
        Assert.Contains("retry", action.Message);
    }

    [Fact]
    public void ABootstrapFailure_CarriesTheJobsLastLogLines()
    {
        var store = Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", T0) with { Phase = StorePhase.Bootstrapping, PhaseStartedAt = T0 };
        var job = new BootstrapJobState(BootstrapJobStatus.Failed, "shop-bootstrap-1-abc", "BackoffLimitExceeded: Job has reached the specified backoff limit", ["bootstrap: FAILED: gave up waiting for database"]);

        var action = Assert.IsType<ReconcileAction.Fail>(ReconcileDecider.Decide(store, Seen(release: Deployed, job: job), Digest, T0, Settings));

        Assert.Equal("BootstrapFailed", action.Reason);
        Assert.Contains("gave up waiting for database", action.Message);
        Assert.Contains("infrastructure is untouched", action.Message);
    }

    [Fact]
    public void Retry_OfABootstrapFailure_BumpsTheGeneration_SoOnlyTheJobRunsAgain()
    {
        var failed = (Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", T0) with { Phase = StorePhase.Bootstrapping })
            .Take(StoreTrigger.Fail, T0, new StoreCondition(ConditionTypes.Failed, true, "BootstrapFailed", "x", T0));

        var retried = failed.Take(StoreTrigger.Retry, T0.AddMinutes(1));

        Assert.Equal(StorePhase.Bootstrapping, retried.Phase);
        Assert.Equal(2, retried.BootstrapGeneration);
        Assert.Equal(T0.AddMinutes(1), retried.PhaseStartedAt);
    }

    [Fact]
    public void AnOutageOfHalfAnHour_DoesNotCountAgainstThePhaseTimeout()
    {
        // Looked at a minute ago (waited 2 min by then); then nobody could look for 30 minutes.
        var store = Waiting(StorePhase.Provisioning, TimeSpan.FromMinutes(2)) with { Progress = new ProgressClock(TimeSpan.FromMinutes(2), T0) };
        var afterOutage = T0 + TimeSpan.FromMinutes(30);

        var action = ReconcileDecider.Decide(store, Seen(release: Deployed, workloads: Pulling), Digest, afterOutage, Settings);

        Assert.IsType<ReconcileAction.AwaitWorkloads>(action);
        Assert.Equal(TimeSpan.FromMinutes(3), store.Progress.WaitedAt(afterOutage, Settings.MaxObservationGap));
    }

    [Fact]
    public void TheProgressClock_CountsWatchedTime_StopsWhilePaused_AndRestartsWithProgress()
    {
        var gap = TimeSpan.FromMinutes(1);
        var clock = ProgressClock.StartedAt(T0).Tick(T0.AddSeconds(30), gap).Tick(T0.AddSeconds(60), gap);
        Assert.Equal(TimeSpan.FromSeconds(60), clock.WaitedAt(T0.AddSeconds(60), gap));

        var paused = clock.Pause(T0.AddSeconds(70), gap);
        Assert.Equal(TimeSpan.FromSeconds(70), paused.WaitedAt(T0.AddMinutes(45), gap));

        var resumed = paused.Tick(T0.AddMinutes(45), gap);
        Assert.Equal(TimeSpan.FromSeconds(80), resumed.WaitedAt(T0.AddMinutes(45).AddSeconds(10), gap));

        var store = Waiting(StorePhase.Provisioning, TimeSpan.FromMinutes(9)).WithProgress(T0.AddMinutes(50));
        Assert.Equal(TimeSpan.Zero, store.Progress.WaitedAt(T0.AddMinutes(50), gap));
    }

    [Fact]
    public void AnEarlierStoresNamespace_IsNeverAdopted_AndTheFailureNamesItsUid()
    {
        var store = Waiting(StorePhase.Provisioning, TimeSpan.Zero);

        var action = Assert.IsType<ReconcileAction.Fail>(ReconcileDecider.Decide(store, Seen(ns: NamespaceState.Foreign, foreignUid: "0f3c-old"), Digest, T0, Settings));

        Assert.Equal("NamespaceConflict", action.Reason);
        Assert.Contains("uid 0f3c-old", action.Message);
        Assert.Contains("never adopted", action.Message);
    }

    /// <summary>A store in <paramref name="phase"/> that has waited <paramref name="waited"/> for progress, last looked at now (T0 + waited).</summary>
    private static Store Waiting(StorePhase phase, TimeSpan waited) =>
        Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", T0) with
        {
            Phase = phase,
            PhaseStartedAt = T0,
            Progress = new ProgressClock(waited, T0 + waited),
        };

    private static StoreObservation Seen(
        NamespaceState ns = NamespaceState.Ours,
        bool credentials = true,
        ReleaseState? release = null,
        WorkloadState? workloads = null,
        BootstrapJobState? job = null,
        string? foreignUid = null,
        bool helmRunningHere = false) =>
        new(ns, credentials, release ?? ReleaseState.Absent, workloads ?? WorkloadState.NotObserved, job ?? BootstrapJobState.Absent,
            new StoreUrls("http://shop.localtest.me/", "http://shop.localtest.me/wp-admin/"), ForeignUid: foreignUid, HelmRunningHere: helmRunningHere);
}

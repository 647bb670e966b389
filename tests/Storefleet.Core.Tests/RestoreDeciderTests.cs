using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

/// <summary>
/// Restoring a backup in place, one row per situation: the safety backup first (its failure leaves the store untouched),
/// then the restore Job (its failure leaves the store failed, naming the safety backup), then WordPress back and the
/// smoke test. And the record: a retried restore runs a new Job; a restore after a failed one keeps its safety backup.
/// </summary>
public sealed class RestoreDeciderTests
{
    private const string Digest = "d1";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan DataTimeout = TimeSpan.FromHours(2);
    private static readonly DecisionSettings Settings = new(Timeout, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(6),
        DegradedAfter: TimeSpan.FromSeconds(60), RepairBackoff: TimeSpan.FromSeconds(30), MaxRepairsPerHour: 5, DataJobTimeout: DataTimeout);

    private static readonly WorkloadState AllReady = new(true, [], "all ready");
    private static readonly WorkloadState NotReady = new(false, [], "Deployment shop-wordpress 0/1 ready");

    public static TheoryData<string, Store, StoreObservation, Type> Rows => new()
    {
        { "safety stage, no Job yet → start the safety backup", Restoring(), Seen(), typeof(ReconcileAction.StartSafetyBackup) },
        { "safety backup running → wait", Restoring(), Seen(step: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AwaitRestoreStep) },
        { "safety backup done → record its snapshot", Restoring(), Seen(step: Job(BootstrapJobStatus.Succeeded)), typeof(ReconcileAction.SafetyBackupTaken) },
        { "safety backup failed → abandon, untouched", Restoring(), Seen(step: Job(BootstrapJobStatus.Failed)), typeof(ReconcileAction.AbandonRestore) },
        { "safety backup past the phase timeout, within the data timeout → wait", Restoring(waited: Timeout + TimeSpan.FromSeconds(1)), Seen(step: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AwaitRestoreStep) },
        { "safety backup past the data timeout → abandon, untouched", Restoring(waited: DataTimeout + TimeSpan.FromSeconds(1)), Seen(step: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AbandonRestore) },
        { "restore stage, release without the restore → upgrade into it", Restoring(RestoreStage.Restore), Seen(release: new(ReleaseStatus.Deployed, 3, "other")), typeof(ReconcileAction.InstallOrUpgrade) },
        { "restore Job running → wait", Restoring(RestoreStage.Restore), Seen(step: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AwaitRestoreStep) },
        { "restore Job done → restart WordPress", Restoring(RestoreStage.Restore), Seen(step: Job(BootstrapJobStatus.Succeeded)), typeof(ReconcileAction.RestoreApplied) },
        { "restore Job failed → failed", Restoring(RestoreStage.Restore), Seen(step: Job(BootstrapJobStatus.Failed)), typeof(ReconcileAction.Fail) },
        { "restore Job an hour in (a large store) → wait", Restoring(RestoreStage.Restore, TimeSpan.FromHours(1)), Seen(step: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AwaitRestoreStep) },
        { "restore Job past the data timeout → failed", Restoring(RestoreStage.Restore, DataTimeout + TimeSpan.FromSeconds(1)), Seen(step: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.Fail) },
        { "restart, WordPress not ready → wait", Restoring(RestoreStage.Restart), Seen(workloads: NotReady), typeof(ReconcileAction.AwaitWorkloads) },
        { "restart, ready → smoke test", Restoring(RestoreStage.Restart), Seen(workloads: AllReady), typeof(ReconcileAction.TestRestore) },
        { "restart, not ready past the timeout → failed", Restoring(RestoreStage.Restart, Timeout + TimeSpan.FromSeconds(1)), Seen(workloads: NotReady), typeof(ReconcileAction.Fail) },
        { "restoring, namespace gone → failed (NamespaceLost)", Restoring(RestoreStage.Restore), Seen(ns: NamespaceState.Absent), typeof(ReconcileAction.Fail) },
        { "restoring never creates credentials (they would not match the database)", Restoring(RestoreStage.Restore), Seen(credentials: false, step: Job(BootstrapJobStatus.Running)), typeof(ReconcileAction.AwaitRestoreStep) },
        { "restoring, release pending and young → wait", Restoring(RestoreStage.Restore), Seen(release: new(ReleaseStatus.PendingUpgrade, 4, Age: TimeSpan.FromSeconds(5))), typeof(ReconcileAction.AwaitPendingRelease) },
    };

    [Fact]
    public void AClonesBootstrap_MayTakeAsLongAsARestore_ABootstrapOnlyThePhaseTimeout()
    {
        var bootstrapping = Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", T0) with
        {
            Phase = StorePhase.Bootstrapping,
            Progress = new ProgressClock(TimeSpan.FromHours(1), T0),
        };
        var clone = bootstrapping with { CloneFrom = new CloneSource("src", "src-backup-1", "0a1b2c3d", "src-0123456789ab") };
        var running = Seen(workloads: AllReady) with { Bootstrap = new BootstrapJobState(BootstrapJobStatus.Running, "shop-bootstrap-1") };

        Assert.IsType<ReconcileAction.Fail>(ReconcileDecider.Decide(bootstrapping, running, Digest, T0, Settings));
        Assert.IsType<ReconcileAction.AwaitBootstrap>(ReconcileDecider.Decide(clone, running, Digest, T0, Settings));
        Assert.IsType<ReconcileAction.Fail>(ReconcileDecider.Decide(clone with { Progress = new ProgressClock(DataTimeout + TimeSpan.FromSeconds(1), T0) }, running, Digest, T0, Settings));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Decide_RestoringStores(string situation, Store store, StoreObservation observed, Type expected)
    {
        var action = ReconcileDecider.Decide(store, observed, Digest, T0, Settings);

        Assert.True(action.GetType() == expected, $"{situation}: got {action}");
    }

    [Fact]
    public void AFailedRestoreJob_SaysWordPressIsStopped_AndNamesTheSafetyBackupToRestore()
    {
        var store = Restoring(RestoreStage.Restore);

        var fail = Assert.IsType<ReconcileAction.Fail>(ReconcileDecider.Decide(store, Seen(step: Job(BootstrapJobStatus.Failed) with { Reason = "the backup repository refused the password" }), Digest, T0, Settings));

        Assert.Equal("RestoreFailed", fail.Reason);
        Assert.Contains("the backup repository refused the password", fail.Message);
        Assert.Contains("WordPress stays stopped", fail.Message);
        Assert.Contains("safety backup shop-backup-s1", fail.Message);
        Assert.Contains("snapshot feedbeef", fail.Message);
        Assert.Contains("""POST /api/v1/stores/shop/restore {"backup":"shop-backup-s1"}""", fail.Message);
    }

    [Fact]
    public void ARestoreRequest_MovesALiveStoreToRestoring_WithASafetyBackupFirst()
    {
        var store = Live(StorePhase.Degraded).With(new StoreCondition(ConditionTypes.Degraded, true, "CrashLoopBackOff", "x", T0), T0);

        var restoring = store.WithRestoreRequested("shop-backup-29", "0a1b2c3d", "alice", "shop-backup-s1", T0);

        Assert.Equal(StorePhase.Restoring, restoring.Phase);
        Assert.Equal(new RestoreRun("shop-backup-29", "0a1b2c3d", "alice", T0, RestoreStage.SafetyBackup, "shop-backup-s1"), restoring.Restore);
        Assert.Equal(restoring.Generation, store.Generation);
        Assert.Matches("^[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?$", restoring.Restore!.Id);
    }

    [Fact]
    public void ARetriedRestore_RunsANewJob_AndARestoreAfterAFailedOne_KeepsItsSafetyBackup()
    {
        var failed = Restoring(RestoreStage.Restore).Take(StoreTrigger.Fail, T0, new StoreCondition(ConditionTypes.Failed, true, "RestoreFailed", "x", T0));
        Assert.Equal(StorePhase.Restoring, failed.FailedPhase);

        var retried = failed.Take(StoreTrigger.Retry, T0);
        Assert.Equal(StorePhase.Restoring, retried.Phase);
        Assert.Equal(2, retried.Restore!.Attempt);
        Assert.NotEqual(failed.Restore!.Id, retried.Restore.Id);
        Assert.Matches("^[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?$", retried.Restore.Id);

        // Restoring the safety backup after the failure: no second safety backup (it would hold a half-restored store).
        var again = failed.WithRestoreRequested("shop-backup-s1", "feedbeef", "alice", "shop-backup-s9", T0.AddMinutes(5));
        Assert.Equal((StorePhase.Restoring, RestoreStage.Restore, "shop-backup-s1", "feedbeef"), (again.Phase, again.Restore!.Stage, again.Restore.SafetyBackup, again.Restore.SafetySnapshot));
        Assert.Null(again.FailedPhase);
        Assert.Null(again.Condition(ConditionTypes.Failed));
    }

    [Fact]
    public void ARestoreThatFailedBeforeItsSafetyBackupWasTaken_TakesOneNextTime()
    {
        var failed = Restoring().Take(StoreTrigger.Fail, T0, new StoreCondition(ConditionTypes.Failed, true, "RetriesExhausted", "x", T0));

        var again = failed.WithRestoreRequested("shop-backup-29", "0a1b2c3d", "alice", "shop-backup-s9", T0.AddMinutes(5));

        Assert.Equal((RestoreStage.SafetyBackup, "shop-backup-s9", (string?)null), (again.Restore!.Stage, again.Restore.SafetyBackup, again.Restore.SafetySnapshot));
    }

    [Fact]
    public void ANamespaceLostMidRestoreOrUpdate_IsRetriedAsAFreshProvision_NotIntoTheStepThatCannotWork()
    {
        var lost = new StoreCondition(ConditionTypes.Failed, true, Store.NamespaceLostReason, "gone", T0);
        foreach (var store in new[] { Restoring(RestoreStage.Restore), Live().WithPlan(StorePlan.Medium, T0).Take(StoreTrigger.StartUpdate, T0) })
        {
            var failed = store.Take(StoreTrigger.Fail, T0, lost);
            var retried = failed.Take(StoreTrigger.Retry, T0);

            Assert.Equal((StorePhase.Ready, (RestoreRun?)null), (failed.FailedPhase, failed.Restore));
            Assert.Equal(StorePhase.Provisioning, retried.Phase);
        }
    }

    [Fact]
    public void ARolledBackScheduleChange_ReturnsToTheScheduleThatServed()
    {
        var changed = Live().WithBackupSchedule("hourly", T0).Take(StoreTrigger.StartUpdate, T0);

        var rolledBack = changed.RolledBack(new StoreCondition(ConditionTypes.UpdateFailed, false, "UpgradeFailed", "refused", T0), T0);

        Assert.Null(rolledBack.BackupSchedule);
        Assert.Null(rolledBack.PreviousBackupSchedule);
        Assert.Equal("hourly", changed.Take(StoreTrigger.UpdateSucceeded, T0).BackupSchedule);
    }

    [Fact]
    public void AStoreThatFailedElsewhere_CannotBeRestoredInto_UntilRetried()
    {
        var failed = Live().Take(StoreTrigger.Fail, T0, new StoreCondition(ConditionTypes.Failed, true, "NamespaceLost", "x", T0));

        Assert.False(failed.CanTake(StoreTrigger.StartRestore));
        Assert.Throws<InvalidStoreTransitionException>(() => failed.WithRestoreRequested("b", "0a1b2c3d", "alice", "s", T0));
    }

    [Fact]
    public void ARestoreThatEnds_ClearsTheRun_AndItsConditions()
    {
        var restoring = Restoring(RestoreStage.Restart).With(new StoreCondition(ConditionTypes.Restore, false, "Running", "x", T0), T0);

        foreach (var trigger in new[] { StoreTrigger.RestoreSucceeded, StoreTrigger.RestoreNotStarted })
        {
            var done = restoring.Take(trigger, T0);
            Assert.Equal((StorePhase.Ready, (RestoreRun?)null), (done.Phase, done.Restore));
            Assert.Null(done.Condition(ConditionTypes.Restore));
        }
    }

    private static Store Live(StorePhase phase = StorePhase.Ready) =>
        Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", T0.AddDays(-30)) with
        {
            Phase = phase,
            PhaseStartedAt = T0.AddDays(-1),
            AppliedPlan = StorePlan.Small,
            Inventory = new ReleaseInventory(["Deployment/shop-wordpress"], T0.AddDays(-1), 3),
        };

    private static Store Restoring(RestoreStage stage = RestoreStage.SafetyBackup, TimeSpan? waited = null)
    {
        var store = Live().WithRestoreRequested("shop-backup-29", "0a1b2c3d", "alice", "shop-backup-s1", T0);
        if (stage != RestoreStage.SafetyBackup)
        {
            store = store.WithRestoreStage(stage, T0, "feedbeef");
        }

        return store with { Progress = new ProgressClock(waited ?? TimeSpan.Zero, T0) };
    }

    private static BootstrapJobState Job(BootstrapJobStatus status) => new(status, "shop-job");

    private static StoreObservation Seen(
        NamespaceState ns = NamespaceState.Ours,
        bool credentials = true,
        ReleaseState? release = null,
        WorkloadState? workloads = null,
        BootstrapJobState? step = null) =>
        new(ns, credentials, release ?? new ReleaseState(ReleaseStatus.Deployed, 3, Digest), workloads ?? NotReady, BootstrapJobState.Absent, null, RestoreStep: step);
}

using Storefleet.Core.Stores;

namespace Storefleet.Core.Provisioning;

/// <summary>
/// The one thing the engine does next for a store, decided from what it observed
/// (see <see cref="ReconcileDecider"/>). <see cref="Step"/> names it in events and logs.
/// Waits end the pass; the store is reconciled again when the cluster changes or on resync.
/// </summary>
public abstract record ReconcileAction(string Step)
{
    /// <summary>True for actions that change nothing and wait for the cluster.</summary>
    public virtual bool IsWait => false;

    /// <summary>Nothing to do; <paramref name="RecheckAt"/>: look again then (e.g. when a grace ends), else on the next event or resync.</summary>
    public sealed record Nothing(DateTimeOffset? RecheckAt = null) : ReconcileAction("none")
    {
        public override bool IsWait => true;
    }

    public sealed record StartProvisioning() : ReconcileAction("start");

    public sealed record CreateNamespace() : ReconcileAction("namespace");

    public sealed record CreateCredentials() : ReconcileAction("credentials");

    /// <summary>
    /// The release is pending-* and the helm that wrote it may still be running (on this replica, or the
    /// revision is younger than helm's timeout plus a grace): wait, never recover under a live writer.
    /// </summary>
    public sealed record AwaitPendingRelease(ReleaseStatus Status, TimeSpan? Age, TimeSpan StaleAfter, bool RunningHere) : ReconcileAction("helm-pending")
    {
        public override bool IsWait => true;
    }

    /// <summary>
    /// A killed helm left the release pending-* long enough ago, or <paramref name="LeftHere"/>: a helm of this replica
    /// that has ended left it: uninstall without hooks (pending-install) or roll back.
    /// </summary>
    public sealed record RecoverPendingRelease(ReleaseStatus Status, bool LeftHere = false) : ReconcileAction("helm-recover");

    public sealed record InstallOrUpgrade(string Digest, bool FirstInstall) : ReconcileAction("helm-upgrade");

    public sealed record AwaitWorkloads(WorkloadState Workloads) : ReconcileAction("workloads")
    {
        public override bool IsWait => true;
    }

    public sealed record MarkInfrastructureReady() : ReconcileAction("workloads-ready");

    public sealed record AwaitBootstrap(BootstrapJobState Job) : ReconcileAction("bootstrap")
    {
        public override bool IsWait => true;
    }

    public sealed record MarkReady(StoreUrls? Urls) : ReconcileAction("ready");

    /// <summary>An upgrade's Job (pre-upgrade snapshot, new core files, migrations) is still running.</summary>
    public sealed record AwaitUpgradeJob(BootstrapJobState Job) : ReconcileAction("migration")
    {
        public override bool IsWait => true;
    }

    /// <summary>A previous store's namespace of the same name is still being deleted.</summary>
    public sealed record AwaitNamespaceRelease(NamespaceTermination? Termination) : ReconcileAction("namespace-terminating")
    {
        public override bool IsWait => true;
    }

    public sealed record Fail(string Reason, string Message) : ReconcileAction("fail");

    public sealed record UninstallRelease(bool WithoutHooks) : ReconcileAction("helm-uninstall");

    public sealed record DeleteNamespace() : ReconcileAction("delete-namespace");

    public sealed record AwaitNamespaceGone(NamespaceTermination? Termination) : ReconcileAction("namespace-deleting")
    {
        public override bool IsWait => true;
    }

    public sealed record RemoveRecord() : ReconcileAction("remove-record");

    /// <summary>A live store's spec changed (generation ahead of observedGeneration): move to Updating.</summary>
    public sealed record StartUpdate() : ReconcileAction("update-start");

    /// <summary>Re-apply the release with the recorded values (forcing field ownership) and restore the namespace's labels.</summary>
    public sealed record RepairDrift(DriftReport Drift) : ReconcileAction("repair");

    /// <summary>Drift seen again soon after a repair: wait out the backoff before repairing again.</summary>
    public sealed record AwaitRepairBackoff(DriftReport Drift, DateTimeOffset Until) : ReconcileAction("repair-backoff")
    {
        public override bool IsWait => true;
    }

    /// <summary>The store kept drifting: <paramref name="Repairs"/> repairs in the last hour; pause until a person retries.</summary>
    public sealed record PauseRepairs(DriftReport Drift, int Repairs) : ReconcileAction("drift-persistent");

    /// <summary>A live store is unhealthy: Ready → Degraded, or a Degraded store's cause changed.</summary>
    public sealed record MarkDegraded(WorkloadProblem Cause) : ReconcileAction("degraded");

    /// <summary>What degraded the store cleared: back to Ready.</summary>
    public sealed record MarkRecovered() : ReconcileAction("recovered");

    /// <summary>The upgraded release is ready; its volumes are below the new plan's sizes: request the growth.</summary>
    public sealed record GrowVolumes(IReadOnlyList<VolumeGrowth> Volumes) : ReconcileAction("volumes");

    /// <summary>The update is deployed, its workloads ready and volumes sized: Ready on the new plan.</summary>
    public sealed record MarkUpdated() : ReconcileAction("updated");

    /// <summary>An upgrade's analysis: <c>helm test</c> (the storefront smoke test); passed → updated, failed → rolled back.</summary>
    public sealed record TestRelease() : ReconcileAction("helm-test");

    /// <summary>A restore in place begins with a backup of the store as it is: start that Job (<paramref name="Job"/>) from the backup CronJob.</summary>
    public sealed record StartSafetyBackup(string Job) : ReconcileAction("safety-backup");

    /// <summary>A restore's Job (its safety backup, or the restore Job itself) is still running.</summary>
    public sealed record AwaitRestoreStep(RestoreStage Stage, BootstrapJobState Job) : ReconcileAction("restore-wait")
    {
        public override bool IsWait => true;
    }

    /// <summary>The safety backup <paramref name="Job"/> finished: record its snapshot, then stop WordPress and restore.</summary>
    public sealed record SafetyBackupTaken(string Job) : ReconcileAction("safety-backup-taken");

    /// <summary>The restore cannot start (its safety backup failed): nothing was touched; the store serves on, Ready.</summary>
    public sealed record AbandonRestore(string Reason, string Message) : ReconcileAction("restore-abandoned");

    /// <summary>The restore Job finished: the database and files are the backup's; start WordPress again.</summary>
    public sealed record RestoreApplied(string Job) : ReconcileAction("restored");

    /// <summary>WordPress is back on the restored data: the smoke test (<c>helm test</c>) decides; passed → Ready.</summary>
    public sealed record TestRestore() : ReconcileAction("restore-test");

    /// <summary>
    /// The store claimed warm-pool member <paramref name="Member"/>: remove the member's record, relabel its namespace for
    /// the store and replace its credentials Secret (new passwords); then personalise it.
    /// </summary>
    public sealed record AdoptPoolMember(string Member) : ReconcileAction("pool-adopt");

    /// <summary>Personalising the claimed member failed (<paramref name="Reason"/>): give it up; it is discarded next.</summary>
    public sealed record AbandonClaim(string Member, string Reason, string Message) : ReconcileAction("pool-abandon");

    /// <summary>Uninstall the given-up member's release and delete its namespace, then provision the store from scratch.</summary>
    public sealed record DiscardPoolMember(string Member) : ReconcileAction("pool-discard");

    /// <summary>The update cannot succeed: roll the release back to the previous revision; the old plan keeps serving.</summary>
    public sealed record RollBack(string Reason, string Message) : ReconcileAction("helm-rollback");
}

/// <summary>One volume to grow: its claim and current size, and the size the plan asks for.</summary>
public sealed record VolumeGrowth(VolumeState Volume, string To)
{
    public override string ToString() => $"{Volume.Claim} {Volume.Requested} → {To}";
}

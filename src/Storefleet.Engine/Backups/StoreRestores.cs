using k8s;
using k8s.Models;
using Storefleet.Core.Backups;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Backups;

/// <summary>
/// The backup side of a restore in place: the safety backup the engine takes first (a Job from the store's backup
/// CronJob, as an on-demand backup) and reading its snapshot once it finished. The phases around it (WordPress stopped,
/// the restore Job, WordPress back, the smoke test) are the reconciler's (see <see cref="ReconcileDecider"/>).
/// </summary>
public sealed class StoreRestores(IStoreRepository stores, IBackupRepository backups, TimeProvider clock)
{
    private DateTimeOffset Now => clock.GetUtcNow();

    /// <summary>Starts the safety backup Job (once: a Job of that name that exists already is the one started before a restart).</summary>
    public async Task<RestoreStepResult> StartSafetyBackupAsync(RestoreStepContext c, ReconcileAction.StartSafetyBackup safety, CancellationToken ct)
    {
        V1CronJob cronJob;
        try
        {
            cronJob = await c.Client.BatchV1.ReadNamespacedCronJobAsync(c.Names.BackupCronJob, c.Names.Namespace, cancellationToken: ct);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return new RestoreStepResult.Abandon("BackupsNotInstalled",
                $"The restore of backup {c.Store.Restore!.Backup} did not start: store {c.Store.Name} has no backup CronJob {c.Names.BackupCronJob} to take its safety backup with. " +
                "Nothing was changed. Move the store to the current version (a rollout or an upgrade), then restore again.");
        }

        try
        {
            await c.Client.BatchV1.CreateNamespacedJobAsync(BackupRequests.JobFrom(cronJob, safety.Job, BackupTrigger.Safety), c.Names.Namespace, cancellationToken: ct);
        }
        catch (Exception e) when (KubeErrors.IsConflict(e))
        {
            // Started by a worker that stopped before recording it: that Job is the safety backup.
        }

        await backups.RecordAsync(new Backup(safety.Job, c.Store.Name, BackupTrigger.Safety, BackupStatus.Running, Now, Repository: BackupJobs.RepositoryName(c.Store), Owner: c.Store.Owner), ct);
        var run = c.Store.Restore!;
        var written = await stores.UpdateAsync(c.Store with { UpdatedAt = Now, Progress = ProgressClock.StartedAt(Now) },
            [new StoreEvent(Now, StoreEventType.StepStarted, StorePhase.Restoring,
                $"Restore of backup {run.Backup} (snapshot {run.Snapshot}) requested by {run.RequestedBy}: safety backup {safety.Job} started first (the store as it is now); WordPress keeps serving meanwhile.",
                Step: safety.Step)], c.Lease, ct);
        return new RestoreStepResult.Written(written);
    }

    /// <summary>The safety backup finished: its snapshot is recorded on the restore, which moves on to replacing the data.</summary>
    public async Task<RestoreStepResult> SafetyBackupTakenAsync(RestoreStepContext c, ReconcileAction.SafetyBackupTaken taken, CancellationToken ct)
    {
        var result = await BackupPodResults.ReadAsync(c.Client, c.Names.Namespace, taken.Job, ct);
        if (result is not { Ok: true, Snapshot: { Length: > 0 } snapshot })
        {
            return new RestoreStepResult.Abandon("SafetyBackupUnreadable",
                $"The restore of backup {c.Store.Restore!.Backup} did not start: the safety backup {taken.Job} finished without reporting its snapshot, so the store could not be put back " +
                "should the restore fail. Nothing was changed; check the backup pod's log, then restore again.");
        }

        var run = c.Store.Restore!;
        var next = c.Store.WithRestoreStage(RestoreStage.Restore, Now, snapshot);
        var written = await stores.UpdateAsync(next,
            [new StoreEvent(Now, StoreEventType.StepSucceeded, StorePhase.Restoring,
                $"Safety backup {taken.Job} taken (snapshot {snapshot}). Stopping WordPress and restoring backup {run.Backup} (snapshot {run.Snapshot}).",
                Now - run.RequestedAt, taken.Step)], c.Lease, ct);
        return new RestoreStepResult.Written(written);
    }
}

/// <summary>The store a restore step acts on, where, and under which lease.</summary>
public sealed record RestoreStepContext(Store Store, StoreClusterNames Names, IKubernetes Client, Lease Lease);

/// <summary>How a restore step ended: its record written (with what the write answered), or the restore abandoned, untouched.</summary>
public abstract record RestoreStepResult
{
    private RestoreStepResult()
    {
    }

    public sealed record Written(UpdateStoreResult Result) : RestoreStepResult;

    public sealed record Abandon(string Reason, string Message) : RestoreStepResult;
}

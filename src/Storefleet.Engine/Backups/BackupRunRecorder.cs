using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Core.Backups;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Engine.Backups;

/// <summary>
/// Records the store chart's backup runs as the watch sees their Jobs: running, then the result the upload container
/// left as its termination message (snapshot, sizes, duration — or the reason it failed), with an event on the store.
/// A failed retention or check run becomes a Warning event. Once per finished Job across replicas (a Redis marker).
/// </summary>
public sealed partial class BackupRunRecorder(
    ClusterConnection cluster,
    IBackupRepository backups,
    IStoreRepository stores,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<BackupRunRecorder> logger,
    Pool.PoolPlacements placements)
{
    /// <summary>Longer than a finished backup Job lives (its ttlSecondsAfterFinished is 7 days).</summary>
    private static readonly TimeSpan MarkerLifetime = TimeSpan.FromDays(8);

    /// <summary>True for the Jobs this recorder follows (the watcher hands every store Job here first).</summary>
    public static bool Follows(V1Job job, string store) => BackupJobs.IsBackup(job, store) || BackupJobs.IsMaintenance(job, store);

    /// <summary>Records a backup Job of release <paramref name="release"/> (the store's, or the warm-pool member's it took over) for its store.</summary>
    public async Task RecordAsync(V1Job job, string release, CancellationToken cancellationToken)
    {
        var store = release;
        try
        {
            store = await placements.ResolveAsync(release, cancellationToken);
            var finished = BackupJobs.IsFinished(job, out var succeeded);
            if (BackupJobs.IsMaintenance(job, release))
            {
                if (finished && !succeeded && await FirstReportAsync(job))
                {
                    await ReportMaintenanceFailureAsync(job, release, store, cancellationToken);
                }

                return;
            }

            var started = job.Status?.StartTime is { } start ? new DateTimeOffset(start, TimeSpan.Zero) : (job.Metadata.CreationTimestamp is { } created ? new DateTimeOffset(created, TimeSpan.Zero) : clock.GetUtcNow());
            var record = await stores.GetAsync(store, cancellationToken);
            var repository = BackupJobs.Repository(job);
            var running = new Backup(job.Metadata.Name, store, BackupJobs.Trigger(job), BackupStatus.Running, started, Versions: BackupJobs.Versions(job),
                Repository: repository, Owner: record is not null && (repository is null || BackupJobs.RepositoryName(record) == repository) ? record.Owner : null);
            if (!finished)
            {
                await backups.RecordAsync(running, cancellationToken);
                return;
            }

            if (await backups.GetAsync(store, job.Metadata.Name, cancellationToken) is { IsFinished: true })
            {
                return;
            }

            var result = await ResultAsync(job, cancellationToken);
            var now = clock.GetUtcNow();
            var backup = succeeded && result is { Ok: true, Snapshot: not null }
                ? running with
                {
                    Status = BackupStatus.Succeeded, FinishedAt = now, Snapshot = result.Snapshot, BytesAdded = result.BytesAdded,
                    TotalBytes = result.TotalBytes, Files = result.Files, DurationSeconds = result.DurationSeconds,
                }
                : running with { Status = BackupStatus.Failed, FinishedAt = now, Reason = FailureReason(job, result) };
            // Recorded first: if this fails, the next sighting (the watch, or the sweep) records it. The event follows once.
            await backups.RecordAsync(backup, cancellationToken);
            if (!await FirstReportAsync(job))
            {
                return;
            }

            var phase = record?.Phase ?? StorePhase.Ready;
            await stores.AppendEventAsync(store, backup.Status == BackupStatus.Succeeded
                ? new StoreEvent(now, StoreEventType.StepSucceeded, phase,
                    $"Backup {backup.Id} ({backup.Trigger.ToWire()}) finished: snapshot {backup.Snapshot}, {Size(backup.TotalBytes)} in {backup.Files} files, {Size(backup.BytesAdded)} new in the repository.",
                    backup.DurationSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null, "backup")
                : new StoreEvent(now, StoreEventType.Warning, phase,
                    $"Backup {backup.Id} ({backup.Trigger.ToWire()}) failed: {backup.Reason} The store's data was not changed; the next scheduled backup runs as planned, or back up again once this is fixed.",
                    Step: "backup"), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogNotRecorded(logger, job.Metadata.Name, store, e.Message);
        }
    }

    private async Task<bool> FirstReportAsync(V1Job job) =>
        await redis.GetDatabase().StringSetAsync(keys.Reported(job.Metadata.Uid), "backup", MarkerLifetime, When.NotExists);

    private async Task ReportMaintenanceFailureAsync(V1Job job, string release, string store, CancellationToken cancellationToken)
    {
        var result = await ResultAsync(job, cancellationToken);
        var names = StoreClusterNames.For(release, options.Value.NamespacePrefix);
        var phase = (await stores.GetAsync(store, cancellationToken))?.Phase ?? StorePhase.Ready;
        await stores.AppendEventAsync(store, new StoreEvent(clock.GetUtcNow(), StoreEventType.Warning, phase,
            $"Backup maintenance {job.Metadata.Name} (retention and check) failed: {FailureReason(job, result)} " +
            $"See `kubectl logs -n {names.Namespace} job/{job.Metadata.Name} --all-containers`.", Step: "backup-maintenance"), cancellationToken);
    }

    private async Task<BackupResult?> ResultAsync(V1Job job, CancellationToken cancellationToken) =>
        cluster.TryGetClient(out _) is { } client ? await BackupPodResults.ReadAsync(client, job.Metadata.NamespaceProperty, job.Metadata.Name, cancellationToken) : null;

    private static string FailureReason(V1Job job, BackupResult? result)
    {
        if (result is { Ok: false, Reason: { Length: > 0 } reason })
        {
            return reason.EndsWith('.') ? reason : reason + ".";
        }

        var failed = job.Status?.Conditions?.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True");
        return failed is null
            ? "the backup pod ended without a result."
            : $"the Job failed ({failed.Reason}: {failed.Message}) without saying why; see the pod's log.";
    }

    private static string Size(long? bytes) => bytes is { } known ? BackupWire.Bytes(known) : "an unknown size";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backup Job {Job} of store {Store} could not be recorded ({Reason}); it is recorded when the watch sees it again.")]
    private static partial void LogNotRecorded(ILogger logger, string job, string store, string reason);
}

using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;
using Storefleet.Core.Backups;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Backups;

/// <summary>
/// Starts an on-demand backup: a Job from the store's backup CronJob template, so it runs exactly the pod the scheduled
/// backups run (what <c>kubectl create job --from=cronjob/…</c> does). Its result is recorded by
/// <see cref="BackupRunRecorder"/> when the Job finishes, as for the scheduled ones.
/// </summary>
public sealed class BackupRequests(
    ClusterConnection cluster,
    IBackupRepository backups,
    IStoreRepository stores,
    IOptions<BackupOptions> backupOptions,
    IOptions<EngineOptions> engineOptions,
    TimeProvider clock)
{
    public bool Enabled => backupOptions.Value.Enabled;

    public async Task<BackupRequestResult> StartAsync(Store store, string requestedBy, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return new BackupRequestResult.Refused("backups-disabled",
                "Backups are not configured on this platform: an administrator sets Storefleet:Backups:Repository and its Secrets (docs/backups.md).");
        }

        var client = cluster.TryGetClient(out var noCluster);
        if (client is null)
        {
            return new BackupRequestResult.Unavailable($"The cluster is unreachable ({noCluster}); try again once it answers.");
        }

        var names = StoreClusterNames.For(store, engineOptions.Value.NamespacePrefix);
        V1CronJob cronJob;
        try
        {
            cronJob = await client.BatchV1.ReadNamespacedCronJobAsync(names.BackupCronJob, names.Namespace, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return new BackupRequestResult.Refused("backups-not-installed",
                $"Store {store.Name} has no backup CronJob yet: it is still being provisioned, or it was installed before backups were configured. Move it to the current version (a rollout or an upgrade), then back it up.");
        }

        var now = clock.GetUtcNow();
        for (var attempt = 0; ; attempt++)
        {
            var id = $"{names.Release}-backup-m{(now.ToUnixTimeSeconds() + attempt).ToString(CultureInfo.InvariantCulture)}";
            try
            {
                await client.BatchV1.CreateNamespacedJobAsync(JobFrom(cronJob, id, BackupTrigger.OnDemand), names.Namespace, cancellationToken: cancellationToken);
            }
            catch (Exception e) when (KubeErrors.IsConflict(e) && attempt < 5)
            {
                continue;
            }

            var backup = new Backup(id, store.Name, BackupTrigger.OnDemand, BackupStatus.Running, now, Repository: BackupJobs.RepositoryName(store), Owner: store.Owner);
            await backups.RecordAsync(backup, cancellationToken);
            await stores.AppendEventAsync(store.Name, new StoreEvent(now, StoreEventType.StepStarted, store.Phase,
                $"Backup {id} started (on demand, by {requestedBy}).", Step: "backup"), cancellationToken);
            return new BackupRequestResult.Started(backup);
        }
    }

    /// <summary>A backup Job from the CronJob's template, as <c>kubectl create job --from=cronjob/…</c> builds it, labelled with its trigger.</summary>
    public static V1Job JobFrom(V1CronJob cronJob, string name, BackupTrigger trigger)
    {
        var template = cronJob.Spec.JobTemplate;
        var labels = new Dictionary<string, string>(template.Metadata?.Labels ?? new Dictionary<string, string>()) { [BackupJobs.TriggerLabel] = trigger.ToWire() };
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                Labels = labels,
                Annotations = new Dictionary<string, string> { ["cronjob.kubernetes.io/instantiate"] = "manual" },
                OwnerReferences =
                [
                    new V1OwnerReference { ApiVersion = "batch/v1", Kind = "CronJob", Name = cronJob.Metadata.Name, Uid = cronJob.Metadata.Uid, Controller = true },
                ],
            },
            Spec = template.Spec,
        };
    }
}

public abstract record BackupRequestResult
{
    private BackupRequestResult()
    {
    }

    public sealed record Started(Backup Backup) : BackupRequestResult;

    /// <summary>Cannot be done as things are: <paramref name="Code"/> and what a person does about it.</summary>
    public sealed record Refused(string Code, string Message) : BackupRequestResult;

    public sealed record Unavailable(string Message) : BackupRequestResult;
}

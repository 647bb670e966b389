using k8s;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Backups;
using Storefleet.Core.Stores;
using Storefleet.Engine.Hosting;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Backups;

/// <summary>
/// Empties deleted stores' repositories once their retention ends (<see cref="BackupOptions.RetainAfterDeletion"/>), or
/// at once when an admin deleted the store with its backups. The store's namespace is gone, so the purge Job runs in the
/// platform's namespace, beside the repository Secrets (never copied anywhere): the store chart's maintenance script,
/// task <c>purge</c> (every backup forgotten, the data pruned), from a ConfigMap of the shipped chart's scripts. When it
/// succeeded the repository's records go too. Every step is idempotent (the Job's name is the repository's), so replicas
/// sweeping together, or a control plane that stops half-way, purge each repository once.
/// </summary>
public sealed partial class BackupPurges(
    ClusterConnection cluster,
    IBackupRepository backups,
    EnginePaths paths,
    IOptions<BackupOptions> options,
    TimeProvider clock,
    ILogger<BackupPurges> logger) : BackgroundService
{
    public const string ScriptsConfigMap = "storefleet-backup-scripts";
    public const string ComponentLabel = "backup-purge";
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromHours(1);

    private BackupOptions Options => options.Value;

    /// <summary>A store's record is being removed: its repository is purged after the retention, or at once when asked.</summary>
    public async Task ScheduleAsync(Store store, CancellationToken cancellationToken)
    {
        if (!Options.Enabled)
        {
            return;
        }

        var due = store.PurgeBackups ? clock.GetUtcNow() : clock.GetUtcNow() + Options.RetainAfterDeletion;
        await backups.SchedulePurgeAsync(new RepositoryPurge(store.Name, BackupJobs.RepositoryName(store)), due, cancellationToken);
    }

    /// <summary>The purge Job of a repository (the repository's name is at most 53 characters).</summary>
    public static string JobName(RepositoryPurge purge) => $"purge-{purge.Repository}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Options.SweepInterval, clock);
        do
        {
            if (Options.Enabled)
            {
                await SweepAsync(stoppingToken);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var client = cluster.TryGetClient(out _);
        if (client is null)
        {
            return;
        }

        try
        {
            foreach (var purge in await backups.PurgesDueAsync(clock.GetUtcNow(), cancellationToken))
            {
                await PurgeAsync(client, purge, cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSweepFailed(logger, e.Message);
        }
    }

    /// <summary>Starts the purge Job, or, once it finished, records its result (a failed one is tried again later).</summary>
    private async Task PurgeAsync(IKubernetes client, RepositoryPurge purge, CancellationToken cancellationToken)
    {
        var ns = Options.SecretsNamespace;
        var name = JobName(purge);
        V1Job? job;
        try
        {
            job = await client.BatchV1.ReadNamespacedJobAsync(name, ns, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            job = null;
        }

        if (job is null)
        {
            await EnsureScriptsAsync(client, ns, cancellationToken);
            try
            {
                await client.BatchV1.CreateNamespacedJobAsync(Job(purge, name), ns, cancellationToken: cancellationToken);
                LogStarted(logger, purge.Repository, purge.Store, ns);
            }
            catch (Exception e) when (KubeErrors.IsConflict(e))
            {
                // Another replica started it.
            }

            return;
        }

        if (!BackupJobs.IsFinished(job, out var succeeded))
        {
            return;
        }

        var result = await BackupPodResults.ReadAsync(client, ns, name, cancellationToken);
        if (succeeded)
        {
            await backups.CompletePurgeAsync(purge, cancellationToken);
            LogPurged(logger, purge.Repository, purge.Store);
        }
        else
        {
            await backups.SchedulePurgeAsync(purge, clock.GetUtcNow() + RetryAfterFailure, cancellationToken);
            LogFailed(logger, purge.Repository, purge.Store, result?.Reason ?? "the purge pod ended without saying why; see its log", RetryAfterFailure.TotalMinutes);
        }

        try
        {
            await client.BatchV1.DeleteNamespacedJobAsync(name, ns, propagationPolicy: "Background", cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            // Another replica removed it.
        }
    }

    /// <summary>The store chart's backup scripts, as this control plane ships them, in the platform's namespace.</summary>
    private async Task EnsureScriptsAsync(IKubernetes client, string ns, CancellationToken cancellationToken)
    {
        var files = Path.Combine(paths.Chart(StoreEngine.WooCommerce.ChartDirectory), "files");
        var configMap = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta { Name = ScriptsConfigMap, Labels = Labels(null) },
            Data = new Dictionary<string, string>
            {
                ["backup-common.sh"] = await File.ReadAllTextAsync(Path.Combine(files, "backup-common.sh"), cancellationToken),
                ["backup-maintain.sh"] = await File.ReadAllTextAsync(Path.Combine(files, "backup-maintain.sh"), cancellationToken),
            },
        };
        try
        {
            await client.CoreV1.CreateNamespacedConfigMapAsync(configMap, ns, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsConflict(e))
        {
            await client.CoreV1.ReplaceNamespacedConfigMapAsync(configMap, ScriptsConfigMap, ns, cancellationToken: cancellationToken);
        }
    }

    private V1Job Job(RepositoryPurge purge, string name) => new()
    {
        ApiVersion = "batch/v1",
        Kind = "Job",
        Metadata = new V1ObjectMeta { Name = name, Labels = Labels(purge.Store) },
        Spec = new V1JobSpec
        {
            BackoffLimit = 2,
            ActiveDeadlineSeconds = 7200,
            // Recorded and deleted by the sweep; should a replica start one again after another finished the purge, it goes by itself.
            TtlSecondsAfterFinished = 3600,
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = Labels(purge.Store) },
                Spec = new V1PodSpec
                {
                    RestartPolicy = "Never",
                    AutomountServiceAccountToken = false,
                    EnableServiceLinks = false,
                    SecurityContext = new V1PodSecurityContext
                    {
                        RunAsNonRoot = true, RunAsUser = 33, RunAsGroup = 33, FsGroup = 33,
                        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                    },
                    Containers =
                    [
                        new V1Container
                        {
                            Name = "purge",
                            Image = Options.ResticImage,
                            Command = ["sh", "/scripts/backup-maintain.sh", "purge"],
                            Env =
                            [
                                new V1EnvVar { Name = "STORE_NAME", Value = purge.Repository },
                                new V1EnvVar { Name = "RESTIC_REPOSITORY_BASE", Value = Options.Repository },
                                new V1EnvVar { Name = "RESTIC_PASSWORD_FILE", Value = "/secrets/restic/restic-password" },
                                new V1EnvVar { Name = "RESTIC_CACHE_DIR", Value = "/tmp/restic-cache" },
                                new V1EnvVar { Name = "LOCK_WAIT_SECONDS", Value = "600" },
                                new V1EnvVar { Name = "HOME", Value = "/tmp" },
                            ],
                            EnvFrom = [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = Options.CredentialsSecret, Optional = true } }],
                            Resources = new V1ResourceRequirements
                            {
                                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("50m"), ["memory"] = new("128Mi") },
                                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m"), ["memory"] = new("512Mi") },
                            },
                            SecurityContext = new V1SecurityContext
                            {
                                AllowPrivilegeEscalation = false, ReadOnlyRootFilesystem = true, RunAsNonRoot = true,
                                Capabilities = new V1Capabilities { Drop = ["ALL"] },
                            },
                            VolumeMounts =
                            [
                                new V1VolumeMount { Name = "scripts", MountPath = "/scripts", ReadOnlyProperty = true },
                                new V1VolumeMount { Name = "restic-password", MountPath = "/secrets/restic", ReadOnlyProperty = true },
                                new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                            ],
                        },
                    ],
                    Volumes =
                    [
                        new V1Volume { Name = "scripts", ConfigMap = new V1ConfigMapVolumeSource { Name = ScriptsConfigMap, DefaultMode = 365 } },
                        new V1Volume
                        {
                            Name = "restic-password",
                            Secret = new V1SecretVolumeSource { SecretName = Options.PasswordSecret, DefaultMode = 256, Items = [new V1KeyToPath { Key = "restic-password", Path = "restic-password" }] },
                        },
                        new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("1Gi") } },
                    ],
                },
            },
        },
    };

    /// <summary>The purge pods' labels: the platform chart's NetworkPolicy lets pods with these reach the repository and DNS.</summary>
    public static Dictionary<string, string> PodLabels(string store) => Labels(store);

    private static Dictionary<string, string> Labels(string? store)
    {
        var labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "storefleet", ["app.kubernetes.io/component"] = ComponentLabel };
        if (store is not null)
        {
            labels["storefleet.io/purged-store"] = store;
        }

        return labels;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backups of deleted store {Store}: purge Job started for repository {Repository} in namespace {Namespace}.")]
    private static partial void LogStarted(ILogger logger, string repository, string store, string @namespace);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backups of deleted store {Store}: repository {Repository} purged; its records are gone.")]
    private static partial void LogPurged(ILogger logger, string repository, string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backups of deleted store {Store}: the purge of repository {Repository} failed ({Reason}); it is tried again in {Minutes} minutes.")]
    private static partial void LogFailed(ILogger logger, string repository, string store, string reason, double minutes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleted stores' backups could not be purged this time ({Reason}); the next sweep tries again.")]
    private static partial void LogSweepFailed(ILogger logger, string reason);
}

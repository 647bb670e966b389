using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Turns a failed WP-Cron run (a Job of the store chart's cron CronJob) into a Warning event on its store, with
/// the run's last log lines — once, whichever replica's watch sees it first (a short-lived Redis marker per Job).
/// </summary>
public sealed partial class CronRunReporter(
    ClusterConnection cluster,
    IStoreRepository repository,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<CronRunReporter> logger,
    Pool.PoolPlacements placements)
{
    private const string CronComponent = "cron";
    private static readonly TimeSpan MarkerLifetime = TimeSpan.FromHours(6);

    /// <summary>True for a cron run that has failed (the watcher hands every store Job here).</summary>
    public static bool IsFailedCronRun(V1Job job) =>
        job.Metadata.Labels?.TryGetValue("app.kubernetes.io/component", out var component) == true && component == CronComponent
        && (job.Status?.Conditions ?? []).Any(c => c.Type == "Failed" && c.Status == "True");

    /// <summary>Reports a failed cron run of release <paramref name="release"/> (the store's, or the warm-pool member's it took over) on its store's timeline.</summary>
    public async Task ReportAsync(V1Job job, string release, CancellationToken cancellationToken)
    {
        var store = release;
        try
        {
            store = await placements.ResolveAsync(release, cancellationToken);
            // One report per run across replicas and restarts.
            if (!await redis.GetDatabase().StringSetAsync(keys.Reported(job.Metadata.Uid), "1", MarkerLifetime, When.NotExists))
            {
                return;
            }

            var client = cluster.TryGetClient(out _);
            var failed = job.Status!.Conditions!.First(c => c.Type == "Failed" && c.Status == "True");
            var lines = client is null ? [] : await LastLinesAsync(client, job, cancellationToken);
            var tail = lines.Count > 0 ? $" Last log lines:\n{string.Join('\n', lines)}" : string.Empty;
            var names = StoreClusterNames.For(release, options.Value.NamespacePrefix);
            await repository.AppendEventAsync(store, new StoreEvent(clock.GetUtcNow(), StoreEventType.Warning, StorePhase.Ready,
                $"WP-Cron run {job.Metadata.Name} failed ({failed.Reason}: {failed.Message}); scheduled tasks (WooCommerce's Action Scheduler among them) run again at the next schedule. " +
                $"See `kubectl logs -n {names.Namespace} job/{job.Metadata.Name}`.{tail}", Step: "wp-cron"), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogNotReported(logger, job.Metadata.Name, store, e.Message);
        }
    }

    private static async Task<IReadOnlyList<string>> LastLinesAsync(IKubernetes client, V1Job job, CancellationToken cancellationToken)
    {
        var pods = await client.CoreV1.ListNamespacedPodAsync(job.Metadata.NamespaceProperty, labelSelector: $"job-name={job.Metadata.Name}", cancellationToken: cancellationToken);
        var pod = pods.Items.OrderByDescending(p => p.Metadata.CreationTimestamp).FirstOrDefault();
        return pod is null ? [] : await StoreObserver.LogTailAsync(client, job.Metadata.NamespaceProperty, pod.Metadata.Name, 10, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed WP-Cron run {Job} of store {Store} could not be reported ({Reason}).")]
    private static partial void LogNotReported(ILogger logger, string job, string store, string reason);
}

using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Backups;

/// <summary>
/// Lists the store chart's backup Jobs every <see cref="BackupOptions.SweepInterval"/> and hands them to the
/// <see cref="BackupRunRecorder"/>: a backup that finished while no control plane watched (down, upgrading, a watch
/// relisting) is recorded all the same. Finished backups already recorded cost one Redis read each.
/// </summary>
public sealed partial class BackupRunSweep(
    ClusterConnection cluster,
    BackupRunRecorder recorder,
    IOptions<BackupOptions> options,
    TimeProvider clock,
    ILogger<BackupRunSweep> logger) : BackgroundService
{
    private const string Selector = "app.kubernetes.io/name=store,app.kubernetes.io/component=backup";
    private const string StoreLabel = "storefleet.io/store";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, clock);
        do
        {
            if (options.Value.Enabled)
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
            var jobs = await client.BatchV1.ListJobForAllNamespacesAsync(labelSelector: Selector, cancellationToken: cancellationToken);
            foreach (var job in jobs.Items)
            {
                if (job.Metadata.Labels?.TryGetValue(StoreLabel, out var store) == true && BackupRunRecorder.Follows(job, store))
                {
                    await recorder.RecordAsync(job, store, cancellationToken);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSweepFailed(logger, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backup Jobs could not be listed ({Reason}); the next sweep tries again.")]
    private static partial void LogSweepFailed(ILogger logger, string reason);
}

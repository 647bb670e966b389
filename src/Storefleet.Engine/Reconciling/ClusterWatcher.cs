using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Storefleet.Core.Provisioning;
using Storefleet.Engine.Watching;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Runs the engine's watch caches (<see cref="StoreCaches"/>: informers over every store namespace, never polling) and
/// enqueues the store an event belongs to at once — so readiness, pod problems, health and drift reach the API within
/// a reconcile of happening. A failed WP-Cron run is reported as an event instead (see <see cref="CronRunReporter"/>), and
/// backup runs are recorded (see <see cref="Backups.BackupRunRecorder"/>).
/// </summary>
public sealed partial class ClusterWatcher(
    StoreCaches caches,
    IWorkQueue queue,
    CronRunReporter cronRuns,
    Backups.BackupRunRecorder backupRuns,
    TimeProvider clock,
    ILogger<ClusterWatcher> logger,
    Pool.PoolPlacements placements) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        caches.StoreChanged += OnStoreChanged;
        stoppingToken.Register(() => caches.StoreChanged -= OnStoreChanged);
        return Task.WhenAll(FlushLoopAsync(stoppingToken), caches.RunAsync(stoppingToken));
    }

    private void OnStoreChanged(string store, object? item)
    {
        if (item is V1Job job && CronRunReporter.IsFailedCronRun(job))
        {
            _ = cronRuns.ReportAsync(job, store, CancellationToken.None);
            return;
        }

        if (item is V1Job run && Backups.BackupRunRecorder.Follows(run, store))
        {
            // Backups run beside the store; they never change what the store's reconcile decides.
            _ = backupRuns.RecordAsync(run, store, CancellationToken.None);
            return;
        }

        // A claimed warm-pool member's namespace is named after the member: its events are the claiming store's.
        if (placements.TryResolve(store, out var resolved))
        {
            Pend(resolved);
        }
        else
        {
            _ = ResolveThenPendAsync(store);
        }
    }

    private void Pend(string store)
    {
        if (_pending.TryAdd(store, 0))
        {
            _flush.Writer.TryWrite(true);
        }
    }

    private async Task ResolveThenPendAsync(string clusterName)
    {
        try
        {
            Pend(await placements.ResolveAsync(clusterName, CancellationToken.None));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The periodic resync looks at the store anyway.
            LogEnqueueFailed(logger, clusterName, e.Message);
        }
    }

    /// <summary>
    /// The stores events touched; a flusher enqueues each once. A burst of events for one store (a rollout touches
    /// pods, the Deployment, its claims...) becomes one enqueue.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _pending = new();
    private readonly System.Threading.Channels.Channel<bool> _flush = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });

    private async Task FlushLoopAsync(CancellationToken stoppingToken)
    {
        await foreach (var signal in _flush.Reader.ReadAllAsync(stoppingToken))
        {
            foreach (var store in _pending.Keys)
            {
                _pending.TryRemove(store, out _);
                try
                {
                    await queue.EnqueueAsync(store, clock.GetUtcNow(), stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The periodic resync enqueues the store anyway.
                    LogEnqueueFailed(logger, store, e.Message);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not enqueue store {Store} after a cluster event ({Reason}); the resync will.")]
    private static partial void LogEnqueueFailed(ILogger logger, string store, string reason);
}

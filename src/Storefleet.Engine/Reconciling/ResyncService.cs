using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Recovery on start and the periodic resync: every store with work left (requested, provisioning,
/// bootstrapping, deleting) is enqueued, so nothing depends on an event that was lost in a crash. Each
/// round also looks for orphan namespaces (see <see cref="OrphanNamespaces"/>).
/// </summary>
public sealed partial class ResyncService(
    IStoreRepository repository,
    IWorkQueue queue,
    OrphanNamespaces orphans,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<ResyncService> logger) : BackgroundService
{
    private static readonly StorePhase[] WorkLeft = [StorePhase.Requested, StorePhase.Provisioning, StorePhase.Bootstrapping, StorePhase.Deleting];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var count = 0;
                foreach (var phase in WorkLeft)
                {
                    foreach (var name in await repository.NamesInPhaseAsync(phase, stoppingToken))
                    {
                        await queue.EnqueueAsync(name, clock.GetUtcNow(), stoppingToken);
                        count++;
                    }
                }

                if (first)
                {
                    LogRecovered(logger, count);
                    first = false;
                }

                await orphans.ScanAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogResyncFailed(logger, e.Message);
            }

            await Task.Delay(options.Value.ResyncInterval, clock, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovery: {Count} stores with work left were queued.")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resync failed ({Reason}); trying again at the next interval.")]
    private static partial void LogResyncFailed(ILogger logger, string reason);
}

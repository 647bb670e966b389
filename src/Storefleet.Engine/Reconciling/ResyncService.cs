using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Recovery on start and the periodic resync: every store with work left (requested, provisioning,
/// bootstrapping, updating, deleting) is enqueued each round, so nothing depends on an event that was lost in a
/// crash; every live store (ready, degraded) is enqueued once per <see cref="EngineOptions.SteadyResyncInterval"/>,
/// each at its own moment spread over the interval (10 000 stores never resync at once). Each round also looks for
/// orphan namespaces (see <see cref="OrphanNamespaces"/>).
/// </summary>
public sealed partial class ResyncService(
    IStoreRepository repository,
    IWorkQueue queue,
    OrphanNamespaces orphans,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<ResyncService> logger) : BackgroundService
{
    private static readonly StorePhase[] WorkLeft = [StorePhase.Requested, StorePhase.Provisioning, StorePhase.Bootstrapping, StorePhase.Updating, StorePhase.Restoring, StorePhase.Deleting];
    private static readonly StorePhase[] Live = [StorePhase.Ready, StorePhase.Degraded];

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
                    var names = await repository.NamesInPhaseAsync(phase, stoppingToken);
                    var due = clock.GetUtcNow();
                    await EnqueueAllAsync(names.Select(name => (name, due)), stoppingToken);
                    count += names.Count;
                }

                if (first)
                {
                    LogRecovered(logger, count);
                    first = false;
                }

                var now = clock.GetUtcNow();
                if (now >= _nextSteady)
                {
                    await EnqueueLiveStoresAsync(now, stoppingToken);
                    _nextSteady = now + options.Value.SteadyResyncInterval;
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

    private DateTimeOffset _nextSteady = DateTimeOffset.MinValue;

    /// <summary>
    /// Every live store, due at a moment of the interval that is its own (a hash of its name): the same store resyncs at
    /// the same offset on every replica and every round, and the stores spread evenly over the interval.
    /// </summary>
    private async Task EnqueueLiveStoresAsync(DateTimeOffset now, CancellationToken stoppingToken)
    {
        var interval = options.Value.SteadyResyncInterval;
        foreach (var phase in Live)
        {
            var names = await repository.NamesInPhaseAsync(phase, stoppingToken);
            await EnqueueAllAsync(names.Select(name => (name, now + SpreadOffset(name, interval))), stoppingToken);
        }
    }

    /// <summary>Enqueues many stores a few hundred at a time, pipelined on the connection rather than one round trip each.</summary>
    private async Task EnqueueAllAsync(IEnumerable<(string Name, DateTimeOffset Due)> stores, CancellationToken stoppingToken)
    {
        foreach (var chunk in stores.Chunk(500))
        {
            await Task.WhenAll(chunk.Select(s => queue.EnqueueAsync(s.Name, s.Due, stoppingToken)));
        }
    }

    /// <summary>Where in the interval a store's resync falls: a stable hash of its name, uniform over [0, interval).</summary>
    public static TimeSpan SpreadOffset(string store, TimeSpan interval)
    {
        var hash = BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(store)), 0);
        return TimeSpan.FromTicks((long)(hash % (ulong)Math.Max(1, interval.Ticks)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovery: {Count} stores with work left were queued.")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resync failed ({Reason}); trying again at the next interval.")]
    private static partial void LogResyncFailed(ILogger logger, string reason);
}

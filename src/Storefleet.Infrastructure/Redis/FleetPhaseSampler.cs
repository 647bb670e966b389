using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Storefleet.Core.Fleet;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// Once a minute (and at start), records how many stores are in each phase for the fleet overview's trend. Every replica
/// runs it; the first to sample a minute wins (see <see cref="IFleetHistory.SamplePhasesAsync"/>). A minute Redis cannot
/// be reached is simply missing from the trend.
/// </summary>
public sealed partial class FleetPhaseSampler(RedisStoreRepository repository, IFleetHistory history, TimeProvider clock, ILogger<FleetPhaseSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            await SampleAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Samples now; false when Redis did not answer or this minute was already sampled.</summary>
    public async Task<bool> SampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            var counts = (await repository.CountByPhaseAndPlanAsync(cancellationToken).ConfigureAwait(false))
                .GroupBy(c => c.Phase)
                .ToDictionary(g => g.Key, g => g.Sum(c => c.Count));
            foreach (var phase in Enum.GetValues<StorePhase>())
            {
                counts.TryAdd(phase, 0);
            }

            return await history.SamplePhasesAsync(clock.GetUtcNow(), counts, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            LogSampleFailed(logger, e.Message);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fleet's phase counts were not sampled this minute: {Reason}")]
    private static partial void LogSampleFailed(ILogger logger, string reason);
}

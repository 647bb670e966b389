using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// At start, makes sure stores created before the name and plan indexes existed are in them (once per installation;
/// retried while Redis is unreachable). Until it is done a name search may miss those older stores (never show a wrong
/// one), and the count of stores by plan leaves them out.
/// </summary>
public sealed partial class IndexBackfill(IStoreRepository repository, ILogger<IndexBackfill> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (repository is not RedisStoreRepository redis)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await redis.EnsureNameIndexAsync(stoppingToken).ConfigureAwait(false);
                await redis.EnsurePlanIndexAsync(stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
            {
                LogRetry(logger, e.Message, RetryDelay.TotalSeconds);
                await Task.Delay(RetryDelay, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Name and plan indexes: could not add older stores yet ({Reason}); trying again in {Seconds} s.")]
    private static partial void LogRetry(ILogger logger, string reason, double seconds);
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// At start, makes sure stores created before the name index existed are in it (once per installation; retried while
/// Redis is unreachable). Until it is done a name search may miss those older stores, never show a wrong one.
/// </summary>
public sealed partial class NameIndexBackfill(IStoreRepository repository, ILogger<NameIndexBackfill> logger) : BackgroundService
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
                return;
            }
            catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
            {
                LogRetry(logger, e.Message, RetryDelay.TotalSeconds);
                await Task.Delay(RetryDelay, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Name index: could not add older stores yet ({Reason}); trying again in {Seconds} s.")]
    private static partial void LogRetry(ILogger logger, string reason, double seconds);
}

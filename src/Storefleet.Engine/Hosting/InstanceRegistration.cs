using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Core;
using Storefleet.Engine.Reconciling;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Engine.Hosting;

/// <summary>
/// Registers this engine's instance id in Redis (<c>instance:{id}</c>, a random nonce with a TTL renewed while
/// it runs) and refuses to start when another live replica holds the same id: two replicas sharing an id
/// would share lease holders. The default id is unique (host, process, random); this guards configured ids.
/// Should a conflict appear later (e.g. the registration was lost in a failover), the process stops.
/// </summary>
public sealed partial class InstanceRegistration(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    EngineInstance instance,
    IOptions<EngineOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<InstanceRegistration> logger) : BackgroundService, IStartupCheck
{
    private const string Claim = """
        local current = redis.call('GET', KEYS[1])
        if current and current ~= ARGV[1] then
          return 0
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """;

    private const string Release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private readonly string _nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private TimeSpan Ttl => options.Value.LeaseTtl * 3;

    /// <summary>Registers the instance id before anything starts; another live replica holding it refuses this start.</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            return await ClaimAsync().WaitAsync(timeout.Token)
                ? null
                : $"Refusing to start: another live control-plane replica runs with engine instance id '{instance.Id}'. Give each replica its own Storefleet:Engine:InstanceId, or leave it unset (a unique id is generated).";
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Redis not reachable yet: the registration is made by the loop below as soon as it is.
            LogDeferred(logger, instance.Id, e.Message);
            return null;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(Release, [keys.Instance(instance.Id)], [_nonce]).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            // It expires by itself (also when the host already closed the connection on its way down).
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Ttl / 3);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (!await ClaimAsync())
                {
                    LogConflict(logger, instance.Id);
                    lifetime.StopApplication();
                    return;
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogRenewFailed(logger, instance.Id, e.Message);
            }
        }
    }

    private async Task<bool> ClaimAsync() =>
        (long)await redis.GetDatabase().ScriptEvaluateAsync(Claim, [keys.Instance(instance.Id)], [_nonce, (long)Ttl.TotalMilliseconds]) == 1;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Engine instance {Instance}: registration deferred until Redis answers ({Reason}).")]
    private static partial void LogDeferred(ILogger logger, string instance, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Engine instance {Instance}: another live replica now holds this instance id; stopping so that two replicas never share lease holders. Give each replica its own Storefleet:Engine:InstanceId.")]
    private static partial void LogConflict(ILogger logger, string instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Engine instance {Instance}: registration not renewed ({Reason}); trying again.")]
    private static partial void LogRenewFailed(ILogger logger, string instance, string reason);
}

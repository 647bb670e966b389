using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Storefleet.Infrastructure;

namespace Storefleet.Server.Hosting;

/// <summary>Healthy when Redis answers PING within the check's timeout.</summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis, StateBackend backend) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy($"{backend.Kind} answered in {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"{backend.Kind} at {backend.Endpoint} is unreachable: {e.Message}. Check that Redis is running and ConnectionStrings__Redis is right.");
        }
    }
}

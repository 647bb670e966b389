using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;
using Storefleet.Infrastructure;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Server.Access;

/// <summary>
/// Where rate-limit budgets and the bad-token throttle live. On a real Redis (single node or Sentinel) they live in
/// Redis, so every replica spends one budget per client; with the embedded Garnet (one process, no replicas) they stay
/// in memory, which is faster and equivalent. Token buckets come from RedisRateLimiting (System.Threading.RateLimiting
/// on Redis); the sign-in throttle is a sliding window of failures, which no rate limiter models (it counts failures,
/// not requests), so it is one short script of our own.
/// </summary>
public sealed class SharedLimits(StateBackend backend, IServiceProvider services, RedisKeys keys, IOptions<AccessOptions> options, TimeProvider clock, Storefleet.Engine.Telemetry.StorefleetMetrics metrics)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    // KEYS[1] the client's failures (sorted set of unique ids scored by time in ms); ARGV: now, window ms, a unique id (or '' to only read).
    // Returns {count in the window, the oldest failure's time}.
    private const string FailuresScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
        if ARGV[3] ~= '' then
          redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {redis.call('ZCARD', KEYS[1]), oldest[2] or '0'}
        """;

    private readonly FailedSignInThrottle _local = new(options, clock);

    /// <summary>True when budgets are kept in Redis for every replica.</summary>
    public bool Shared { get; } = backend.Kind != "embedded-garnet";

    private IConnectionMultiplexer Redis => services.GetRequiredService<IConnectionMultiplexer>();

    /// <summary>A token bucket of <paramref name="perMinute"/> requests a minute for one partition key.</summary>
    public System.Threading.RateLimiting.RateLimitPartition<string> Bucket(string key, int perMinute)
    {
        var (tokensPerPeriod, period) = Refill(perMinute);
        return Shared
            ? RedisRateLimitPartition.GetTokenBucketRateLimiter($"{keys.Prefix}ratelimit:{key}", _ => new RedisTokenBucketRateLimiterOptions
            {
                ConnectionMultiplexerFactory = () => Redis,
                TokenLimit = perMinute,
                TokensPerPeriod = tokensPerPeriod,
                ReplenishmentPeriod = period,
            })
            : System.Threading.RateLimiting.RateLimitPartition.GetTokenBucketLimiter(key, _ => new System.Threading.RateLimiting.TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = tokensPerPeriod,
                ReplenishmentPeriod = period,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
    }

    /// <summary>Counts a failed sign-in or invalid token (<paramref name="kind"/>: api-token, sign-in) from <paramref name="client"/>.</summary>
    public async Task RecordFailureAsync(string client, string kind)
    {
        metrics.AuthFailure(kind);
        if (Shared)
        {
            await FailuresAsync(client, Guid.NewGuid().ToString("N"));
        }
        else
        {
            _local.RecordFailure(client);
        }
    }

    /// <summary>How long <paramref name="client"/> must wait after too many failures in a minute, or null when it may try.</summary>
    public async Task<TimeSpan?> RetryAfterAsync(string client)
    {
        if (!Shared)
        {
            return _local.RetryAfter(client);
        }

        var (count, oldest) = await FailuresAsync(client, string.Empty);
        return count >= options.Value.RateLimits.FailedSignInsPerMinute
            ? DateTimeOffset.FromUnixTimeMilliseconds(oldest) + Window - clock.GetUtcNow()
            : null;
    }

    /// <summary>Refill <paramref name="perMinute"/> tokens a minute in whole tokens: at least one per period, periods of at least a second.</summary>
    internal static (int TokensPerPeriod, TimeSpan Period) Refill(int perMinute)
    {
        var tokens = Math.Max(1, perMinute / 60);
        return (tokens, TimeSpan.FromSeconds(Math.Max(1, 60.0 / perMinute * tokens)));
    }

    private async Task<(long Count, long Oldest)> FailuresAsync(string client, string id)
    {
        var answer = (RedisResult[])(await Redis.GetDatabase().ScriptEvaluateAsync(
            FailuresScript,
            [$"{keys.Prefix}signin-failures:{client}"],
            [clock.GetUtcNow().ToUnixTimeMilliseconds(), (long)Window.TotalMilliseconds, id]))!;
        return ((long)answer[0], long.Parse((string)answer[1]!, System.Globalization.CultureInfo.InvariantCulture));
    }
}

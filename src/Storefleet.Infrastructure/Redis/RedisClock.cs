using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// The control plane's wall clock: this machine's clock corrected by its offset from the Redis server's
/// (<c>TIME</c>, sampled at start and every <see cref="SyncInterval"/>, the sample with the shortest round
/// trip wins). Every replica stamps queue due times, leases' schedules, phase clocks and events with Redis's
/// time, so a replica whose clock is minutes off neither writes due times already in the past (making idle
/// replicas spin) nor judges timeouts by its own drift. Timers and elapsed-time measurements keep using the
/// local monotonic clock. Until the first sample (or while Redis is unreachable) the last offset is used.
/// </summary>
public sealed partial class RedisClock(
    [FromKeyedServices(RedisClock.LocalClockKey)] TimeProvider local,
    IConnectionMultiplexer redis,
    ILogger<RedisClock> logger) : TimeProvider
{
    /// <summary>DI key of this machine's own clock (tests replace it with a skewed one).</summary>
    public const string LocalClockKey = "local";

    public static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(30);

    private long _offsetTicks;

    /// <summary>Redis's clock minus this machine's, as last measured.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Volatile.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => local.GetUtcNow().AddTicks(Volatile.Read(ref _offsetTicks));

    public override long GetTimestamp() => local.GetTimestamp();

    public override long TimestampFrequency => local.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => local.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        local.CreateTimer(callback, state, dueTime, period);

    /// <summary>Measures the offset now (three samples, the fastest round trip wins). Throws when Redis cannot be reached.</summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        (TimeSpan Rtt, TimeSpan Offset)? best = null;
        for (var i = 0; i < 3; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sent = local.GetUtcNow();
            var started = Stopwatch.GetTimestamp();
            var reply = (RedisResult[])(await db.ExecuteAsync("TIME").ConfigureAwait(false))!;
            var rtt = Stopwatch.GetElapsedTime(started);
            var server = DateTimeOffset.FromUnixTimeSeconds((long)reply[0]).AddTicks((long)reply[1] * 10);
            var offset = server - (sent + (rtt / 2));
            if (best is null || rtt < best.Value.Rtt)
            {
                best = (rtt, offset);
            }
        }

        var previous = Offset;
        Interlocked.Exchange(ref _offsetTicks, best!.Value.Offset.Ticks);
        if (Math.Abs((best.Value.Offset - previous).TotalSeconds) >= 1)
        {
            LogOffset(logger, best.Value.Offset.TotalMilliseconds, best.Value.Rtt.TotalMilliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Clock: Redis's time is {OffsetMs:0} ms ahead of this machine's (round trip {RttMs:0.0} ms); the control plane uses Redis's.")]
    private static partial void LogOffset(ILogger logger, double offsetMs, double rttMs);
}

/// <summary>Keeps <see cref="RedisClock"/> in step with Redis: once before the other services start, then periodically.</summary>
public sealed partial class RedisClockSync(RedisClock clock, ILogger<RedisClockSync> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await SyncOnceAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RedisClock.SyncInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await SyncOnceAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task SyncOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await clock.SyncAsync(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSyncFailed(logger, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Clock: could not read Redis's time ({Reason}); keeping the last offset.")]
    private static partial void LogSyncFailed(ILogger logger, string reason);
}

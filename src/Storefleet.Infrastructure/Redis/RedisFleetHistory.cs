using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;
using Storefleet.Core.Fleet;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// <see cref="IFleetHistory"/> in three sorted sets scored by time (Unix ms), trimmed by age and by count on every write
/// so they never grow without bound: readiness times (7 days, at most <see cref="MaxReadyTimes"/>), step durations
/// (24 hours, at most <see cref="MaxSteps"/>) and one phase sample per minute (7 days).
/// </summary>
public sealed class RedisFleetHistory(IConnectionMultiplexer redis, RedisKeys keys) : IFleetHistory
{
    public const int MaxReadyTimes = 20_000;
    public const int MaxSteps = 20_000;
    private static readonly TimeSpan Week = TimeSpan.FromDays(7);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    /// <summary>KEYS: sorted set. ARGV: score, member, oldest score kept, max entries. Adds, then trims by age and count.</summary>
    private const string AddTrimmed = """
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
        redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
        return 1
        """;

    /// <summary>KEYS: phase samples. ARGV: minute score, member, oldest score kept. Adds only the first sample of a minute.</summary>
    private const string SampleOnce = """
        if redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1]) > 0 then
          return 0
        end
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
        return 1
        """;

    private IDatabase Db => redis.GetDatabase();

    public async Task RecordReadyAsync(DateTimeOffset at, TimeSpan sinceCreation, CancellationToken cancellationToken = default)
    {
        var score = at.ToUnixTimeMilliseconds();
        // The member carries the duration; a random suffix keeps two equal durations in the same millisecond apart.
        var member = $"{sinceCreation.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)}|{Guid.NewGuid():N}";
        await Db.ScriptEvaluateAsync(AddTrimmed, [keys.FleetReadyTimes], [score, member, score - (long)Week.TotalMilliseconds, MaxReadyTimes]).ConfigureAwait(false);
    }

    public void RecordStep(DateTimeOffset at, string step, TimeSpan duration)
    {
        var score = at.ToUnixTimeMilliseconds();
        var member = $"{step}|{duration.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)}|{Guid.NewGuid():N}";
        _ = Db.ScriptEvaluateAsync(AddTrimmed, [keys.FleetSteps], [score, member, score - (long)Day.TotalMilliseconds, MaxSteps], CommandFlags.FireAndForget);
    }

    public async Task<bool> SamplePhasesAsync(DateTimeOffset at, IReadOnlyDictionary<StorePhase, long> counts, CancellationToken cancellationToken = default)
    {
        var minute = at.ToUnixTimeMilliseconds() / 60_000 * 60_000;
        var json = JsonSerializer.Serialize(counts.ToDictionary(c => c.Key.ToWire(), c => c.Value), StateJsonContext.Default.DictionaryStringInt64);
        var added = (long)await Db.ScriptEvaluateAsync(SampleOnce, [keys.FleetPhaseSamples], [minute, $"{minute}|{json}", minute - (long)Week.TotalMilliseconds]).ConfigureAwait(false);
        return added == 1;
    }

    public async Task<FleetHistorySnapshot> ReadAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var to = now.ToUnixTimeMilliseconds();
        var dayAgo = to - (long)Day.TotalMilliseconds;
        var batch = Db.CreateBatch();
        var samples = batch.SortedSetRangeByScoreAsync(keys.FleetPhaseSamples, dayAgo, to);
        var ready = batch.SortedSetRangeByScoreWithScoresAsync(keys.FleetReadyTimes, to - (long)Week.TotalMilliseconds, to);
        var steps = batch.SortedSetRangeByScoreAsync(keys.FleetSteps, dayAgo, to);
        batch.Execute();
        await Task.WhenAll(samples, ready, steps).ConfigureAwait(false);

        var trend = (await samples).Select(m => ParseSample((string)m!)).OfType<PhaseSample>().ToList();
        var readyTimes = (await ready).Select(e => (At: (long)e.Score, Duration: ParseMilliseconds(((string)e.Element!).Split('|')[0]))).ToList();
        var slowest = (await steps)
            .Select(m => ((string)m!).Split('|'))
            .Where(p => p.Length == 3)
            .GroupBy(p => p[0], StringComparer.Ordinal)
            .Select(g => new StepSummary(g.Key, DurationSummary.Of(g.Select(p => ParseMilliseconds(p[1])))))
            .OrderByDescending(s => s.Durations.P95)
            .ThenBy(s => s.Step, StringComparer.Ordinal)
            .ToList();
        return new FleetHistorySnapshot(
            trend,
            DurationSummary.Of(readyTimes.Where(r => r.At >= dayAgo).Select(r => r.Duration)),
            DurationSummary.Of(readyTimes.Select(r => r.Duration)),
            slowest);
    }

    private static TimeSpan ParseMilliseconds(string text) =>
        TimeSpan.FromMilliseconds(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) ? ms : 0);

    private static PhaseSample? ParseSample(string member)
    {
        var bar = member.IndexOf('|', StringComparison.Ordinal);
        if (bar <= 0 || !long.TryParse(member[..bar], CultureInfo.InvariantCulture, out var minute))
        {
            return null;
        }

        var counts = JsonSerializer.Deserialize(member[(bar + 1)..], StateJsonContext.Default.DictionaryStringInt64) ?? [];
        var phases = counts
            .Select(c => (Ok: StorePhaseExtensions.TryParseWire(c.Key, out var phase), Phase: phase, c.Value))
            .Where(c => c.Ok)
            .ToDictionary(c => c.Phase, c => c.Value);
        return new PhaseSample(DateTimeOffset.FromUnixTimeMilliseconds(minute), phases);
    }
}

using Storefleet.Core.Stores;

namespace Storefleet.Core.Fleet;

/// <summary>
/// What the fleet overview shows over time, kept in the state store (so it works without Prometheus and is the same on
/// every replica): how long stores took from creation to Ready, how long the engine's steps took, and the number of
/// stores in each phase once a minute. Bounded: 7 days of readiness times and phase samples, a day of steps, each capped.
/// </summary>
public interface IFleetHistory
{
    /// <summary>A store reached Ready for the first time, <paramref name="sinceCreation"/> after it was created.</summary>
    Task RecordReadyAsync(DateTimeOffset at, TimeSpan sinceCreation, CancellationToken cancellationToken = default);

    /// <summary>The engine finished a step that did work (not a wait). Sent without waiting for the answer.</summary>
    void RecordStep(DateTimeOffset at, string step, TimeSpan duration);

    /// <summary>
    /// Records the count of stores in each phase for the minute of <paramref name="at"/>; the first replica to sample a
    /// minute wins, later ones change nothing. Returns false when the minute was already sampled.
    /// </summary>
    Task<bool> SamplePhasesAsync(DateTimeOffset at, IReadOnlyDictionary<StorePhase, long> counts, CancellationToken cancellationToken = default);

    /// <summary>The history as of <paramref name="now"/>: phase samples of the last 24 h, readiness over 24 h and 7 d, the slowest steps of 24 h.</summary>
    Task<FleetHistorySnapshot> ReadAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>The number of stores in each phase at <paramref name="At"/> (a minute).</summary>
public sealed record PhaseSample(DateTimeOffset At, IReadOnlyDictionary<StorePhase, long> Counts);

/// <summary><paramref name="Count"/> durations and their median and 95th percentile (null when there are none).</summary>
public sealed record DurationSummary(int Count, TimeSpan? P50, TimeSpan? P95)
{
    public static DurationSummary Of(IEnumerable<TimeSpan> durations)
    {
        var sorted = durations.Order().ToList();
        return new DurationSummary(sorted.Count, Percentile.NearestRank(sorted, 0.50), Percentile.NearestRank(sorted, 0.95));
    }
}

/// <summary>One engine step's durations over the window.</summary>
public sealed record StepSummary(string Step, DurationSummary Durations);

public sealed record FleetHistorySnapshot(
    IReadOnlyList<PhaseSample> Trend,
    DurationSummary ReadyLastDay,
    DurationSummary ReadyLastWeek,
    IReadOnlyList<StepSummary> SlowestSteps);

/// <summary>Percentiles by the nearest-rank method: the smallest value with at least q of the values at or below it.</summary>
public static class Percentile
{
    public static TimeSpan? NearestRank(IReadOnlyList<TimeSpan> sorted, double q)
    {
        if (sorted.Count == 0)
        {
            return null;
        }

        var rank = (int)Math.Ceiling(q * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}

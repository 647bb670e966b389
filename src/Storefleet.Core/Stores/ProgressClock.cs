namespace Storefleet.Core.Stores;

/// <summary>
/// How long a store has waited for its current step to make progress — the phase timeout's clock. It
/// counts only time the engine spent watching the store with the cluster reachable: it restarts at every
/// successful step, stops while the cluster is unreachable, and a gap between two looks longer than the
/// engine ever leaves a waiting store alone (the control plane or Redis was down) counts only up to that
/// longest normal gap. So an outage makes work wait; it never fails stores by itself.
/// </summary>
/// <param name="Waited">Waiting time counted up to <paramref name="Since"/>.</param>
/// <param name="Since">When the engine last looked at the waiting store; null while paused (cluster unreachable).</param>
public sealed record ProgressClock(TimeSpan Waited, DateTimeOffset? Since)
{
    /// <summary>A step just made progress: nothing waited yet.</summary>
    public static ProgressClock StartedAt(DateTimeOffset now) => new(TimeSpan.Zero, now);

    /// <summary>The time waited as of <paramref name="now"/>; the span since the last look counts at most <paramref name="maxGap"/>.</summary>
    public TimeSpan WaitedAt(DateTimeOffset now, TimeSpan maxGap)
    {
        if (Since is not { } since)
        {
            return Waited;
        }

        var gap = now - since;
        return Waited + (gap < TimeSpan.Zero ? TimeSpan.Zero : gap > maxGap ? maxGap : gap);
    }

    /// <summary>The engine looked at the waiting store now (with the cluster reachable): count the time since the last look, resume if paused.</summary>
    public ProgressClock Tick(DateTimeOffset now, TimeSpan maxGap) => new(WaitedAt(now, maxGap), now);

    /// <summary>The cluster cannot be reached: the time from now on does not count until the next look that reaches it.</summary>
    public ProgressClock Pause(DateTimeOffset now, TimeSpan maxGap) => new(WaitedAt(now, maxGap), null);
}

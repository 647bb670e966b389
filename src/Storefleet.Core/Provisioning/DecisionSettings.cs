namespace Storefleet.Core.Provisioning;

/// <summary>
/// The time limits the decider applies.
/// <paramref name="PhaseTimeout"/>: how long a step may wait for progress (see <see cref="Stores.ProgressClock"/>).
/// <paramref name="MaxObservationGap"/>: the longest a healthy engine leaves a waiting store unobserved; a longer gap was an outage and counts only this much.
/// <paramref name="StalePendingAfter"/>: a release left pending-* is recovered only once older than this (helm's timeout plus a grace),
/// never while the helm that wrote it may still be running.
/// <paramref name="DegradedAfter"/>: how long workloads of a live store may stay unavailable (a rollout, a restart) before it is Degraded.
/// <paramref name="RepairBackoff"/>: the wait after a drift repair before the next one, doubling with each repair in the last hour.
/// <paramref name="MaxRepairsPerHour"/>: repairs in an hour after which repair pauses (DriftPersistent) until a person retries.
/// <paramref name="DataJobTimeout"/>: how long a step that moves a store's data may take instead of the phase timeout — a
/// restore's safety backup and restore Job, a clone's bootstrap (which restores first): longer than those Jobs' own
/// deadlines, so their own failure, with its reason, is what a person sees.
/// </summary>
public sealed record DecisionSettings(
    TimeSpan PhaseTimeout,
    TimeSpan MaxObservationGap,
    TimeSpan StalePendingAfter,
    TimeSpan? DegradedAfter = null,
    TimeSpan? RepairBackoff = null,
    int MaxRepairsPerHour = 5,
    TimeSpan? DataJobTimeout = null)
{
    public TimeSpan DataTimeout => DataJobTimeout ?? TimeSpan.FromMinutes(150);

    public TimeSpan UnavailableGrace => DegradedAfter ?? TimeSpan.FromSeconds(60);

    public TimeSpan FirstRepairBackoff => RepairBackoff ?? TimeSpan.FromSeconds(30);
}

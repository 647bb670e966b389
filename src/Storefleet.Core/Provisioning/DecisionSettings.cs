namespace Storefleet.Core.Provisioning;

/// <summary>
/// The time limits the decider applies.
/// <paramref name="PhaseTimeout"/>: how long a step may wait for progress (see <see cref="Stores.ProgressClock"/>).
/// <paramref name="MaxObservationGap"/>: the longest a healthy engine leaves a waiting store unobserved; a longer gap was an outage and counts only this much.
/// <paramref name="StalePendingAfter"/>: a release left pending-* is recovered only once older than this (helm's timeout plus a grace),
/// never while the helm that wrote it may still be running.
/// </summary>
public sealed record DecisionSettings(TimeSpan PhaseTimeout, TimeSpan MaxObservationGap, TimeSpan StalePendingAfter);

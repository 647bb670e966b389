using Storefleet.Core.Stores;

namespace Storefleet.Core.Rollouts;

/// <summary>
/// What the conductor knows of one selected store when it advances a rollout (null in the views: the store is gone).
/// <paramref name="AtTarget"/>: its pin for its current generation is the rollout's target chart and application versions,
/// with the values this control plane would install. <paramref name="Runs"/>: the application versions it runs. <paramref name="UpdateFailure"/>: the message of its UpdateFailed
/// condition (its last update was rolled back). <paramref name="Problem"/>: why it is failed or degraded.
/// </summary>
public sealed record RolloutStoreView(
    StorePhase Phase,
    long Generation,
    long ObservedGeneration,
    bool AtTarget,
    string? Chart,
    string? UpdateFailure = null,
    string? Problem = null,
    bool AwaitsPerson = false,
    AppVersions? Runs = null);

/// <summary>An entry of a rollout's timeline; <paramref name="Store"/> names the store it is about, if one.</summary>
public sealed record RolloutEvent(DateTimeOffset Time, string Message, string? Store = null);

/// <summary>
/// One step of a rollout: its next record, the stores whose upgrade must be asked for now (each exactly at
/// <see cref="RolloutStoreResult.BaseGeneration"/>, so asking again after a crash changes nothing), what happened, and
/// when to look again at the latest (the end of a soak).
/// </summary>
public sealed record RolloutStep(Rollout Next, IReadOnlyList<RolloutStoreResult> Requests, IReadOnlyList<RolloutEvent> Events, DateTimeOffset? WakeAt);

/// <summary>
/// Advances a rollout one step from what the stores look like now. Pure, so every rule is table-tested:
/// <code>
/// upgrading stores: gone → Skipped · request not made yet (generation = base) → ask for it · failed → Failed ·
///   engine not on it yet / updating → wait · rolled back (UpdateFailed) → Failed · ready at the target → Succeeded ·
///   ready at another chart → Failed · degraded → Failed
/// running:  canary batch finished with a new failure → Paused · more new failures than the budget → Paused ·
///           batch finished → soak (then its stores must still be ready) → next batch · last batch → Succeeded ·
///           waiting stores of the batch, while fewer than max in flight: gone / not live / waiting for a person → Skipped ·
///           already at the target → Succeeded (untouched) · else → Upgrading
/// paused, aborted: only upgrades already under way are followed to their end
/// </code>
/// </summary>
public static class RolloutPlanner
{
    public static RolloutStep Advance(Rollout rollout, IReadOnlyDictionary<string, RolloutStoreView?> stores, DateTimeOffset now)
    {
        var events = new List<RolloutEvent>();
        var next = rollout;
        foreach (var result in rollout.Stores.Where(s => s.State == RolloutStoreState.Upgrading))
        {
            if (stores.TryGetValue(result.Name, out var view) && Judge(result, view, rollout.Target, now) is { } judged)
            {
                next = next.With(judged);
                events.Add(new RolloutEvent(now, Describe(judged), judged.Name));
            }
        }

        DateTimeOffset? wakeAt = null;
        while (next.State == RolloutState.Running)
        {
            var newFailures = next.Count(RolloutStoreState.Failed) - next.FailuresForgiven;
            var batch = next.Stores.Where(s => s.Batch == next.CurrentBatch).ToList();
            var batchDone = batch.All(s => s.IsFinished);
            if (next.CurrentBatch == 0 && next.Strategy.Canary > 0 && batchDone && newFailures > 0)
            {
                next = Pause(next, $"The canary failed ({Names(next, RolloutStoreState.Failed)}); no other store was touched. See the store's events, fix the cause, then resume (its failure is then accepted) or abort.", now, events);
                break;
            }

            if (next.CurrentBatch == 0 && next.Strategy.Canary > 0 && batchDone && batch.All(s => s.State == RolloutStoreState.Skipped)
                && next.Stores.FirstOrDefault(s => s.State == RolloutStoreState.Waiting) is { } stand)
            {
                // Every canary was skipped (deleted, not live): the next store waiting is the canary instead, so no batch runs untested.
                next = next.With(stand with { Batch = 0 });
                events.Add(new RolloutEvent(now, $"{stand.Name} is the canary instead (no canary store could be upgraded)."));
                continue;
            }

            if (newFailures > next.Strategy.FailureBudget)
            {
                next = Pause(next, $"{newFailures} store(s) failed, more than the failure budget of {next.Strategy.FailureBudget} ({Names(next, RolloutStoreState.Failed)}). Upgrades under way finish; resume to continue (these failures are then accepted) or abort.", now, events);
                break;
            }

            if (!batchDone)
            {
                next = Start(next, batch, stores, now, events);
                var started = next;
                if (started.Stores.Any(s => s.Batch == started.CurrentBatch && !s.IsFinished))
                {
                    break;
                }

                continue; // Every store of the batch was settled without an upgrade (skipped, already there).
            }

            if (next.Strategy.Soak > TimeSpan.Zero && batch.Any(s => s.State == RolloutStoreState.Succeeded))
            {
                if (next.SoakUntil is null)
                {
                    next = next with { SoakUntil = now + next.Strategy.Soak };
                    events.Add(new RolloutEvent(now, $"Batch {next.CurrentBatch + 1} of {next.BatchCount} done; soaking until {now + next.Strategy.Soak:u} before the next one."));
                }

                if (now < next.SoakUntil)
                {
                    wakeAt = next.SoakUntil;
                    break;
                }

                var unwell = batch.Where(s => s.State == RolloutStoreState.Succeeded && stores.TryGetValue(s.Name, out var v) && v is not { Phase: StorePhase.Ready }).ToList();
                if (unwell.Count > 0)
                {
                    foreach (var store in unwell)
                    {
                        var view = stores[store.Name];
                        var failed = view is null or { Phase: StorePhase.Deleting }
                            ? store.Finished(RolloutStoreState.Skipped, "Deleted during the soak after its upgrade.", now)
                            : store.Finished(RolloutStoreState.Failed, $"Not ready at the end of the soak: {view.Problem ?? view.Phase.ToWire()}.", now);
                        next = next.With(failed);
                        events.Add(new RolloutEvent(now, Describe(failed), failed.Name));
                    }

                    continue; // The failure budget is checked again; the soak is over.
                }
            }

            next = next with { CurrentBatch = next.CurrentBatch + 1, SoakUntil = null };
            if (next.CurrentBatch >= next.BatchCount)
            {
                next = next with { State = RolloutState.Succeeded, Reason = Summary(next) };
                events.Add(new RolloutEvent(now, $"Rollout succeeded: {Summary(next)}"));
                break;
            }

            events.Add(new RolloutEvent(now, $"Batch {next.CurrentBatch + 1} of {next.BatchCount} started ({next.Stores.Count(s => s.Batch == next.CurrentBatch)} store(s))."));
        }

        if (next.State == RolloutState.Aborted)
        {
            // Recorded but never asked for (a crash between the two writes): an aborted rollout touches nothing more.
            foreach (var unasked in next.Stores.Where(s => s.State == RolloutStoreState.Upgrading && stores.TryGetValue(s.Name, out var v) && v is not null && v.Generation == s.BaseGeneration).ToList())
            {
                var skipped = unasked.Finished(RolloutStoreState.Skipped, "The rollout was aborted before its upgrade was asked for; not touched.", now);
                next = next.With(skipped);
                events.Add(new RolloutEvent(now, Describe(skipped), skipped.Name));
            }
        }

        // Upgrades are asked for only while it runs: a paused rollout asks for one it recorded once it is resumed.
        var requests = next.State != RolloutState.Running ? [] : next.Stores
            .Where(s => s.State == RolloutStoreState.Upgrading && stores.TryGetValue(s.Name, out var v) && v is not null && v.Generation == s.BaseGeneration)
            .ToList();
        return new RolloutStep(next == rollout ? rollout : next with { UpdatedAt = now }, requests, events, wakeAt);
    }

    /// <summary>The stores the conductor must look at for the next step: those under way, and the current and next batch.</summary>
    public static IReadOnlyList<string> StoresToRead(Rollout rollout) =>
        [.. rollout.Stores.Where(s => s.State == RolloutStoreState.Upgrading
            || (s.Batch == rollout.CurrentBatch && (s.State == RolloutStoreState.Waiting || s.State == RolloutStoreState.Succeeded))
            || (s.Batch == rollout.CurrentBatch + 1 && s.State == RolloutStoreState.Waiting)).Select(s => s.Name)];

    /// <summary>A summary of the counts, e.g. "18 succeeded, 1 failed, 1 skipped of 20".</summary>
    public static string Summary(Rollout rollout) =>
        $"{rollout.Count(RolloutStoreState.Succeeded)} succeeded, {rollout.Count(RolloutStoreState.Failed)} failed, {rollout.Count(RolloutStoreState.Skipped)} skipped of {rollout.Stores.Count}.";

    private static Rollout Start(Rollout rollout, IReadOnlyList<RolloutStoreResult> batch, IReadOnlyDictionary<string, RolloutStoreView?> stores, DateTimeOffset now, List<RolloutEvent> events)
    {
        var inFlight = rollout.Count(RolloutStoreState.Upgrading);
        foreach (var result in batch.Where(s => s.State == RolloutStoreState.Waiting))
        {
            if (!stores.TryGetValue(result.Name, out var view))
            {
                continue;
            }

            RolloutStoreResult? next = view switch
            {
                null or { Phase: StorePhase.Deleting } => result.Finished(RolloutStoreState.Skipped, "Deleted before its turn.", now),
                { AtTarget: true } => result.Finished(RolloutStoreState.Succeeded, $"Already at chart {rollout.Target.ChartVersion}; not touched.", now),
                { Phase: not (StorePhase.Ready or StorePhase.Degraded) } => result.Finished(RolloutStoreState.Skipped, $"It was {view.Phase.ToWire()} when its turn came{(view.Problem is { } p ? $": {p}" : string.Empty)}; not touched.", now),
                { AwaitsPerson: true } => result.Finished(RolloutStoreState.Skipped, $"It waits for a person ({view.UpdateFailure ?? view.Problem ?? "repairs paused"}); not touched. Retry it, then upgrade it on its own.", now),
                { Runs: { } runs } when AppVersionOrder.IsDowngrade(runs, rollout.Target.Apps) => result.Finished(RolloutStoreState.Skipped,
                    $"It runs WordPress {runs.WordPress} and WooCommerce {runs.WooCommerce}, newer than the target's {rollout.Target.Apps.WordPress} and {rollout.Target.Apps.WooCommerce}: migrations are forward-only, so a rollout never moves a store back. Not touched.", now),
                _ when inFlight < rollout.Strategy.MaxInFlight => result with { State = RolloutStoreState.Upgrading, BaseGeneration = view.Generation, From = view.Chart, StartedAt = now },
                _ => null,
            };
            if (next is null)
            {
                continue;
            }

            if (next.State == RolloutStoreState.Upgrading)
            {
                inFlight++;
            }

            rollout = rollout.With(next);
            events.Add(new RolloutEvent(now, Describe(next), next.Name));
        }

        return rollout;
    }

    /// <summary>How an upgrade under way stands now: a finished result, or null while it goes on.</summary>
    private static RolloutStoreResult? Judge(RolloutStoreResult result, RolloutStoreView? view, RolloutTarget target, DateTimeOffset now)
    {
        if (view is null or { Phase: StorePhase.Deleting })
        {
            return result.Finished(RolloutStoreState.Skipped, "Deleted during its upgrade.", now);
        }

        if (view.Generation == result.BaseGeneration && !view.Phase.IsLive())
        {
            return result.Finished(RolloutStoreState.Skipped, $"It was {view.Phase.ToWire()} when its upgrade was to be asked for; not touched.", now);
        }

        if (view.Generation == result.BaseGeneration || (view.ObservedGeneration <= result.BaseGeneration && view.Phase != StorePhase.Failed) || view.Phase == StorePhase.Updating)
        {
            return null;
        }

        return view switch
        {
            { Phase: StorePhase.Failed } => result.Finished(RolloutStoreState.Failed, $"The store failed: {view.Problem ?? "see its events"}", now),
            { UpdateFailure: { } rolledBack } => result.Finished(RolloutStoreState.Failed, rolledBack, now),
            { Phase: StorePhase.Ready, AtTarget: true } => result.Finished(RolloutStoreState.Succeeded, $"Upgraded from chart {result.From ?? "?"} to {target.ChartVersion} in {Seconds(now - (result.StartedAt ?? now))}.", now),
            { Phase: StorePhase.Ready } => result.Finished(RolloutStoreState.Failed,
                $"It was upgraded to chart {view.Chart ?? "?"}, not {target.ChartVersion}: a control-plane replica shipping another chart installed it. Finish the control-plane upgrade, then roll out again.", now),
            { Phase: StorePhase.Degraded } => result.Finished(RolloutStoreState.Failed, $"Degraded after its upgrade: {view.Problem ?? "see its events"}", now),
            _ => null,
        };
    }

    private static Rollout Pause(Rollout rollout, string reason, DateTimeOffset now, List<RolloutEvent> events)
    {
        events.Add(new RolloutEvent(now, $"Paused: {reason}"));
        return rollout with { State = RolloutState.Paused, Reason = reason };
    }

    private static string Describe(RolloutStoreResult result) => result.State switch
    {
        RolloutStoreState.Upgrading => $"Upgrade of {result.Name} started (batch {result.Batch + 1}, from chart {result.From ?? "?"}).",
        RolloutStoreState.Succeeded => $"{result.Name} succeeded: {result.Reason}",
        RolloutStoreState.Failed => $"{result.Name} failed: {result.Reason}",
        _ => $"{result.Name} skipped: {result.Reason}",
    };

    private static string Names(Rollout rollout, RolloutStoreState state)
    {
        var names = rollout.Stores.Where(s => s.State == state).Select(s => s.Name).ToList();
        return names.Count <= 5 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(5))} and {names.Count - 5} more";
    }

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.#} s";
}

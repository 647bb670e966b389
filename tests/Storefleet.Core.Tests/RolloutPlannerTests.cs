using Storefleet.Core.Rollouts;
using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

public sealed class RolloutPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RolloutTarget Target = new("woocommerce", "0.2.0", new AppVersions("6.9.0-php8.3-apache", "10.3.0", "8.4.6"));

    private static Rollout NewRollout(int stores, RolloutStrategy? strategy = null) =>
        Rollout.Create("ro-1", "admin", Target, new RolloutSelection(), strategy ?? RolloutStrategy.Default, [.. Enumerable.Range(1, stores).Select(i => $"s{i:00}")], Now) with { Version = 1 };

    private static RolloutStoreView Outdated(long generation = 3) => new(StorePhase.Ready, generation, generation, AtTarget: false, Chart: "0.1.0");

    private static RolloutStoreView Upgraded(long generation = 4) => new(StorePhase.Ready, generation, generation, AtTarget: true, Chart: "0.2.0");

    private static RolloutStoreView RolledBack(long generation = 5) =>
        new(StorePhase.Degraded, generation, generation, AtTarget: false, Chart: "0.1.0", UpdateFailure: "Upgrading to chart 0.2.0 failed: rolled back.", AwaitsPerson: true);

    private static Dictionary<string, RolloutStoreView?> All(Rollout rollout, Func<string, RolloutStoreView?> view) =>
        rollout.Stores.ToDictionary(s => s.Name, s => view(s.Name));

    [Fact]
    public void Batches_AreTheCanaryThenEqualChunks_OrAPercentOfTheSelection()
    {
        Assert.Equal([1, 5, 5, 5, 4], new RolloutStrategy(1, 5, 0, 4, 0, TimeSpan.Zero).Batches([.. Enumerable.Range(0, 20).Select(i => $"s{i}")]).Select(b => b.Count));
        Assert.Equal([3, 3, 3, 1], new RolloutStrategy(0, 5, 25, 4, 0, TimeSpan.Zero).Batches([.. Enumerable.Range(0, 10).Select(i => $"s{i}")]).Select(b => b.Count));
        Assert.Equal([2], new RolloutStrategy(5, 5, 0, 4, 0, TimeSpan.Zero).Batches(["a", "b"]).Select(b => b.Count));
    }

    [Fact]
    public void TheCanaryStartsAlone_AndItsUpgradeIsAskedForAtTheGenerationRecorded()
    {
        var rollout = NewRollout(20);
        var step = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now);

        var started = Assert.Single(step.Next.Stores, s => s.State == RolloutStoreState.Upgrading);
        Assert.Equal(("s01", 3L, "0.1.0"), (started.Name, started.BaseGeneration, started.From));
        Assert.Equal([started], step.Requests);

        // Asked again after a crash between the two writes: the same request, no second start.
        var again = RolloutPlanner.Advance(step.Next, All(step.Next, _ => Outdated()), Now);
        Assert.Same(step.Next, again.Next);
        Assert.Equal([started], again.Requests);

        // Asked for (generation moved on): no request, it is under way until the store is ready at the target.
        Assert.Empty(RolloutPlanner.Advance(step.Next, All(step.Next, n => n == "s01" ? Outdated(4) with { ObservedGeneration = 3 } : Outdated()), Now).Requests);
    }

    [Fact]
    public void AfterTheCanary_BatchesStart_NeverMoreThanMaxInFlight()
    {
        var rollout = NewRollout(20, RolloutStrategy.Default with { MaxInFlight = 3 });
        var canary = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now).Next;
        var step = RolloutPlanner.Advance(canary, All(canary, n => n == "s01" ? Upgraded() : Outdated()), Now.AddSeconds(10));

        Assert.Equal(RolloutStoreState.Succeeded, step.Next.Stores[0].State);
        Assert.Equal(1, step.Next.CurrentBatch);
        Assert.Equal(["s02", "s03", "s04"], step.Next.Stores.Where(s => s.State == RolloutStoreState.Upgrading).Select(s => s.Name));
        Assert.Contains(step.Events, e => e.Message == "Batch 2 of 5 started (5 store(s)).");
        Assert.Contains(step.Events, e => e.Message == "s01 succeeded: Upgraded from chart 0.1.0 to 0.2.0 in 10 s.");
    }

    [Fact]
    public void AFailedCanary_PausesTheRollout_AndNothingElseStarts_UntilResumed()
    {
        var rollout = NewRollout(20);
        var canary = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now).Next;
        var paused = RolloutPlanner.Advance(canary, All(canary, n => n == "s01" ? RolledBack() : Outdated()), Now).Next;

        Assert.Equal(RolloutState.Paused, paused.State);
        Assert.StartsWith("The canary failed (s01)", paused.Reason, StringComparison.Ordinal);
        Assert.Equal(RolloutStoreState.Failed, paused.Stores[0].State);
        Assert.Equal(19, paused.Count(RolloutStoreState.Waiting));
        Assert.Same(paused, RolloutPlanner.Advance(paused, All(paused, _ => Outdated()), Now).Next);

        var resumed = RolloutPlanner.Advance(paused.Resumed(Now), All(paused, n => n == "s01" ? RolledBack() : Outdated()), Now).Next;
        Assert.Equal(RolloutState.Running, resumed.State);
        Assert.Equal(4, resumed.Count(RolloutStoreState.Upgrading));
    }

    [Fact]
    public void MoreFailuresThanTheBudget_Pause_AndAbortLeavesEveryWaitingStoreUntouched()
    {
        var rollout = NewRollout(10, new RolloutStrategy(0, 5, 0, 5, 2, TimeSpan.Zero));
        var started = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now).Next;
        Assert.Equal(5, started.Count(RolloutStoreState.Upgrading));

        var twoFailed = RolloutPlanner.Advance(started, All(started, n => n is "s01" or "s02" ? RolledBack() : Outdated(4) with { ObservedGeneration = 4, Phase = StorePhase.Updating }), Now).Next;
        Assert.Equal(RolloutState.Running, twoFailed.State);
        var threeFailed = RolloutPlanner.Advance(twoFailed, All(twoFailed, n => n is "s01" or "s02" or "s03" ? RolledBack() : Outdated(4) with { ObservedGeneration = 4, Phase = StorePhase.Updating }), Now).Next;
        Assert.Equal(RolloutState.Paused, threeFailed.State);
        Assert.StartsWith("3 store(s) failed, more than the failure budget of 2", threeFailed.Reason, StringComparison.Ordinal);

        var aborted = threeFailed.Aborted("admin", Now);
        Assert.Equal(RolloutState.Aborted, aborted.State);
        Assert.Equal(5, aborted.Count(RolloutStoreState.Skipped));
        Assert.True(aborted.IsActive, "the two upgrades under way are still followed");
        var finished = RolloutPlanner.Advance(aborted, All(aborted, n => n is "s04" or "s05" ? Upgraded() : RolledBack()), Now).Next;
        Assert.Equal((2, 3, 5), (finished.Count(RolloutStoreState.Succeeded), finished.Count(RolloutStoreState.Failed), finished.Count(RolloutStoreState.Skipped)));
        Assert.False(finished.IsActive);
    }

    [Fact]
    public void StoresThatAreGone_NotLive_WaitingForAPerson_OrAlreadyThere_AreNotTouched()
    {
        var rollout = NewRollout(5, new RolloutStrategy(0, 5, 0, 5, 0, TimeSpan.Zero));
        var views = new Dictionary<string, RolloutStoreView?>
        {
            ["s01"] = null,
            ["s02"] = Outdated() with { Phase = StorePhase.Failed, Problem = "NamespaceLost" },
            ["s03"] = RolledBack(),
            ["s04"] = Upgraded(),
            ["s05"] = Outdated() with { Phase = StorePhase.Deleting },
        };
        var next = RolloutPlanner.Advance(rollout, views, Now).Next;

        Assert.Equal([RolloutStoreState.Skipped, RolloutStoreState.Skipped, RolloutStoreState.Skipped, RolloutStoreState.Succeeded, RolloutStoreState.Skipped], next.Stores.Select(s => s.State));
        Assert.Equal(RolloutState.Succeeded, next.State);
        Assert.Contains("failed when its turn came: NamespaceLost", next.Stores[1].Reason, StringComparison.Ordinal);
        Assert.Contains("not touched", next.Stores[3].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AStoreDeletedOrFailingDuringItsUpgrade_IsReported_AndOneEndingAtAnotherChartFails()
    {
        var rollout = NewRollout(3, new RolloutStrategy(0, 3, 0, 3, 5, TimeSpan.Zero));
        var started = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now).Next;
        var views = new Dictionary<string, RolloutStoreView?>
        {
            ["s01"] = null,
            ["s02"] = Outdated(4) with { Phase = StorePhase.Failed, Problem = "RollbackFailed: the cluster refused it" },
            ["s03"] = Outdated(4) with { Chart = "0.1.5" },
        };
        var next = RolloutPlanner.Advance(started, views, Now).Next;

        Assert.Equal([RolloutStoreState.Skipped, RolloutStoreState.Failed, RolloutStoreState.Failed], next.Stores.Select(s => s.State));
        Assert.Equal("Deleted during its upgrade.", next.Stores[0].Reason);
        Assert.Contains("RollbackFailed", next.Stores[1].Reason, StringComparison.Ordinal);
        Assert.Contains("chart 0.1.5, not 0.2.0", next.Stores[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AFinishedBatchSoaks_ThenItsStoresMustStillBeReady()
    {
        var rollout = NewRollout(4, new RolloutStrategy(0, 2, 0, 2, 0, TimeSpan.FromMinutes(5)));
        var started = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now).Next;
        var soaking = RolloutPlanner.Advance(started, All(started, n => n is "s01" or "s02" ? Upgraded() : Outdated()), Now);
        Assert.Equal((0, Now.AddMinutes(5)), (soaking.Next.CurrentBatch, soaking.Next.SoakUntil));
        Assert.Equal(Now.AddMinutes(5), soaking.WakeAt);
        Assert.Equal(soaking.Next.Stores, RolloutPlanner.Advance(soaking.Next, All(soaking.Next, n => n is "s01" or "s02" ? Upgraded() : Outdated()), Now.AddMinutes(4)).Next.Stores);

        var healthy = RolloutPlanner.Advance(soaking.Next, All(soaking.Next, n => n is "s01" or "s02" ? Upgraded() : Outdated()), Now.AddMinutes(5)).Next;
        Assert.Equal((1, 2), (healthy.CurrentBatch, healthy.Count(RolloutStoreState.Upgrading)));

        var sick = RolloutPlanner.Advance(soaking.Next, All(soaking.Next, n => n == "s01" ? Upgraded() with { Phase = StorePhase.Degraded, Problem = "WordPress unavailable" } : n == "s02" ? Upgraded() : Outdated()), Now.AddMinutes(5)).Next;
        Assert.Equal(RolloutState.Paused, sick.State);
        Assert.Equal("Not ready at the end of the soak: WordPress unavailable.", sick.Stores[0].Reason);
    }

    [Fact]
    public void ResumingAcceptsTheFailuresSoFar_PausingAndAbortingSayWho()
    {
        var rollout = NewRollout(3) with { State = RolloutState.Paused, Stores = [new("s01", 0, RolloutStoreState.Failed), new("s02", 1), new("s03", 1)] };
        Assert.Equal((RolloutState.Running, 1), (rollout.Resumed(Now).State, rollout.Resumed(Now).FailuresForgiven));
        Assert.Equal("Paused by alice.", rollout.Resumed(Now).Paused("alice", Now).Reason);
        Assert.Equal("Aborted by bob.", rollout.Aborted("bob", Now).Reason);
    }

    [Fact]
    public void AStoreRunningNewerVersionsThanTheTarget_IsNeverMovedBack()
    {
        var rollout = NewRollout(2, new RolloutStrategy(0, 2, 0, 2, 0, TimeSpan.Zero));
        var newer = Outdated() with { Runs = new AppVersions("6.9.1-php8.3-apache", "10.3.0", "8.4.6") };
        var older = Outdated() with { Runs = new AppVersions("6.8.3-php8.3-apache", "10.2.2", "8.4.6") };

        var next = RolloutPlanner.Advance(rollout, new Dictionary<string, RolloutStoreView?> { ["s01"] = newer, ["s02"] = older }, Now).Next;

        Assert.Equal(RolloutStoreState.Skipped, next.Stores[0].State);
        Assert.Contains("never moves a store back", next.Stores[0].Reason, StringComparison.Ordinal);
        Assert.Equal(RolloutStoreState.Upgrading, next.Stores[1].State);
        Assert.True(AppVersionOrder.IsDowngrade(new AppVersions("6.8.4-php8.3-apache", "10.2.2", "8.4.6"), new AppVersions("6.8.3-php8.3-apache", "10.2.2", "8.4.6")));
        Assert.True(AppVersionOrder.IsDowngrade(new AppVersions("6.8.3", "10.10.0", "8.4.6"), new AppVersions("6.8.3", "10.9.9", "8.4.6")));
        Assert.False(AppVersionOrder.IsDowngrade(new AppVersions("6.8.3", "10.2.2", "8.4.6"), new AppVersions("6.8.3", "10.2.2", "9.0.0")));
        Assert.False(AppVersionOrder.IsDowngrade(new AppVersions("nightly", "10.2.2", "8.4.6"), new AppVersions("6.8.3", "10.2.2", "8.4.6")));
    }

    [Fact]
    public void AnUpgradeRecordedButNotYetAskedFor_WaitsWhilePaused_AndIsNeverAskedForOnceAborted()
    {
        var rollout = NewRollout(3, new RolloutStrategy(0, 3, 0, 3, 0, TimeSpan.Zero));
        var recorded = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now).Next;
        Assert.Equal(3, recorded.Count(RolloutStoreState.Upgrading));

        var paused = recorded.Paused("admin", Now);
        Assert.Empty(RolloutPlanner.Advance(paused, All(paused, _ => Outdated()), Now).Requests);
        Assert.Equal(3, RolloutPlanner.Advance(paused.Resumed(Now), All(paused, _ => Outdated()), Now).Requests.Count);

        var aborted = RolloutPlanner.Advance(recorded.Aborted("admin", Now), All(recorded, n => n == "s01" ? Outdated(4) with { ObservedGeneration = 3 } : Outdated()), Now);
        Assert.Empty(aborted.Requests);
        Assert.Equal([RolloutStoreState.Upgrading, RolloutStoreState.Skipped, RolloutStoreState.Skipped], aborted.Next.Stores.Select(s => s.State));
    }

    [Fact]
    public void ACanaryThatCouldNotBeUpgraded_IsReplacedByTheNextStore_SoNoBatchRunsUntested()
    {
        var rollout = NewRollout(6);
        var next = RolloutPlanner.Advance(rollout, All(rollout, n => n == "s01" ? null : Outdated()), Now);

        Assert.Equal(RolloutStoreState.Skipped, next.Next.Stores[0].State);
        var canary = Assert.Single(next.Next.Stores, s => s.State == RolloutStoreState.Upgrading);
        Assert.Equal(("s02", 0), (canary.Name, canary.Batch));
        Assert.Equal(0, next.Next.CurrentBatch);
        Assert.Contains(next.Events, e => e.Message.StartsWith("s02 is the canary instead", StringComparison.Ordinal));
    }

    [Fact]
    public void AStoreDeletedDuringTheSoak_IsSkipped_NotCountedAsAFailure()
    {
        var rollout = NewRollout(4, new RolloutStrategy(0, 2, 0, 2, 0, TimeSpan.FromMinutes(5)));
        var started = RolloutPlanner.Advance(rollout, All(rollout, _ => Outdated()), Now).Next;
        var soaking = RolloutPlanner.Advance(started, All(started, n => n is "s01" or "s02" ? Upgraded() : Outdated()), Now).Next;

        var after = RolloutPlanner.Advance(soaking, All(soaking, n => n == "s01" ? null : n == "s02" ? Upgraded() : Outdated()), Now.AddMinutes(5)).Next;

        Assert.Equal(RolloutState.Running, after.State);
        Assert.Equal(RolloutStoreState.Skipped, after.Stores[0].State);
        Assert.Equal(1, after.CurrentBatch);
    }
}

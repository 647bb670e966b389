using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

public class StoreLifecycleTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The full table: every phase × every trigger, with the expected target or null when forbidden.</summary>
    public static TheoryData<StorePhase, StoreTrigger, StorePhase?, StorePhase?> Table()
    {
        var data = new TheoryData<StorePhase, StoreTrigger, StorePhase?, StorePhase?>();
        var expected = new Dictionary<(StorePhase, StoreTrigger), StorePhase>
        {
            [(StorePhase.Requested, StoreTrigger.StartProvisioning)] = StorePhase.Provisioning,
            [(StorePhase.Provisioning, StoreTrigger.InfrastructureReady)] = StorePhase.Bootstrapping,
            [(StorePhase.Bootstrapping, StoreTrigger.BootstrapSucceeded)] = StorePhase.Ready,
            [(StorePhase.Requested, StoreTrigger.Fail)] = StorePhase.Failed,
            [(StorePhase.Provisioning, StoreTrigger.Fail)] = StorePhase.Failed,
            [(StorePhase.Bootstrapping, StoreTrigger.Fail)] = StorePhase.Failed,
            [(StorePhase.Requested, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
            [(StorePhase.Provisioning, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
            [(StorePhase.Bootstrapping, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
            [(StorePhase.Ready, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
            [(StorePhase.Failed, StoreTrigger.RequestDelete)] = StorePhase.Deleting,

            // Day two: health both ways, spec changes, a lost namespace.
            [(StorePhase.Ready, StoreTrigger.Degrade)] = StorePhase.Degraded,
            [(StorePhase.Degraded, StoreTrigger.Recover)] = StorePhase.Ready,
            [(StorePhase.Ready, StoreTrigger.StartUpdate)] = StorePhase.Updating,
            [(StorePhase.Degraded, StoreTrigger.StartUpdate)] = StorePhase.Updating,
            [(StorePhase.Updating, StoreTrigger.UpdateSucceeded)] = StorePhase.Ready,
            [(StorePhase.Updating, StoreTrigger.UpdateRolledBack)] = StorePhase.Degraded,
            [(StorePhase.Updating, StoreTrigger.Fail)] = StorePhase.Failed,
            [(StorePhase.Ready, StoreTrigger.Fail)] = StorePhase.Failed,
            [(StorePhase.Degraded, StoreTrigger.Fail)] = StorePhase.Failed,
            [(StorePhase.Degraded, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
            [(StorePhase.Updating, StoreTrigger.RequestDelete)] = StorePhase.Deleting,

            // Restore in place: from a live store; back to Ready restored, or untouched when its safety backup failed.
            [(StorePhase.Ready, StoreTrigger.StartRestore)] = StorePhase.Restoring,
            [(StorePhase.Degraded, StoreTrigger.StartRestore)] = StorePhase.Restoring,
            [(StorePhase.Restoring, StoreTrigger.RestoreSucceeded)] = StorePhase.Ready,
            [(StorePhase.Restoring, StoreTrigger.RestoreNotStarted)] = StorePhase.Ready,
            [(StorePhase.Restoring, StoreTrigger.Fail)] = StorePhase.Failed,
            [(StorePhase.Restoring, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        };

        foreach (var phase in Enum.GetValues<StorePhase>())
        {
            foreach (var trigger in Enum.GetValues<StoreTrigger>())
            {
                if (phase == StorePhase.Failed && trigger == StoreTrigger.Retry)
                {
                    // Retry resumes where the store failed.
                    data.Add(phase, trigger, StorePhase.Requested, StorePhase.Requested);
                    data.Add(phase, trigger, StorePhase.Provisioning, StorePhase.Provisioning);
                    data.Add(phase, trigger, StorePhase.Bootstrapping, StorePhase.Bootstrapping);
                    data.Add(phase, trigger, StorePhase.Updating, StorePhase.Updating);
                    data.Add(phase, trigger, StorePhase.Restoring, StorePhase.Restoring);
                    // A live store fails only when its namespace is lost: retry provisions it afresh.
                    data.Add(phase, trigger, StorePhase.Ready, StorePhase.Provisioning);
                    data.Add(phase, trigger, StorePhase.Degraded, StorePhase.Provisioning);
                    data.Add(phase, trigger, null, null);
                    data.Add(phase, trigger, StorePhase.Deleting, null);
                    continue;
                }

                if (phase == StorePhase.Failed && trigger == StoreTrigger.StartRestore)
                {
                    // Only a failed restore is restored again (e.g. its safety backup); a store that failed elsewhere is retried first.
                    data.Add(phase, trigger, StorePhase.Restoring, StorePhase.Restoring);
                    data.Add(phase, trigger, StorePhase.Provisioning, null);
                    data.Add(phase, trigger, StorePhase.Ready, null);
                    continue;
                }

                data.Add(phase, trigger, phase == StorePhase.Failed ? StorePhase.Provisioning : null,
                    expected.TryGetValue((phase, trigger), out var to) ? to : null);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void TryMove_EveryPhaseAndTrigger_MatchesTheTable(StorePhase from, StoreTrigger trigger, StorePhase? failedPhase, StorePhase? expected)
    {
        var allowed = StoreLifecycle.TryMove(from, trigger, failedPhase, out var to);

        Assert.Equal(expected is not null, allowed);
        if (expected is not null)
        {
            Assert.Equal(expected, to);
        }
    }

    [Fact]
    public void AllowedMoves_ListsExactlyTheThirtyDesignedMoves()
    {
        Assert.Equal(30, StoreLifecycle.AllowedMoves.Count());
    }

    [Theory]
    [InlineData(StoreTrigger.StartProvisioning)]
    [InlineData(StoreTrigger.InfrastructureReady)]
    [InlineData(StoreTrigger.BootstrapSucceeded)]
    [InlineData(StoreTrigger.Fail)]
    [InlineData(StoreTrigger.Retry)]
    [InlineData(StoreTrigger.RequestDelete)]
    public void Take_FromDeleting_IsForbidden(StoreTrigger trigger)
    {
        var deleting = NewStore() with { Phase = StorePhase.Deleting };

        var error = Assert.Throws<InvalidStoreTransitionException>(() => deleting.Take(trigger, Now, Failure()));

        Assert.Equal(StorePhase.Deleting, error.From);
    }

    [Fact]
    public void Take_Fail_RemembersThePhaseAndTheReason()
    {
        var provisioning = NewStore().Take(StoreTrigger.StartProvisioning, Now);

        var failed = provisioning.Take(StoreTrigger.Fail, Now.AddMinutes(1), Failure());

        Assert.Equal(StorePhase.Failed, failed.Phase);
        Assert.Equal(StorePhase.Provisioning, failed.FailedPhase);
        Assert.Contains(failed.Conditions, c => c.Type == ConditionTypes.Failed && c.Reason == "ImagePullBackOff");
    }

    [Fact]
    public void Take_FailWithoutACondition_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => NewStore().Take(StoreTrigger.Fail, Now));
    }

    [Fact]
    public void Take_RetryAfterBootstrapFailure_ResumesBootstrappingWithANewBootstrapGeneration()
    {
        var failed = NewStore()
            .Take(StoreTrigger.StartProvisioning, Now)
            .Take(StoreTrigger.InfrastructureReady, Now)
            .Take(StoreTrigger.Fail, Now, Failure()) with { Attempts = 3 };

        var retried = failed.Take(StoreTrigger.Retry, Now);

        Assert.Equal(StorePhase.Bootstrapping, retried.Phase);
        Assert.Null(retried.FailedPhase);
        Assert.Equal(failed.BootstrapGeneration + 1, retried.BootstrapGeneration);
        Assert.Equal(0, retried.Attempts);
        Assert.DoesNotContain(retried.Conditions, c => c.Type == ConditionTypes.Failed);
    }

    [Fact]
    public void Take_RetryAfterProvisioningFailure_KeepsTheBootstrapGeneration()
    {
        var failed = NewStore().Take(StoreTrigger.StartProvisioning, Now).Take(StoreTrigger.Fail, Now, Failure());

        var retried = failed.Take(StoreTrigger.Retry, Now);

        Assert.Equal(StorePhase.Provisioning, retried.Phase);
        Assert.Equal(failed.BootstrapGeneration, retried.BootstrapGeneration);
    }

    [Fact]
    public void WithCondition_ReplacesAConditionOfTheSameType()
    {
        var store = NewStore() with { Conditions = [Failure()] };
        var replacement = Failure() with { Reason = "CrashLoopBackOff" };

        var conditions = store.WithCondition(replacement);

        Assert.Equal("CrashLoopBackOff", Assert.Single(conditions).Reason);
    }

    [Theory]
    [InlineData(StorePhase.Requested, true)]
    [InlineData(StorePhase.Provisioning, true)]
    [InlineData(StorePhase.Bootstrapping, true)]
    [InlineData(StorePhase.Deleting, true)]
    [InlineData(StorePhase.Ready, false)]
    [InlineData(StorePhase.Failed, false)]
    public void IsInProgress_IsTrueOnlyWhileWorkIsUnderWay(StorePhase phase, bool expected) =>
        Assert.Equal(expected, phase.IsInProgress());

    [Fact]
    public void WireNames_RoundTripForEveryPhase()
    {
        foreach (var phase in Enum.GetValues<StorePhase>())
        {
            Assert.True(StorePhaseExtensions.TryParseWire(phase.ToWire(), out var parsed));
            Assert.Equal(phase, parsed);
        }

        Assert.False(StorePhaseExtensions.TryParseWire("Ready", out _));
    }

    [Fact]
    public void ARolledBackUpdate_ReturnsToThePinTheStoreServedWith_NotTheOneTheUpdateWasMovingTo()
    {
        var served = new ReleasePin(1, 1, "0.0.9", "olddigest", new AppVersions("6.7", "9.8", "8.0"));
        var ready = NewStore() with { Phase = StorePhase.Ready, Generation = 1, ObservedGeneration = 1, BootstrapGeneration = 1, Pin = served };

        // A plan change pinned by a control plane that ships a newer chart.
        var changed = ready.WithPlan(StorePlan.Medium, Now);
        var moving = new ReleasePin(2, 1, "0.1.0", "newdigest", new AppVersions("6.8", "9.9", "8.0"));
        var updating = changed.Repinned(moving, Now).Take(StoreTrigger.StartUpdate, Now);
        Assert.Equal(served, updating.PreviousPin);

        var rolledBack = updating.RolledBack(new StoreCondition(ConditionTypes.UpdateFailed, false, "UpgradeFailed", "refused", Now), Now);
        Assert.Equal(served with { Generation = rolledBack.Generation }, rolledBack.Pin);
        Assert.Null(rolledBack.PreviousPin);
        Assert.Equal(StorePlan.Small, rolledBack.Spec.Plan);
    }

    [Fact]
    public void ASucceededUpdate_ForgetsThePreviousPin_AndRepinningTheSameGenerationKeepsIt()
    {
        var served = new ReleasePin(1, 1, "0.1.0", "small");
        var ready = NewStore() with { Phase = StorePhase.Ready, Generation = 1, ObservedGeneration = 1, BootstrapGeneration = 1, Pin = served };
        var updating = ready.WithPlan(StorePlan.Medium, Now).Repinned(new ReleasePin(2, 1, "0.1.0", "medium"), Now).Take(StoreTrigger.StartUpdate, Now);

        // Recording application versions on the same generation is no move: what it served with stays remembered.
        var backfilled = updating.Repinned(updating.Pin! with { Apps = new AppVersions("6.8", "9.9", "8.0") }, Now);
        Assert.Equal(served, backfilled.PreviousPin);

        Assert.Null(backfilled.Take(StoreTrigger.UpdateSucceeded, Now).PreviousPin);
    }

    [Fact]
    public void APinForAGenerationChangedAgainBeforeItsUpdateStarted_IsNotTakenForTheServedOne()
    {
        var served = new ReleasePin(1, 1, "0.0.9", "small");
        var ready = NewStore() with { Phase = StorePhase.Ready, Generation = 1, ObservedGeneration = 1, BootstrapGeneration = 1, Pin = served };

        // Pinned for generation 2, then the plan changes again before the update started: generation 3 is pinned next.
        var pinned = ready.WithPlan(StorePlan.Medium, Now).Repinned(new ReleasePin(2, 1, "0.1.0", "medium"), Now);
        var repinned = pinned.WithPlan(StorePlan.Large, Now).Repinned(new ReleasePin(3, 1, "0.1.0", "large"), Now);

        Assert.Equal(served, repinned.PreviousPin);
    }

    [Fact]
    public void APinWhileProvisioning_RemembersNoPreviousPin()
    {
        var provisioning = NewStore() with { Phase = StorePhase.Provisioning, Pin = new ReleasePin(0, 0, "0.0.9", "a") };

        var moved = provisioning.Repinned(new ReleasePin(1, 0, "0.1.0", "b"), Now);

        Assert.Null(moved.PreviousPin);
    }

    [Fact]
    public void AnUpgradeWithOverrides_RunsThem_ARolledBackOneReturnsToWhatServed_AndASucceededOneKeepsThem()
    {
        var ready = NewStore() with { Phase = StorePhase.Ready, Generation = 3, ObservedGeneration = 3, Overrides = new AppOverrides("6.8.3-php8.3-apache", null) };
        var security = new AppOverrides("6.8.4-php8.3-apache", "10.2.3");

        var upgrading = ready.WithUpgradeRequested(Now, snapshot: true, test: true, overrides: security).Take(StoreTrigger.StartUpdate, Now);
        Assert.Equal((4L, security, new UpgradeRun(4, true, true)), (upgrading.Generation, upgrading.Overrides, upgrading.Upgrade));
        Assert.True(upgrading.IsUpgradeWithJob);
        Assert.Equal(new AppVersions("6.8.4-php8.3-apache", "10.2.3", "8.4.6"), new AppVersions("6.8.3-php8.3-apache", "10.2.2", "8.4.6").With(security));

        var rolledBack = upgrading.RolledBack(new StoreCondition(ConditionTypes.UpdateFailed, false, "MigrationFailed", "failed", Now), Now);
        Assert.Equal(ready.Overrides, rolledBack.Overrides);
        Assert.False(rolledBack.IsUpgradeWithJob);

        var upgraded = upgrading.Take(StoreTrigger.UpdateSucceeded, Now);
        Assert.Equal((security, (AppOverrides?)null), (upgraded.Overrides, upgraded.PreviousOverrides));

        // A plan change later keeps them, and a rolled-back plan change too.
        var planChange = upgraded.WithPlan(StorePlan.Medium, Now).Take(StoreTrigger.StartUpdate, Now);
        Assert.Equal(security, planChange.RolledBack(new StoreCondition(ConditionTypes.UpdateFailed, false, "UpgradeFailed", "x", Now), Now).Overrides);
    }

    private static Store NewStore() =>
        Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", Now);

    private static StoreCondition Failure() =>
        new(ConditionTypes.Failed, true, "ImagePullBackOff", "pod wordpress-0 cannot pull image wordpress:6.8", Now);
}

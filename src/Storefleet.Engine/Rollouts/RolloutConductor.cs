using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Rollouts;
using Storefleet.Core.Stores;
using Storefleet.Engine.Fleet;
using Storefleet.Engine.Helm;
using Storefleet.Engine.Reconciling;

namespace Storefleet.Engine.Rollouts;

/// <summary>
/// Advances every active rollout: whichever replica holds a rollout's short lease reads its stores, lets
/// <see cref="RolloutPlanner"/> decide, writes the rollout (checked against its version) and only then asks for the
/// upgrades it started — each exactly at the store's generation recorded in the rollout, so asking again after a crash
/// (kill -9 between the two writes) changes nothing, and no store is ever upgraded twice. The upgrade itself is the
/// engine's ordinary per-store upgrade (pinned to the shipped chart, rolled back if it fails). Wakes on every store or
/// rollout change and at least once a second.
/// </summary>
public sealed partial class RolloutConductor(
    IRolloutRepository rollouts,
    IStoreRepository stores,
    IWorkQueue queue,
    FleetVersions versions,
    EngineInstance instance,
    TimeProvider clock,
    ILogger<RolloutConductor> logger) : BackgroundService
{
    /// <summary>How long a replica keeps the right to advance a rollout without renewing it (renewed at every look).</summary>
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        stores.Changed += OnChanged;
        rollouts.Changed += OnChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    foreach (var id in await rollouts.ActiveIdsAsync(stoppingToken))
                    {
                        if (await rollouts.TryLeaseAsync(id, instance.Id, LeaseTime, stoppingToken))
                        {
                            await AdvanceAsync(id, stoppingToken);
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogAdvanceFailed(logger, e.Message);
                }

                await _wake.WaitAsync(Poll, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the lease lapses and another replica (or this one, restarted) continues.
        }
        finally
        {
            stores.Changed -= OnChanged;
            rollouts.Changed -= OnChanged;
        }
    }

    /// <summary>One step of one rollout (public for tests and the benchmark, which drive it without the background loop).</summary>
    public async Task AdvanceAsync(string id, CancellationToken cancellationToken)
    {
        var rollout = await rollouts.GetAsync(id, cancellationToken);
        if (rollout is null || !rollout.IsActive || StoreEngine.Find(rollout.Target.Engine) is not { } engine)
        {
            return;
        }

        var shipped = versions.Shipped(engine);
        var shipsTarget = shipped.ChartVersion == rollout.Target.ChartVersion && shipped.Apps.With(rollout.Target.Overrides) == rollout.Target.Apps;
        if (!shipsTarget)
        {
            // Never starts a store here; upgrades under way are still judged (from their pins), so an aborted rollout ends.
            if (await RefuseForeignTargetAsync(rollout, shipped, cancellationToken) is not { State: not RolloutState.Running } settled)
            {
                return;
            }

            rollout = settled;
        }

        var views = new Dictionary<string, RolloutStoreView?>(StringComparer.Ordinal);
        foreach (var name in RolloutPlanner.StoresToRead(rollout))
        {
            views[name] = View(await stores.GetAsync(name, cancellationToken), rollout.Target, shipsTarget);
        }

        var step = RolloutPlanner.Advance(rollout, views, clock.GetUtcNow());
        if (!ReferenceEquals(step.Next, rollout) || step.Events.Count > 0)
        {
            if (await rollouts.UpdateAsync(step.Next, step.Events, cancellationToken) is null)
            {
                return; // Changed meanwhile (a person paused it, or another replica): look again at the next wake.
            }
        }

        foreach (var request in step.Requests)
        {
            await RequestUpgradeAsync(rollout, request, cancellationToken);
        }
    }

    /// <summary>
    /// What the planner needs of a store (null: gone). At the target: installed as this control plane would install it for
    /// the rollout's overrides — or, on a replica that ships another chart, pinned to the target's chart and versions.
    /// </summary>
    private RolloutStoreView? View(Store? store, RolloutTarget target, bool shipsTarget) => store is null ? null : new RolloutStoreView(
        store.Phase,
        store.Generation,
        store.ObservedGeneration,
        AtTarget: store.Phase != StorePhase.Deleting && store.Overrides == target.Overrides && (shipsTarget
            ? versions.Standing(store) == VersionStanding.Current
            : store.Pin is { } pin && pin.Generation == store.Generation && pin.ChartVersion == target.ChartVersion && pin.Apps == target.Apps),
        store.Pin?.ChartVersion,
        UpdateFailure: store.Condition(ConditionTypes.UpdateFailed)?.Message,
        Problem: (store.Condition(ConditionTypes.Failed) ?? store.Condition(ConditionTypes.Degraded))?.Message,
        AwaitsPerson: store.AwaitsPerson,
        Runs: store.Pin?.Apps);

    /// <summary>Asks the engine to upgrade the store, once: only while its generation is still the one the rollout recorded.</summary>
    private async Task RequestUpgradeAsync(Rollout rollout, RolloutStoreResult request, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var store = await stores.GetAsync(request.Name, cancellationToken);
            if (store is null || store.Generation != request.BaseGeneration || !store.Phase.IsLive())
            {
                return; // Asked for already (or changed, gone, not live): the planner judges it from what it is.
            }

            var now = clock.GetUtcNow();
            var next = store.WithUpgradeRequested(now, snapshot: store.Pin?.Apps != rollout.Target.Apps, test: rollout.Strategy.HelmTest, overrides: rollout.Target.Overrides);
            var requested = new StoreEvent(now, StoreEventType.SpecChanged, store.Phase,
                $"Upgrade requested by rollout {rollout.Id} (batch {request.Batch + 1} of {rollout.BatchCount}): chart {store.Pin?.ChartVersion ?? "?"} → chart {rollout.Target.ChartVersion} " +
                $"(WordPress {rollout.Target.Apps.WordPress}, WooCommerce {rollout.Target.Apps.WooCommerce}) (generation {next.Generation}).");
            if (await stores.UpdateAsync(next, [requested], cancellationToken: cancellationToken) is UpdateStoreResult.Updated)
            {
                await queue.EnqueueAsync(store.Name, now, cancellationToken);
                return;
            }
        }
    }

    /// <summary>
    /// This replica ships another chart than the rollout's target. An older one leaves the rollout to the newer replicas; a
    /// newer one (the control plane was upgraded after the rollout was created) pauses it, since no store could reach the target.
    /// </summary>
    /// <returns>The rollout as it now stands (paused by this call when this replica is the newer one), or null when it changed meanwhile.</returns>
    private async Task<Rollout?> RefuseForeignTargetAsync(Rollout rollout, ShippedVersion shipped, CancellationToken cancellationToken)
    {
        var newer = ChartVersions.Compare(shipped.ChartVersion, rollout.Target.ChartVersion) > 0
            || (shipped.ChartVersion == rollout.Target.ChartVersion && shipped.Apps.With(rollout.Target.Overrides) != rollout.Target.Apps);
        if (!newer || rollout.State != RolloutState.Running)
        {
            return rollout;
        }

        var now = clock.GetUtcNow();
        var reason = $"This control plane now ships chart {shipped.ChartVersion} (WordPress {shipped.Apps.WordPress}, WooCommerce {shipped.Apps.WooCommerce}); the rollout targets chart {rollout.Target.ChartVersion}, " +
            "which no store can be moved to any more. Abort it and start a new rollout to the shipped version.";
        return await rollouts.UpdateAsync(rollout with { State = RolloutState.Paused, Reason = reason, UpdatedAt = now }, [new RolloutEvent(now, $"Paused: {reason}")], cancellationToken);
    }

    private void OnChanged(string _)
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already woken.
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Advancing rollouts failed (retried within a second): {Reason}")]
    private static partial void LogAdvanceFailed(ILogger logger, string reason);
}

using System.Diagnostics;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Helm;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Takes one leased store as far as it can go now: observe, decide one action (<see cref="ReconcileDecider"/>),
/// do it, record it (an event with its duration, written only while the lease is held), and again —
/// until the store waits on the cluster, fails, finishes, or the lease is lost. Returns when the store
/// should be looked at next (null: not until something changes).
/// <para>
/// Before every cluster write and helm start the lease guard is checked (a worker whose lease may have
/// lapsed never acts); before creating a namespace — the one write that could bring back a store whose
/// record is gone — the lease and the record are read again from Redis in one step.
/// </para>
/// </summary>
public sealed partial class StoreReconciler(
    IStoreRepository repository,
    ClusterConnection cluster,
    StoreClusterActions actions,
    StoreReleases releases,
    EngineActivity activity,
    IReconcileGate gate,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<StoreReconciler> logger)
{
    private const int MaxStepsPerClaim = 16;
    private readonly EngineOptions _options = options.Value;

    private DateTimeOffset Now => clock.GetUtcNow();

    private DecisionSettings Settings => new(_options.PhaseTimeout, _options.MaxObservationGap, _options.StalePendingReleaseAfter);

    public async Task<DateTimeOffset?> ReconcileAsync(Lease lease, ILeaseGuard guard, CancellationToken cancellationToken)
    {
        for (var step = 0; step < MaxStepsPerClaim; step++)
        {
            var store = await repository.GetAsync(lease.Store, cancellationToken);
            if (store is null || store.Phase is StorePhase.Ready or StorePhase.Failed)
            {
                return null;
            }

            var names = StoreClusterNames.For(store.Name, _options.NamespacePrefix);
            if (store.Phase == StorePhase.Requested)
            {
                // The decider's first rule (requested → start) needs no observation: it is taken here, before any cluster call.
                var start = new ReconcileAction.StartProvisioning().Step;
                var started = await WriteAsync(lease, store.Take(StoreTrigger.StartProvisioning, Now),
                    Event(StoreEventType.PhaseChanged, StorePhase.Provisioning, "Provisioning started.", start), cancellationToken);
                activity.Record(new EngineStep(Now, store.Name, lease.Holder, lease.Fence, start, started.ToString(), TimeSpan.Zero));
                if (!ReferenceEquals(started, StepOutcome.Continue))
                {
                    return started.NextDue;
                }

                continue;
            }

            string digest;
            if (store.Phase == StorePhase.Deleting)
            {
                digest = string.Empty;
            }
            else
            {
                switch (PinFor(store, names))
                {
                    case PinDecision.Use use:
                        digest = use.Digest;
                        break;
                    case PinDecision.Write write:
                        // Recorded before helm runs, so every replica installs this generation the same way.
                        var pinned = await repository.UpdateAsync(store with { Pin = write.Pin, UpdatedAt = Now }, write.Moved ? [Event(StoreEventType.Warning, store.Phase, write.Message, "pin")] : [], lease, cancellationToken);
                        if (pinned is UpdateStoreResult.LeaseLost or UpdateStoreResult.NotFound)
                        {
                            return null;
                        }

                        continue;
                    case PinDecision.Skip skip:
                        LogPinnedElsewhere(logger, store.Name, skip.Reason);
                        return Now + _options.ResyncInterval;
                    default:
                        throw new InvalidOperationException("Unknown pin decision.");
                }
            }

            var client = cluster.TryGetClient(out var noCluster);
            if (client is null)
            {
                return await WaitForClusterAsync(store, lease, noCluster, cancellationToken);
            }

            StoreObservation observed;
            try
            {
                observed = await StoreObserver.ObserveAsync(client, store, names, releases.Activity(names), cancellationToken);
                cluster.ReportReachable();
            }
            catch (Exception e) when (KubeErrors.IsUnreachable(e))
            {
                cluster.ReportUnreachable(KubeErrors.Describe(e));
                return await WaitForClusterAsync(store, lease, KubeErrors.Describe(e), cancellationToken);
            }
            catch (Exception e) when (KubeErrors.IsRetryable(e))
            {
                return (await RetryLaterAsync(store, lease, "observe", KubeErrors.Describe(e), cancellationToken)).NextDue;
            }

            var action = ReconcileDecider.Decide(store, observed, digest, Now, Settings);
            await gate.BeforeActionAsync(store.Name, action.Step, cancellationToken);
            var stopwatch = Stopwatch.StartNew();
            var outcome = await ExecuteAsync(new Context(store, names, client, observed, lease, guard), action, cancellationToken);
            activity.Record(new EngineStep(Now, store.Name, lease.Holder, lease.Fence, action.Step, outcome.ToString(), stopwatch.Elapsed));
            if (!ReferenceEquals(outcome, StepOutcome.Continue))
            {
                return outcome.NextDue;
            }
        }

        return Now;
    }

    /// <summary>
    /// An exception no step classified (helm missing or not executable, a bug): counted as a failed attempt of
    /// the store's current step, backed off, shown as a condition, and Failed once the attempts run out.
    /// </summary>
    public async Task<DateTimeOffset?> RecordUnexpectedFailureAsync(Lease lease, ILeaseGuard guard, Exception error, CancellationToken cancellationToken)
    {
        try
        {
            guard.EnsureHeld();
            var store = await repository.GetAsync(lease.Store, cancellationToken);
            if (store is null || store.Phase is StorePhase.Ready or StorePhase.Failed)
            {
                return null;
            }

            return (await RetryLaterAsync(store, lease, "engine", Describe(error), cancellationToken)).NextDue;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Redis unreachable too: the lease lapses and the store is looked at again; nothing is lost.
            LogUnexpectedNotRecorded(logger, lease.Store, e.Message);
            return Now + _options.RetryBaseDelay;
        }
    }

    private async Task<StepOutcome> ExecuteAsync(Context c, ReconcileAction action, CancellationToken ct)
    {
        var store = c.Store;
        try
        {
            if (!action.IsWait && action is not ReconcileAction.Fail)
            {
                c.Guard.EnsureHeld();
            }

            switch (action)
            {
                case ReconcileAction.Nothing:
                    return StepOutcome.Done(null);

                case ReconcileAction.CreateNamespace:
                    return await CreateNamespaceAsync(c, action, ct);

                case ReconcileAction.CreateCredentials:
                    return await StepAsync(c, action, () => StoreClusterActions.CreateCredentialsAsync(c.Client, store, c.Names, ct),
                        $"Credentials Secret {c.Names.CredentialsSecret} created.", ct);

                case ReconcileAction.AwaitPendingRelease pending:
                    return await AwaitPendingReleaseAsync(c, pending, ct);

                case ReconcileAction.RecoverPendingRelease recover:
                    return await RecoverAsync(c, recover, ct);

                case ReconcileAction.InstallOrUpgrade install:
                    return await InstallAsync(c, install, ct);

                case ReconcileAction.AwaitWorkloads wait:
                    return await WaitAsync(c, WorkloadCondition(wait.Workloads), ct);

                case ReconcileAction.MarkInfrastructureReady:
                    return await WriteAsync(c,
                        store.Take(StoreTrigger.InfrastructureReady, Now).With(new StoreCondition(ConditionTypes.WorkloadsReady, true, "Ready", "Deployments, StatefulSets, volumes and pods are ready.", Now), Now),
                        Event(StoreEventType.PhaseChanged, StorePhase.Bootstrapping, "Infrastructure ready; bootstrapping WooCommerce.", action.Step, Now - store.PhaseStartedAt), ct);

                case ReconcileAction.AwaitBootstrap wait:
                    return await WaitAsync(c, new StoreCondition(ConditionTypes.BootstrapComplete, false, wait.Job.Status == BootstrapJobStatus.Absent ? "JobPending" : "Running",
                        wait.Job.Name is null ? "Waiting for the bootstrap Job to be created." : $"Bootstrap Job {wait.Job.Name} is running (installs WordPress, WooCommerce, Storefront, sample products).", Now), ct);

                case ReconcileAction.MarkReady ready:
                    var live = store.Take(StoreTrigger.BootstrapSucceeded, Now) with { Urls = ready.Urls };
                    live = live.With(new StoreCondition(ConditionTypes.BootstrapComplete, true, "Succeeded", "The bootstrap Job succeeded.", Now), Now)
                        .With(new StoreCondition(ConditionTypes.Ready, true, "Ready", ready.Urls is null ? "The store is ready." : $"The store is live at {ready.Urls.Storefront}", Now), Now);
                    return await WriteAsync(c, live,
                        Event(StoreEventType.PhaseChanged, StorePhase.Ready, ready.Urls is null ? "Store is ready." : $"Store is ready: {ready.Urls.Storefront} (admin {ready.Urls.Admin}).", action.Step, Now - store.PhaseStartedAt), ct, done: true);

                case ReconcileAction.AwaitNamespaceRelease wait:
                    return await WaitAsync(c, new StoreCondition(ConditionTypes.Namespace, false, "PreviousNamespaceTerminating",
                        $"A previous store with this name is still being deleted (namespace {c.Names.Namespace} is terminating{Remaining(wait.Termination)}); provisioning continues when it is gone.", Now), ct);

                case ReconcileAction.Fail fail:
                    return await FailAsync(c, fail.Reason, fail.Message, ct);

                case ReconcileAction.UninstallRelease uninstall:
                    return await UninstallAsync(c, uninstall, ct);

                case ReconcileAction.DeleteNamespace:
                    return await StepAsync(c, action, () => StoreClusterActions.DeleteNamespaceAsync(c.Client, c.Names, ct),
                        $"Namespace {c.Names.Namespace} deletion requested.", ct);

                case ReconcileAction.AwaitNamespaceGone gone:
                    return await AwaitNamespaceGoneAsync(c, gone, ct);

                case ReconcileAction.RemoveRecord:
                    return await RemoveAsync(c, ct);

                default:
                    throw new InvalidOperationException($"No executor for {action}.");
            }
        }
        catch (Exception e) when (KubeErrors.IsUnreachable(e))
        {
            cluster.ReportUnreachable(KubeErrors.Describe(e));
            return StepOutcome.Done(await WaitForClusterAsync(store, c.Lease, KubeErrors.Describe(e), ct));
        }
        catch (Exception e) when (KubeErrors.IsRetryable(e))
        {
            return await RetryLaterAsync(store, c.Lease, action.Step, KubeErrors.Describe(e), ct);
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            return await FailAsync(c, "KubernetesRefused", $"The Kubernetes API refused step '{action.Step}': {KubeErrors.Describe(e)}. Check the control plane's permissions and the cluster's policies, then retry.", ct);
        }
    }

    /// <summary>
    /// Creates the namespace — only after reading, in one step, that this worker still holds the lease and the
    /// record (with this uid) still exists and is not being deleted: a late worker never brings a deleted store back.
    /// </summary>
    private async Task<StepOutcome> CreateNamespaceAsync(Context c, ReconcileAction action, CancellationToken ct)
    {
        var current = await repository.GetIfLeasedAsync(c.Lease, ct);
        if (current is null || current.Uid != c.Store.Uid || current.Phase == StorePhase.Deleting)
        {
            LogNamespaceNotCreated(logger, c.Store.Name, current is null ? "the lease or the record is gone" : current.Phase == StorePhase.Deleting ? "deletion was requested" : "the record has another uid");
            return current is null ? StepOutcome.LeaseLost : StepOutcome.Continue;
        }

        return await StepAsync(c, action, () => actions.CreateNamespaceAsync(c.Client, c.Store, c.Names, ct),
            $"Namespace {c.Names.Namespace} created (Pod Security {_options.PodSecurityLevel}).", ct);
    }

    private async Task<StepOutcome> StepAsync(Context c, ReconcileAction action, Func<Task> work, string message, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        await work();
        return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.StepSucceeded, c.Store.Phase, message, action.Step, stopwatch.Elapsed), ct);
    }

    private async Task<StepOutcome> InstallAsync(Context c, ReconcileAction.InstallOrUpgrade install, CancellationToken ct)
    {
        var result = await releases.UpgradeInstallAsync(c.Store, c.Names, install.Digest, c.Guard, ct);
        if (result.Succeeded)
        {
            var verb = install.FirstInstall ? "installed" : "upgraded";
            return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.StepSucceeded, c.Store.Phase,
                $"Helm release {c.Names.Release} {verb} in {c.Names.Namespace} (values digest {install.Digest}).", install.Step, result.Duration), ct);
        }

        await NoteAbandonedAsync(c, ct);
        var summary = StoreReleases.Summarize(result);
        return StoreReleases.IsTerminal(result)
            ? await FailAsync(c, "HelmFailed", $"helm upgrade --install failed and will not succeed by retrying: {summary} Fix the chart or values, then retry.", ct)
            : await RetryLaterAsync(c.Store, c.Lease, install.Step, $"helm upgrade --install failed: {summary}", ct);
    }

    /// <summary>
    /// Our helm run ended without finishing: if it left the release pending, remember that very record — its writer
    /// is dead (we still hold the lease, so nobody else wrote since), and it can be recovered without waiting.
    /// </summary>
    private async Task NoteAbandonedAsync(Context c, CancellationToken ct)
    {
        try
        {
            var release = await StoreObserver.ReleaseAsync(c.Client, c.Names, ct);
            if (release.IsPending && release.RecordUid is { } uid && !c.Guard.Lost())
            {
                releases.RememberAbandoned(c.Names, uid);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Unknown: the record is then recovered only once it is stale.
        }
    }

    private async Task<StepOutcome> AwaitPendingReleaseAsync(Context c, ReconcileAction.AwaitPendingRelease pending, CancellationToken ct)
    {
        var writer = pending.RunningHere ? "a helm process of this control plane is still running on it"
            : pending.Age is { } age ? $"it was written {Describe(age)} ago, so the helm that wrote it may still be running"
            : "its age could not be read";
        var staleIn = pending.Age is { } written ? pending.StaleAfter - written : pending.StaleAfter;
        var condition = new StoreCondition(ConditionTypes.Retrying, false, "HelmOperationInProgress",
            $"Helm release {c.Names.Release} is {Wire(pending.Status)} and {writer}; it is recovered if it is still pending {Describe(pending.StaleAfter)} after it was written.", Now);
        var due = Now + Shorter(_options.ResyncInterval, staleIn > TimeSpan.Zero ? staleIn + TimeSpan.FromMilliseconds(200) : _options.ResyncInterval);
        return await WaitAsync(c, condition, ct, nextDue: due);
    }

    private async Task<StepOutcome> RecoverAsync(Context c, ReconcileAction.RecoverPendingRelease recover, CancellationToken ct)
    {
        var install = recover.Status == ReleaseStatus.PendingInstall;
        var result = install
            ? await releases.UninstallAsync(c.Names, withoutHooks: true, c.Guard, ct)
            : await releases.RollbackAsync(c.Names, c.Guard, ct);
        if (!result.Succeeded)
        {
            await NoteAbandonedAsync(c, ct);
            return await RetryLaterAsync(c.Store, c.Lease, recover.Step, $"recovering the {Wire(recover.Status)} release failed: {StoreReleases.Summarize(result)}", ct);
        }

        releases.ForgetAbandoned(c.Names);
        var what = install ? "uninstalled (without hooks) to install again" : "rolled back to its last deployed revision";
        return await WriteAsync(c, Succeeded(c.Store).Without(ConditionTypes.Retrying, Now), Event(StoreEventType.Warning, c.Store.Phase,
            $"Helm release {c.Names.Release} was left {Wire(recover.Status)} by an interrupted helm (older than {Describe(_options.StalePendingReleaseAfter)}); {what}.", recover.Step, result.Duration), ct);
    }

    private async Task<StepOutcome> UninstallAsync(Context c, ReconcileAction.UninstallRelease uninstall, CancellationToken ct)
    {
        var result = await releases.UninstallAsync(c.Names, uninstall.WithoutHooks, c.Guard, ct);
        if (result.Succeeded)
        {
            return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.StepSucceeded, StorePhase.Deleting,
                $"Helm release {c.Names.Release} uninstalled.", uninstall.Step, result.Duration), ct);
        }

        // Deletion never depends on helm: deleting the namespace removes the release's objects and records too.
        c.Guard.EnsureHeld();
        await StoreClusterActions.DeleteNamespaceAsync(c.Client, c.Names, ct);
        return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.Warning, StorePhase.Deleting,
            $"helm uninstall failed ({StoreReleases.Summarize(result)}); deleting namespace {c.Names.Namespace} removes everything anyway.", uninstall.Step, result.Duration), ct);
    }

    private async Task<StepOutcome> AwaitNamespaceGoneAsync(Context c, ReconcileAction.AwaitNamespaceGone gone, CancellationToken ct)
    {
        var since = gone.Termination?.Since ?? c.Store.PhaseStartedAt;
        var stuck = Now - since > _options.NamespaceStuckAfter;
        var condition = stuck
            ? new StoreCondition(ConditionTypes.Namespace, false, "NamespaceStuckTerminating",
                $"Namespace {c.Names.Namespace} has been terminating since {since:u}{Remaining(gone.Termination)}. Remove what blocks it (finalizers, remaining content); deletion completes when it is gone.", Now)
            : new StoreCondition(ConditionTypes.Namespace, false, "Terminating", $"Waiting for namespace {c.Names.Namespace} to be deleted.", Now);
        var outcome = await WaitAsync(c, condition, ct, StoreEventType.Warning, nextDue: Now + Shorter(_options.ResyncInterval, TimeSpan.FromSeconds(5)));
        return outcome;
    }

    private async Task<StepOutcome> RemoveAsync(Context c, CancellationToken ct)
    {
        var tombstone = Event(StoreEventType.Deleted, StorePhase.Deleting,
            $"Store deleted: release and namespace {c.Names.Namespace} are gone.", "remove-record", Now - c.Store.PhaseStartedAt);
        return await repository.RemoveAsync(c.Store, tombstone, c.Lease, ct) switch
        {
            UpdateStoreResult.LeaseLost => StepOutcome.LeaseLost,
            UpdateStoreResult.VersionConflict => StepOutcome.Continue,
            _ => StepOutcome.Done(null),
        };
    }

    private async Task<StepOutcome> FailAsync(Context c, string reason, string message, CancellationToken ct)
    {
        LogFailed(logger, c.Store.Name, reason, message);
        if (!c.Store.CanTake(StoreTrigger.Fail))
        {
            // Deleting never fails: it keeps trying (with backoff) until the namespace is gone.
            return await RetryLaterAsync(c.Store, c.Lease, reason, message, ct);
        }

        var failed = c.Store.Take(StoreTrigger.Fail, Now, new StoreCondition(ConditionTypes.Failed, true, reason, message, Now));
        return await WriteAsync(c, failed, Event(StoreEventType.StepFailed, c.Store.Phase, message, reason), ct, done: true);
    }

    /// <summary>
    /// Records a condition (and an event when it is news) and waits for the cluster to change. The phase
    /// timeout's clock ticks here (written at most every half resync interval when nothing else changed).
    /// </summary>
    private async Task<StepOutcome> WaitAsync(Context c, StoreCondition condition, CancellationToken ct, StoreEventType eventType = StoreEventType.Warning, DateTimeOffset? nextDue = null)
    {
        var due = nextDue ?? NextLook(c.Store);
        var existing = c.Store.Condition(condition.Type);
        var known = existing is not null && existing.Status == condition.Status && existing.Reason == condition.Reason && existing.Message == condition.Message;
        var tickDue = c.Store.Progress.Since is not { } since || Now - since >= _options.ResyncInterval / 2;
        if (known && !tickDue)
        {
            return StepOutcome.Done(due);
        }

        var isProblem = !known && !condition.Status && condition.Reason is not ("NotReady" or "Running" or "JobPending" or "Terminating" or "HelmOperationInProgress");
        var events = isProblem ? new[] { Event(eventType, c.Store.Phase, condition.Message, condition.Type) } : [];
        var next = known ? c.Store : c.Store.With(condition with { LastTransitionTime = Now }, Now);
        next = next with { Progress = next.Progress.Tick(Now, _options.MaxObservationGap) };
        var written = await repository.UpdateAsync(next, events, c.Lease, ct);
        return written is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(written is UpdateStoreResult.VersionConflict ? Now : due);
    }

    /// <summary>The cluster cannot be reached: the store waits (its phase timeout's clock stops) and says so.</summary>
    private async Task<DateTimeOffset?> WaitForClusterAsync(Store store, Lease lease, string reason, CancellationToken ct)
    {
        var due = Now + _options.ClusterRetryDelay;
        if (store.Condition(ConditionTypes.ClusterReachable) is { Status: false } existing && existing.Message.EndsWith(reason, StringComparison.Ordinal) && store.Progress.Since is null)
        {
            return due;
        }

        var condition = new StoreCondition(ConditionTypes.ClusterReachable, false, "ClusterUnreachable", $"Waiting for the Kubernetes cluster: {reason}", Now);
        var paused = store.With(condition, Now) with { Progress = store.Progress.Pause(Now, _options.MaxObservationGap) };
        var news = store.Condition(ConditionTypes.ClusterReachable)?.Message != condition.Message;
        await repository.UpdateAsync(paused, news ? [Event(StoreEventType.Warning, store.Phase, condition.Message, "cluster")] : [], lease, ct);
        return due;
    }

    private async Task<StepOutcome> RetryLaterAsync(Store store, Lease lease, string step, string message, CancellationToken ct)
    {
        var attempt = store.Attempts + 1;
        if (attempt >= _options.MaxAttempts && store.CanTake(StoreTrigger.Fail))
        {
            var failed = store.Take(StoreTrigger.Fail, Now, new StoreCondition(ConditionTypes.Failed, true, "RetriesExhausted",
                $"Step '{step}' failed {attempt} times; the last error: {message} Check the cluster, then retry.", Now));
            var result = await repository.UpdateAsync(failed, [Event(StoreEventType.StepFailed, store.Phase, failed.Condition(ConditionTypes.Failed)!.Message, step)], lease, ct);
            return result is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(null);
        }

        var delay = Backoff(attempt);
        var retrying = store.WithFailedAttempt(new StoreCondition(ConditionTypes.Retrying, false, step, message, Now), Now);
        var written = await repository.UpdateAsync(retrying,
            [Event(StoreEventType.StepFailed, store.Phase, $"{message} (attempt {attempt}; retrying in {delay.TotalSeconds:0.#} s)", step)], lease, ct);
        return written is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(Now + delay);
    }

    private Task<StepOutcome> WriteAsync(Context c, Store next, StoreEvent storeEvent, CancellationToken ct, bool done = false) =>
        WriteAsync(c.Lease, next, storeEvent, ct, done);

    private async Task<StepOutcome> WriteAsync(Lease lease, Store next, StoreEvent storeEvent, CancellationToken ct, bool done = false)
    {
        var result = await repository.UpdateAsync(next with { UpdatedAt = Now }, [storeEvent], lease, ct);
        return result switch
        {
            UpdateStoreResult.Updated => done ? StepOutcome.Done(null) : StepOutcome.Continue,
            UpdateStoreResult.LeaseLost => StepOutcome.LeaseLost,
            UpdateStoreResult.NotFound => StepOutcome.Done(null),
            _ => StepOutcome.Continue, // changed meanwhile (e.g. delete requested): observe again
        };
    }

    /// <summary>
    /// Which chart and values this store's generation is installed with. The first engine to install a generation
    /// pins its own; afterwards a replica acts only with the pinned digest — except that a store not yet live moves
    /// forward to a newer chart (never back), so a control-plane upgrade does not leave it waiting.
    /// </summary>
    private PinDecision PinFor(Store store, StoreClusterNames names)
    {
        var ours = releases.Target(store, names);
        var pin = store.Pin;
        if (pin is null || pin.Generation != store.Generation || pin.BootstrapGeneration != store.BootstrapGeneration)
        {
            return new PinDecision.Write(ours, $"Release pinned to chart {ours.ChartVersion}, values digest {ours.Digest}.", Moved: false);
        }

        if (pin.Digest == ours.Digest)
        {
            return new PinDecision.Use(pin.Digest);
        }

        return ChartVersions.Compare(ours.ChartVersion, pin.ChartVersion) > 0 && store.Phase is StorePhase.Provisioning or StorePhase.Bootstrapping
            ? new PinDecision.Write(ours, $"Release moved to chart {ours.ChartVersion} (values digest {ours.Digest}) from {pin.ChartVersion} by a newer control plane.", Moved: true)
            : new PinDecision.Skip($"pinned to chart {pin.ChartVersion} (values digest {pin.Digest}); this control plane ships chart {ours.ChartVersion} (digest {ours.Digest})");
    }

    /// <summary>A step succeeded: attempts reset, retry and cluster conditions cleared, the timeout's clock restarted.</summary>
    private Store Succeeded(Store store) =>
        (store with { Attempts = 0 }).Without(ConditionTypes.Retrying, Now).Without(ConditionTypes.ClusterReachable, Now).WithProgress(Now);

    private StoreCondition WorkloadCondition(WorkloadState workloads) =>
        workloads.Problems.Count > 0
            ? new StoreCondition(ConditionTypes.WorkloadsReady, false, workloads.Problems[0].Reason, string.Join(" ", workloads.Problems.Select(p => p.Message)), Now)
            : new StoreCondition(ConditionTypes.WorkloadsReady, false, "NotReady", $"Waiting for workloads: {workloads.Summary}.", Now);

    /// <summary>The next look: at the resync interval, or sooner when the phase timeout would be reached.</summary>
    private DateTimeOffset NextLook(Store store)
    {
        var left = _options.PhaseTimeout - store.Progress.WaitedAt(Now, _options.MaxObservationGap);
        var timeout = Now + (left > TimeSpan.Zero ? left : TimeSpan.Zero) + TimeSpan.FromMilliseconds(100);
        var resync = Now + _options.ResyncInterval;
        return timeout < resync ? timeout : resync;
    }

    private TimeSpan Backoff(int attempt)
    {
        var exponential = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20));
        var capped = Math.Min(exponential, _options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    private StoreEvent Event(StoreEventType type, StorePhase phase, string message, string step, TimeSpan? duration = null) =>
        new(Now, type, phase, message, duration, step);

    /// <summary>An unexpected error in words a person can act on.</summary>
    private static string Describe(Exception error) => error switch
    {
        System.ComponentModel.Win32Exception w => $"helm could not be started ({w.Message}). Check Storefleet:Engine:HelmPath points at an executable helm 4 binary.",
        FileNotFoundException or DirectoryNotFoundException => $"{error.Message} Check the engine's paths (Storefleet:Engine:HelmPath, ChartsDirectory).",
        UnauthorizedAccessException => $"{error.Message} Check the permissions of the engine's files and directories.",
        _ => $"unexpected error ({error.GetType().Name}: {error.Message}); see the control plane's log.",
    };

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string Describe(TimeSpan span) =>
        span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";

    private static string Remaining(NamespaceTermination? termination) =>
        termination is { Conditions.Count: > 0 } t ? $"; {string.Join("; ", t.Conditions)}" : string.Empty;

    private static string Wire(ReleaseStatus status) => status switch
    {
        ReleaseStatus.PendingInstall => "pending-install",
        ReleaseStatus.PendingUpgrade => "pending-upgrade",
        ReleaseStatus.PendingRollback => "pending-rollback",
        _ => status.ToString().ToLowerInvariant(),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store} failed ({Reason}): {Message}")]
    private static partial void LogFailed(ILogger logger, string store, string reason, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: namespace not created: {Reason}.")]
    private static partial void LogNamespaceNotCreated(ILogger logger, string store, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Store}: left to another replica: {Reason}.")]
    private static partial void LogPinnedElsewhere(ILogger logger, string store, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: an unexpected failure could not be recorded ({Reason}); the store is looked at again.")]
    private static partial void LogUnexpectedNotRecorded(ILogger logger, string store, string reason);

    private sealed record Context(Store Store, StoreClusterNames Names, IKubernetes Client, StoreObservation Observed, Lease Lease, ILeaseGuard Guard);

    private abstract record PinDecision
    {
        public sealed record Use(string Digest) : PinDecision;

        public sealed record Write(ReleasePin Pin, string Message, bool Moved) : PinDecision;

        public sealed record Skip(string Reason) : PinDecision;
    }
}

/// <summary>How a step ended: go on with the next one, stop until <see cref="NextDue"/>, or stop because the lease is gone.</summary>
public sealed record StepOutcome(string Kind, DateTimeOffset? NextDue)
{
    public static StepOutcome Continue { get; } = new("continue", null);

    public static StepOutcome LeaseLost { get; } = new("lease-lost", null);

    public static StepOutcome Done(DateTimeOffset? nextDue) => new("done", nextDue);

    public override string ToString() => Kind;
}

/// <summary>
/// A point between deciding and acting on a store. The engine's default does nothing; tests replace it to
/// pause a worker at a chosen step and drive interleavings of workers deterministically.
/// </summary>
public interface IReconcileGate
{
    Task BeforeActionAsync(string store, string step, CancellationToken cancellationToken);
}

/// <summary>The production gate: no pause.</summary>
public sealed class OpenReconcileGate : IReconcileGate
{
    public Task BeforeActionAsync(string store, string step, CancellationToken cancellationToken) => Task.CompletedTask;
}

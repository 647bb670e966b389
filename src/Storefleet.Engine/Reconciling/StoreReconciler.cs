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
/// </summary>
public sealed partial class StoreReconciler(
    IStoreRepository repository,
    ClusterConnection cluster,
    StoreClusterActions actions,
    StoreReleases releases,
    EngineActivity activity,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<StoreReconciler> logger)
{
    private const int MaxStepsPerClaim = 16;
    private readonly EngineOptions _options = options.Value;

    private DateTimeOffset Now => clock.GetUtcNow();

    public async Task<DateTimeOffset?> ReconcileAsync(Lease lease, CancellationToken cancellationToken)
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

            var client = cluster.TryGetClient(out var noCluster);
            if (client is null)
            {
                return await WaitForClusterAsync(store, lease, noCluster, cancellationToken);
            }

            StoreObservation observed;
            try
            {
                observed = await StoreObserver.ObserveAsync(client, store, names, cancellationToken);
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

            var digest = store.Phase == StorePhase.Deleting ? string.Empty : releases.Digest(store, names);
            var action = ReconcileDecider.Decide(store, observed, digest, Now, _options.PhaseTimeout);
            var stopwatch = Stopwatch.StartNew();
            var outcome = await ExecuteAsync(new Context(store, names, client, observed, lease), action, cancellationToken);
            activity.Record(new EngineStep(Now, store.Name, lease.Holder, lease.Fence, action.Step, outcome.ToString(), stopwatch.Elapsed));
            if (!ReferenceEquals(outcome, StepOutcome.Continue))
            {
                return outcome.NextDue;
            }
        }

        return Now;
    }

    private async Task<StepOutcome> ExecuteAsync(Context c, ReconcileAction action, CancellationToken ct)
    {
        var store = c.Store;
        try
        {
            switch (action)
            {
                case ReconcileAction.Nothing:
                    return StepOutcome.Done(null);

                case ReconcileAction.CreateNamespace:
                    return await StepAsync(c, action, () => actions.CreateNamespaceAsync(c.Client, store.Name, c.Names, ct),
                        $"Namespace {c.Names.Namespace} created (Pod Security {_options.PodSecurityLevel}).", ct);

                case ReconcileAction.CreateCredentials:
                    return await StepAsync(c, action, () => StoreClusterActions.CreateCredentialsAsync(c.Client, store.Name, c.Names, ct),
                        $"Credentials Secret {c.Names.CredentialsSecret} created.", ct);

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

    private async Task<StepOutcome> StepAsync(Context c, ReconcileAction action, Func<Task> work, string message, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        await work();
        return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.StepSucceeded, c.Store.Phase, message, action.Step, stopwatch.Elapsed), ct);
    }

    private async Task<StepOutcome> InstallAsync(Context c, ReconcileAction.InstallOrUpgrade install, CancellationToken ct)
    {
        var result = await releases.UpgradeInstallAsync(c.Store, c.Names, install.Digest, ct);
        if (result.Succeeded)
        {
            var verb = install.FirstInstall ? "installed" : "upgraded";
            return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.StepSucceeded, c.Store.Phase,
                $"Helm release {c.Names.Release} {verb} in {c.Names.Namespace} (values digest {install.Digest}).", install.Step, result.Duration), ct);
        }

        var summary = StoreReleases.Summarize(result);
        return StoreReleases.IsTerminal(result)
            ? await FailAsync(c, "HelmFailed", $"helm upgrade --install failed and will not succeed by retrying: {summary} Fix the chart or values, then retry.", ct)
            : await RetryLaterAsync(c.Store, c.Lease, install.Step, $"helm upgrade --install failed: {summary}", ct);
    }

    private async Task<StepOutcome> RecoverAsync(Context c, ReconcileAction.RecoverPendingRelease recover, CancellationToken ct)
    {
        var install = recover.Status == ReleaseStatus.PendingInstall;
        var result = install
            ? await releases.UninstallAsync(c.Names, withoutHooks: true, ct)
            : await releases.RollbackAsync(c.Names, ct);
        if (!result.Succeeded)
        {
            return await RetryLaterAsync(c.Store, c.Lease, recover.Step, $"recovering the {Wire(recover.Status)} release failed: {StoreReleases.Summarize(result)}", ct);
        }

        var what = install ? "uninstalled (without hooks) to install again" : "rolled back to its last deployed revision";
        return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.Warning, c.Store.Phase,
            $"Helm release {c.Names.Release} was left {Wire(recover.Status)} by an interrupted helm; {what}.", recover.Step, result.Duration), ct);
    }

    private async Task<StepOutcome> UninstallAsync(Context c, ReconcileAction.UninstallRelease uninstall, CancellationToken ct)
    {
        var result = await releases.UninstallAsync(c.Names, uninstall.WithoutHooks, ct);
        if (result.Succeeded)
        {
            return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.StepSucceeded, StorePhase.Deleting,
                $"Helm release {c.Names.Release} uninstalled.", uninstall.Step, result.Duration), ct);
        }

        // Deletion never depends on helm: deleting the namespace removes the release's objects and records too.
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

    /// <summary>Records a condition (and an event when it is news) and waits for the cluster to change.</summary>
    private async Task<StepOutcome> WaitAsync(Context c, StoreCondition condition, CancellationToken ct, StoreEventType eventType = StoreEventType.Warning, DateTimeOffset? nextDue = null)
    {
        var due = nextDue ?? NextLook(c.Store);
        var existing = c.Store.Condition(condition.Type);
        if (existing is not null && existing.Status == condition.Status && existing.Reason == condition.Reason && existing.Message == condition.Message)
        {
            return StepOutcome.Done(due);
        }

        var isProblem = !condition.Status && condition.Reason is not ("NotReady" or "Running" or "JobPending" or "Terminating");
        var events = isProblem ? new[] { Event(eventType, c.Store.Phase, condition.Message, condition.Type) } : [];
        var written = await repository.UpdateAsync(c.Store.With(condition with { LastTransitionTime = Now }, Now), events, c.Lease, ct);
        return written is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(written is UpdateStoreResult.VersionConflict ? Now : due);
    }

    private async Task<DateTimeOffset?> WaitForClusterAsync(Store store, Lease lease, string reason, CancellationToken ct)
    {
        var due = Now + _options.ClusterRetryDelay;
        if (store.Condition(ConditionTypes.ClusterReachable) is { Status: false } existing && existing.Message == reason)
        {
            return due;
        }

        var condition = new StoreCondition(ConditionTypes.ClusterReachable, false, "ClusterUnreachable", $"Waiting for the Kubernetes cluster: {reason}", Now);
        await repository.UpdateAsync(store.With(condition, Now), [Event(StoreEventType.Warning, store.Phase, condition.Message, "cluster")], lease, ct);
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

    /// <summary>A step succeeded: attempts reset, retry and cluster conditions cleared.</summary>
    private Store Succeeded(Store store) =>
        (store with { Attempts = 0 }).Without(ConditionTypes.Retrying, Now).Without(ConditionTypes.ClusterReachable, Now);

    private StoreCondition WorkloadCondition(WorkloadState workloads) =>
        workloads.Problems.Count > 0
            ? new StoreCondition(ConditionTypes.WorkloadsReady, false, workloads.Problems[0].Reason, string.Join(" ", workloads.Problems.Select(p => p.Message)), Now)
            : new StoreCondition(ConditionTypes.WorkloadsReady, false, "NotReady", $"Waiting for workloads: {workloads.Summary}.", Now);

    private DateTimeOffset NextLook(Store store)
    {
        var timeout = store.PhaseStartedAt + _options.PhaseTimeout + TimeSpan.FromMilliseconds(100);
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

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;

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

    private sealed record Context(Store Store, StoreClusterNames Names, IKubernetes Client, StoreObservation Observed, Lease Lease);
}

/// <summary>How a step ended: go on with the next one, stop until <see cref="NextDue"/>, or stop because the lease is gone.</summary>
public sealed record StepOutcome(string Kind, DateTimeOffset? NextDue)
{
    public static StepOutcome Continue { get; } = new("continue", null);

    public static StepOutcome LeaseLost { get; } = new("lease-lost", null);

    public static StepOutcome Done(DateTimeOffset? nextDue) => new("done", nextDue);

    public override string ToString() => Kind;
}

using Storefleet.Core.Stores;

namespace Storefleet.Core.Provisioning;

/// <summary>
/// Observe, then decide one action — first match wins (the shape of Flux's helm-controller). Pure:
/// the same record and observation always give the same action, so every rule is table-tested.
/// <code>
/// Deleting:  release present → uninstall (without hooks if pending-*) · namespace ours → delete it ·
///            terminating → wait · absent (or foreign: never touched) → remove the record
/// Ready, Failed → nothing (a person acts: retry or delete)
/// Requested → start provisioning
/// namespace foreign (or another store's uid) → Failed (NamespaceConflict) · terminating → wait · absent → create
/// credentials absent → create once
/// release pending-*: left by a helm of ours that has ended → recover · its helm may be alive (ours running, or younger than
///   helm's timeout + grace) → wait · else recover
/// release absent, failed or another values digest → helm upgrade --install
/// Provisioning:  workloads ready → Bootstrapping · phase timeout → Failed (the workloads' problem) · else wait
/// Bootstrapping: Job succeeded → Ready · Job failed → Failed (its last log lines) · timeout → Failed · else wait
/// </code>
/// The phase timeout counts the store's <see cref="ProgressClock"/>: waiting time with the cluster reachable,
/// since the last successful step.
/// </summary>
public static class ReconcileDecider
{
    public static ReconcileAction Decide(Store store, StoreObservation observed, string desiredDigest, DateTimeOffset now, DecisionSettings settings)
    {
        var phaseTimeout = settings.PhaseTimeout;
        if (store.Phase == StorePhase.Deleting)
        {
            return DecideDeletion(observed);
        }

        if (store.Phase is StorePhase.Ready or StorePhase.Failed)
        {
            return new ReconcileAction.Nothing();
        }

        if (store.Phase == StorePhase.Requested)
        {
            return new ReconcileAction.StartProvisioning();
        }

        var timedOut = store.Progress.WaitedAt(now, settings.MaxObservationGap) > phaseTimeout;
        switch (observed.Namespace)
        {
            case NamespaceState.Foreign when observed.ForeignUid is { } other:
                return new ReconcileAction.Fail("NamespaceConflict",
                    $"The namespace for store '{store.Name}' belongs to an earlier store of the same name (uid {other}), with its database, files and " +
                    "administrator password; it is never adopted. If that store is gone for good, delete the namespace (it is listed under GET /api/v1/orphans), " +
                    "then retry — or delete this store and choose another name.");
            case NamespaceState.Foreign:
                return new ReconcileAction.Fail("NamespaceConflict",
                    $"Namespace for store '{store.Name}' already exists and was not created by Storefleet; it is never adopted. " +
                    "Delete or rename that namespace, then retry the store — or delete the store and choose another name.");
            case NamespaceState.Terminating when timedOut:
                return new ReconcileAction.Fail("NamespaceTerminating",
                    $"A previous namespace for store '{store.Name}' has been terminating for longer than {Describe(phaseTimeout)}" +
                    $"{Remaining(observed.Termination)}. Remove what blocks it (see the conditions), then retry.");
            case NamespaceState.Terminating:
                return new ReconcileAction.AwaitNamespaceRelease(observed.Termination);
            case NamespaceState.Absent:
                return new ReconcileAction.CreateNamespace();
        }

        if (!observed.CredentialsPresent)
        {
            return new ReconcileAction.CreateCredentials();
        }

        if (observed.Release.IsPending)
        {
            var release = observed.Release;
            var writerMayBeAlive = !observed.AbandonedHere && (observed.HelmRunningHere || release.Age is not { } age || age < settings.StalePendingAfter);
            return writerMayBeAlive
                ? new ReconcileAction.AwaitPendingRelease(release.Status, release.Age, settings.StalePendingAfter, observed.HelmRunningHere)
                : new ReconcileAction.RecoverPendingRelease(release.Status);
        }

        if (observed.Release.Status != ReleaseStatus.Deployed || observed.Release.Digest != desiredDigest)
        {
            return new ReconcileAction.InstallOrUpgrade(desiredDigest, observed.Release.Status == ReleaseStatus.Absent);
        }

        return store.Phase == StorePhase.Provisioning
            ? DecideInfrastructure(observed.Workloads, timedOut, phaseTimeout)
            : DecideBootstrap(observed, timedOut, phaseTimeout);
    }

    private static ReconcileAction DecideDeletion(StoreObservation observed)
    {
        if (observed.Namespace is NamespaceState.Ours && observed.Release.Status != ReleaseStatus.Absent)
        {
            return new ReconcileAction.UninstallRelease(WithoutHooks: observed.Release.IsPending || observed.Release.Status == ReleaseStatus.Uninstalling);
        }

        return observed.Namespace switch
        {
            NamespaceState.Ours => new ReconcileAction.DeleteNamespace(),
            NamespaceState.Terminating => new ReconcileAction.AwaitNamespaceGone(observed.Termination),
            _ => new ReconcileAction.RemoveRecord(),
        };
    }

    private static ReconcileAction DecideInfrastructure(WorkloadState workloads, bool timedOut, TimeSpan phaseTimeout)
    {
        if (workloads.Ready)
        {
            return new ReconcileAction.MarkInfrastructureReady();
        }

        if (!timedOut)
        {
            return new ReconcileAction.AwaitWorkloads(workloads);
        }

        var problem = workloads.Problems.Count > 0 ? workloads.Problems[0] : null;
        return problem is null
            ? new ReconcileAction.Fail("InfrastructureTimeout", $"The store's workloads were not ready after {Describe(phaseTimeout)} ({workloads.Summary}). Check the cluster's capacity and events, then retry.")
            : new ReconcileAction.Fail(problem.Reason, $"{problem.Message} The workloads were not ready after {Describe(phaseTimeout)}. Fix the cause, then retry.");
    }

    private static ReconcileAction DecideBootstrap(StoreObservation observed, bool timedOut, TimeSpan phaseTimeout)
    {
        var job = observed.Bootstrap;
        switch (job.Status)
        {
            case BootstrapJobStatus.Succeeded:
                return new ReconcileAction.MarkReady(observed.Urls);
            case BootstrapJobStatus.Failed:
                var lines = job.LastLogLines is { Count: > 0 } l ? $" Last log lines:\n{string.Join('\n', l)}" : string.Empty;
                return new ReconcileAction.Fail("BootstrapFailed",
                    $"The bootstrap Job {job.Name} failed ({job.Reason ?? "failed"}); the infrastructure is untouched. Retry re-runs only the bootstrap.{lines}");
            case var _ when timedOut:
                return new ReconcileAction.Fail("BootstrapTimeout",
                    $"The bootstrap Job {job.Name ?? "(not created)"} did not finish within {Describe(phaseTimeout)}. Check its logs, then retry.");
            default:
                return new ReconcileAction.AwaitBootstrap(job);
        }
    }

    private static string Remaining(NamespaceTermination? termination) =>
        termination is { Conditions.Count: > 0 } t ? $" ({string.Join("; ", t.Conditions)})" : string.Empty;

    private static string Describe(TimeSpan span) =>
        span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";
}

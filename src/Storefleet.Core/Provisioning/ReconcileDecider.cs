using Storefleet.Core.Pool;
using Storefleet.Core.Stores;

namespace Storefleet.Core.Provisioning;

/// <summary>
/// Observe, then decide one action — first match wins (the shape of Flux's helm-controller). Pure:
/// the same record and observation always give the same action, so every rule is table-tested.
/// <code>
/// Deleting:  release present → uninstall (without hooks if pending-*) · namespace ours → delete it ·
///            terminating → wait · absent (or foreign: never touched) → remove the record
/// Failed → nothing (a person acts: retry or delete)
/// Ready, Degraded (live, observed from watch caches):
///   namespace gone, terminating or another store's → Failed (NamespaceLost: its data is gone)
///   spec changed (generation ahead of observedGeneration) → Updating
///   release pending-* → wait or recover, as below
///   drift (objects deleted or written by another manager, namespace labels, release rolled back by hand) →
///     paused (DriftPersistent) → leave it · repairs this hour at the limit → pause · within backoff → wait · else repair
///   a health problem (at once, or unavailable longer than the grace) → Degraded naming it · none → Ready
/// Requested → start provisioning (claiming a warm-pool member when one of its plan is idle)
/// Claimed member: adopt (its record removed, namespace relabelled, credentials replaced) → personalise (the release
///   upgraded with the store's values, the bootstrap personalises WordPress) → Ready · a failure while personalising →
///   abandon the claim → discard the member (uninstall, delete its namespace) → provision from scratch
/// namespace foreign (or another store's uid) → Failed (NamespaceConflict) · terminating → wait · absent → create
/// credentials absent → create once
/// release pending-*: left by a helm of ours that has ended → recover · its helm may be alive (ours running, or younger than
///   helm's timeout + grace) → wait · else recover
/// release absent, failed or another values digest → helm upgrade --install
/// Provisioning:  workloads ready → Bootstrapping · phase timeout → Failed (the workloads' problem) · else wait
/// Bootstrapping: Job succeeded → Ready · Job failed → Failed (its last log lines) · timeout → Failed · else wait
/// Updating:      a rollback restoring its snapshot → finish it · the upgrade Job failed → roll back ·
///                workloads ready → volumes below the plan → grow them · upgrade Job not done → wait (timeout → roll back) ·
///                upgrade Job done, helm test asked for → run it (passed → Ready, failed → roll back) ·
///                else Ready (the new plan or chart) · phase timeout → roll back to the previous revision (Degraded, UpdateFailed) · else wait
/// Restoring:     namespace lost → Failed · safety backup: absent → start it · failed or timed out → Ready, untouched
///                (RestoreNotStarted) · done → record its snapshot · restore (WordPress at zero, the restore Job in the
///                release's values): Job done → restart · failed or timed out → Failed naming the safety backup ·
///                restart (WordPress back): workloads ready → helm test (passed → Ready, failed → Failed) · timeout → Failed
/// </code>
/// The phase timeout counts the store's <see cref="ProgressClock"/>: waiting time with the cluster reachable,
/// since the last successful step.
/// </summary>
public static class ReconcileDecider
{
    public static ReconcileAction Decide(Store store, StoreObservation observed, string desiredDigest, DateTimeOffset now, DecisionSettings settings)
    {
        // A claimed warm-pool member is made the store's before anything else (also when its deletion was asked for
        // meanwhile: only then is its namespace the store's to delete).
        if (store.Claim is { Stage: PoolClaimStage.Adopt } adopting && store.Phase is StorePhase.Provisioning or StorePhase.Deleting)
        {
            return new ReconcileAction.AdoptPoolMember(adopting.Member);
        }

        if (store.Claim is { Stage: PoolClaimStage.Discard } discarding && store.Phase is StorePhase.Provisioning or StorePhase.Bootstrapping)
        {
            return new ReconcileAction.DiscardPoolMember(discarding.Member);
        }

        var action = DecideStore(store, observed, desiredDigest, now, settings);
        // Personalising a member that cannot succeed: it is discarded and the store provisioned from scratch instead of failing.
        return action is ReconcileAction.Fail failure && store.Claim is { Stage: PoolClaimStage.Personalise } claim && store.Phase is StorePhase.Provisioning or StorePhase.Bootstrapping
            ? new ReconcileAction.AbandonClaim(claim.Member, failure.Reason, failure.Message)
            : action;
    }

    private static ReconcileAction DecideStore(Store store, StoreObservation observed, string desiredDigest, DateTimeOffset now, DecisionSettings settings)
    {
        var phaseTimeout = settings.PhaseTimeout;
        if (store.Phase == StorePhase.Deleting)
        {
            return DecideDeletion(observed);
        }

        if (store.Phase == StorePhase.Failed)
        {
            return new ReconcileAction.Nothing();
        }

        if (store.Phase.IsLive())
        {
            return DecideLive(store, observed, desiredDigest, now, settings);
        }

        if (store.Phase == StorePhase.Requested)
        {
            return new ReconcileAction.StartProvisioning();
        }

        var timedOut = store.Progress.WaitedAt(now, settings.MaxObservationGap) > phaseTimeout;
        if (store.Phase is StorePhase.Updating or StorePhase.Restoring && observed.Namespace != NamespaceState.Ours)
        {
            return NamespaceLost(store, observed);
        }

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

        // Credentials are created once, while provisioning: creating new ones later would not match the database.
        if (!observed.CredentialsPresent && store.Phase is not (StorePhase.Updating or StorePhase.Restoring))
        {
            return new ReconcileAction.CreateCredentials();
        }

        if (observed.Release.IsPending)
        {
            return DecidePending(observed, settings);
        }

        if (observed.Release.Status != ReleaseStatus.Deployed || observed.Release.Digest != desiredDigest)
        {
            return new ReconcileAction.InstallOrUpgrade(desiredDigest, observed.Release.Status == ReleaseStatus.Absent);
        }

        return store.Phase switch
        {
            StorePhase.Provisioning => DecideInfrastructure(observed.Workloads, timedOut, phaseTimeout),
            StorePhase.Updating => DecideUpdate(store, observed, timedOut, phaseTimeout),
            StorePhase.Restoring => DecideRestore(store, observed, now, settings),
            // A clone's bootstrap restores the source's backup first: it may take as long as a restore.
            _ when store.CloneFrom is not null => DecideBootstrap(observed, store.Progress.WaitedAt(now, settings.MaxObservationGap) > settings.DataTimeout, settings.DataTimeout),
            _ => DecideBootstrap(observed, timedOut, phaseTimeout),
        };
    }

    private static ReconcileAction DecidePending(StoreObservation observed, DecisionSettings settings)
    {
        var release = observed.Release;
        var writerMayBeAlive = !observed.AbandonedHere && (observed.HelmRunningHere || release.Age is not { } age || age < settings.StalePendingAfter);
        return writerMayBeAlive
            ? new ReconcileAction.AwaitPendingRelease(release.Status, release.Age, settings.StalePendingAfter, observed.HelmRunningHere)
            : new ReconcileAction.RecoverPendingRelease(release.Status, observed.AbandonedHere);
    }

    /// <summary>A live store: lost, changed, drifted, unhealthy — or fine. Observed from the engine's watch caches.</summary>
    private static ReconcileAction DecideLive(Store store, StoreObservation observed, string desiredDigest, DateTimeOffset now, DecisionSettings settings)
    {
        if (observed.Namespace != NamespaceState.Ours)
        {
            return NamespaceLost(store, observed);
        }

        if (store.Generation != store.ObservedGeneration)
        {
            return new ReconcileAction.StartUpdate();
        }

        if (observed.Release.IsPending)
        {
            return DecidePending(observed, settings);
        }

        var drift = observed.Drift ?? DriftReport.None;
        if (observed.Release.Status != ReleaseStatus.Deployed || observed.Release.Digest != desiredDigest)
        {
            var found = observed.Release.Status == ReleaseStatus.Absent
                ? "the Helm release is gone (uninstalled outside Storefleet)"
                : $"the Helm release is {Wire(observed.Release.Status)} at revision {observed.Release.Revision} with values digest {observed.Release.Digest ?? "none"}, not Storefleet's {desiredDigest}";
            drift = drift with { Release = found };
        }

        if (!drift.IsEmpty && store.Condition(ConditionTypes.DriftPersistent) is not { Status: true })
        {
            var recent = store.Repairs.Where(r => now - r < TimeSpan.FromHours(1)).ToList();
            if (recent.Count >= settings.MaxRepairsPerHour)
            {
                return new ReconcileAction.PauseRepairs(drift, recent.Count);
            }

            if (recent.Count > 0)
            {
                var until = recent[^1] + (settings.FirstRepairBackoff * Math.Pow(2, recent.Count - 1));
                if (until > now)
                {
                    return new ReconcileAction.AwaitRepairBackoff(drift, until);
                }
            }

            return new ReconcileAction.RepairDrift(drift);
        }

        var problems = observed.Health ?? [];
        var counted = problems.FirstOrDefault(p => p.Since is not { } since || now - since >= settings.UnavailableGrace);
        var cause = counted ?? (store.Condition(ConditionTypes.UpdateFailed) is { } failedUpdate
            ? new WorkloadProblem(ConditionTypes.UpdateFailed, failedUpdate.Message)
            : null);
        var current = store.Condition(ConditionTypes.Degraded);
        if (cause is not null)
        {
            return store.Phase == StorePhase.Ready || current is null || current.Reason != cause.Reason || current.Message != cause.Message
                ? new ReconcileAction.MarkDegraded(cause)
                : new ReconcileAction.Nothing();
        }

        if (store.Phase == StorePhase.Degraded)
        {
            return new ReconcileAction.MarkRecovered();
        }

        // A problem within its grace: look again when the grace ends.
        var recheck = problems.Where(p => p.Since is not null).Select(p => p.Since!.Value + settings.UnavailableGrace).DefaultIfEmpty().Min();
        return new ReconcileAction.Nothing(recheck == default ? null : recheck);
    }

    private static ReconcileAction.Fail NamespaceLost(Store store, StoreObservation observed)
    {
        var how = observed.Namespace switch
        {
            NamespaceState.Absent => "was deleted outside Storefleet",
            NamespaceState.Terminating => "is being deleted outside Storefleet",
            _ => observed.ForeignUid is { } other ? $"was replaced by another store's namespace (uid {other})" : "was replaced by a namespace Storefleet did not create",
        };
        return new ReconcileAction.Fail(Store.NamespaceLostReason,
            $"The namespace of store '{store.Name}' {how}: its database, files and credentials are gone with it. " +
            "Retry to provision a fresh, empty store under the same name (restore a backup afterwards if you have one), or delete the store.");
    }

    private static ReconcileAction DecideUpdate(Store store, StoreObservation observed, bool timedOut, TimeSpan phaseTimeout)
    {
        // A rollback that started restoring the snapshot is finished, whatever the upgrade does meanwhile.
        if (observed.Restore is { Started: true } || store.Condition(ConditionTypes.RollingBack) is not null)
        {
            var why = store.Condition(ConditionTypes.RollingBack);
            return new ReconcileAction.RollBack(why?.Reason ?? "UpgradeFailed", why?.Message ?? "The upgrade failed and its snapshot is being restored.");
        }

        var upgradeJob = store.IsUpgradeWithJob ? observed.UpgradeJob ?? BootstrapJobState.Absent : null;
        if (upgradeJob is { Status: BootstrapJobStatus.Failed })
        {
            var lines = upgradeJob.LastLogLines is { Count: > 0 } l ? $" Last log lines:\n{string.Join('\n', l)}" : string.Empty;
            return new ReconcileAction.RollBack("MigrationFailed", $"The upgrade Job {upgradeJob.Name} failed ({upgradeJob.Reason ?? "failed"}).{lines}");
        }

        var workloads = observed.Workloads;
        if (workloads.Ready)
        {
            var grow = PlanChange.Growths(store.Spec.Plan, observed.Volumes ?? []);
            if (grow.Count > 0)
            {
                return new ReconcileAction.GrowVolumes(grow);
            }

            if (upgradeJob is null)
            {
                return new ReconcileAction.MarkUpdated();
            }

            if (upgradeJob is { Status: BootstrapJobStatus.Succeeded })
            {
                return store.Upgrade!.Test ? new ReconcileAction.TestRelease() : new ReconcileAction.MarkUpdated();
            }

            return timedOut
                ? new ReconcileAction.RollBack("MigrationTimeout", $"The upgrade Job {upgradeJob.Name ?? "(not created)"} did not finish within {Describe(phaseTimeout)}.")
                : new ReconcileAction.AwaitUpgradeJob(upgradeJob);
        }

        if (!timedOut)
        {
            return new ReconcileAction.AwaitWorkloads(workloads);
        }

        var problem = workloads.Problems.Count > 0 ? workloads.Problems[0] : null;
        return new ReconcileAction.RollBack(problem?.Reason ?? "UpdateTimeout",
            $"The workloads on plan {store.Spec.Plan.Id} were not ready after {Describe(phaseTimeout)} ({problem?.Message ?? workloads.Summary}).");
    }

    private static ReconcileAction DecideRestore(Store store, StoreObservation observed, DateTimeOffset now, DecisionSettings settings)
    {
        var run = store.Restore ?? throw new InvalidOperationException($"Store '{store.Name}' is restoring without a restore run.");
        // Backing up and restoring data take as long as the data is large; restarting WordPress is a workload like any other.
        var phaseTimeout = run.Stage == RestoreStage.Restart ? settings.PhaseTimeout : settings.DataTimeout;
        var timedOut = store.Progress.WaitedAt(now, settings.MaxObservationGap) > phaseTimeout;
        var job = observed.RestoreStep ?? BootstrapJobState.Absent;
        var lines = job.LastLogLines is { Count: > 0 } l ? $" Last log lines:\n{string.Join('\n', l)}" : string.Empty;
        switch (run.Stage)
        {
            case RestoreStage.SafetyBackup:
                return job.Status switch
                {
                    BootstrapJobStatus.Absent => new ReconcileAction.StartSafetyBackup(run.SafetyBackup!),
                    BootstrapJobStatus.Succeeded => new ReconcileAction.SafetyBackupTaken(job.Name ?? run.SafetyBackup!),
                    BootstrapJobStatus.Failed => new ReconcileAction.AbandonRestore("SafetyBackupFailed",
                        $"The restore of backup {run.Backup} did not start: the safety backup {job.Name} failed ({job.Reason ?? "failed"}). Nothing was changed; " +
                        "the store serves its current data. Fix what the backup names, then restore again."),
                    _ when timedOut => new ReconcileAction.AbandonRestore("SafetyBackupTimeout",
                        $"The restore of backup {run.Backup} did not start: the safety backup {job.Name} did not finish within {Describe(phaseTimeout)}. Nothing was changed; " +
                        "the store serves its current data. Check the backup pod (its events and log), then restore again."),
                    _ => new ReconcileAction.AwaitRestoreStep(run.Stage, job),
                };
            case RestoreStage.Restore:
                return job.Status switch
                {
                    BootstrapJobStatus.Succeeded => new ReconcileAction.RestoreApplied(job.Name!),
                    BootstrapJobStatus.Failed => new ReconcileAction.Fail("RestoreFailed",
                        $"The restore Job {job.Name} of backup {run.Backup} failed ({job.Reason ?? "failed"}); WordPress stays stopped. {run.DescribeSafety(store.Name)}{lines}"),
                    _ when timedOut => new ReconcileAction.Fail("RestoreTimeout",
                        $"The restore Job {job.Name} of backup {run.Backup} did not finish within {Describe(phaseTimeout)}; WordPress stays stopped. {run.DescribeSafety(store.Name)}"),
                    _ => new ReconcileAction.AwaitRestoreStep(run.Stage, job),
                };
            default:
                if (observed.Workloads.Ready)
                {
                    return new ReconcileAction.TestRestore();
                }

                if (!timedOut)
                {
                    return new ReconcileAction.AwaitWorkloads(observed.Workloads);
                }

                var problem = observed.Workloads.Problems.Count > 0 ? observed.Workloads.Problems[0] : null;
                return new ReconcileAction.Fail(problem?.Reason ?? "RestoreTimeout",
                    $"Backup {run.Backup} was restored, but WordPress was not ready after {Describe(phaseTimeout)} ({problem?.Message ?? observed.Workloads.Summary}). {run.DescribeSafety(store.Name)}");
        }
    }

    private static string Wire(ReleaseStatus status) => status switch
    {
        ReleaseStatus.PendingInstall => "pending-install",
        ReleaseStatus.PendingUpgrade => "pending-upgrade",
        ReleaseStatus.PendingRollback => "pending-rollback",
        _ => status.ToString().ToLowerInvariant(),
    };

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

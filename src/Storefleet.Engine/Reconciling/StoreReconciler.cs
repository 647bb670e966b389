using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Backups;
using Storefleet.Engine.Helm;
using Storefleet.Engine.Kubernetes;
using Storefleet.Engine.Watching;

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
    LiveStoreObserver live,
    EngineActivity activity,
    IReconcileGate gate,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<StoreReconciler> logger,
    Backups.BackupSecrets backupSecrets,
    IOptions<Backups.BackupOptions> backupOptions,
    Core.Backups.IBackupRepository backupRecords,
    StoreRestores restores,
    BackupPurges purges,
    Core.Pool.IWarmPoolState pool,
    Fleet.FleetVersions versions,
    Pool.WarmPoolSizes poolSizes,
    Telemetry.StorefleetMetrics? metrics = null,
    Core.Fleet.IFleetHistory? history = null)
{
    private const int MaxStepsPerClaim = 16;

    /// <summary>Members a create tries before it is provisioned from scratch (each unfit one is given back).</summary>
    private const int MaxClaimAttempts = 3;
    private readonly EngineOptions _options = options.Value;

    private DateTimeOffset Now => clock.GetUtcNow();

    private DecisionSettings Settings => new(_options.PhaseTimeout, _options.MaxObservationGap, _options.StalePendingReleaseAfter,
        _options.DegradedAfter, _options.Drift.RepairBackoff, _options.Drift.MaxRepairsPerHour, _options.DataJobTimeout);

    public async Task<DateTimeOffset?> ReconcileAsync(Lease lease, ILeaseGuard guard, CancellationToken cancellationToken)
    {
        for (var step = 0; step < MaxStepsPerClaim; step++)
        {
            var store = await repository.GetAsync(lease.Store, cancellationToken);
            if (store is null || store.Phase == StorePhase.Failed)
            {
                return null;
            }

            var names = StoreClusterNames.For(store, _options.NamespacePrefix);
            if (store.Phase.IsLive() && !live.Ready)
            {
                // Never judge a live store from caches that have not listed yet: everything would look deleted.
                return Now + TimeSpan.FromSeconds(1);
            }

            if (store.Phase == StorePhase.Requested && await ClaimFromPoolAsync(store, lease, cancellationToken) is { } claimed)
            {
                if (!ReferenceEquals(claimed, StepOutcome.Continue))
                {
                    return claimed.NextDue;
                }

                continue;
            }

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
                        var pinned = await repository.UpdateAsync(store.Repinned(write.Pin, Now) with { Upgrade = write.Upgrade ?? store.Upgrade },
                            write.Moved ? [Event(StoreEventType.Warning, store.Phase, write.Message, "pin")] : [], lease, cancellationToken);
                        if (pinned is UpdateStoreResult.LeaseLost or UpdateStoreResult.NotFound)
                        {
                            return null;
                        }

                        continue;
                    case PinDecision.Skip skip when store.Phase.IsLive():
                        // Pinned to another chart (a control-plane upgrade in progress): watched for health here; drift is
                        // repaired only by a control plane that ships the pinned chart.
                        digest = store.Pin!.Digest;
                        break;
                    case PinDecision.Skip skip:
                        LogPinnedElsewhere(logger, store.Name, skip.Reason);
                        return Now + _options.ResyncInterval;
                    default:
                        throw new InvalidOperationException("Unknown pin decision.");
                }
            }

            if (StoreReleases.Restoring(store) is { } restoring)
            {
                // The data is being replaced: the release carries the restore (WordPress stopped, the restore Job) on top of its pin.
                digest = StoreReleases.RestoreDigest(digest, restoring);
            }

            var client = cluster.TryGetClient(out var noCluster);
            if (client is null)
            {
                return await WaitForClusterAsync(store, lease, noCluster, cancellationToken);
            }

            StoreObservation observed;
            try
            {
                if (store.Phase.IsLive() && store.Inventory is null)
                {
                    // A store that went live before inventories existed: record what its release consists of, once.
                    if (!await RecordInventoryAsync(store, lease, client, cancellationToken))
                    {
                        return null;
                    }

                    continue;
                }

                observed = store.Phase.IsLive()
                    ? await ObserveLiveAsync(client, store, names, cancellationToken)
                    : await StoreObserver.ObserveAsync(client, store, names, releases.Activity(names), cancellationToken);
                if (store.Phase == StorePhase.Updating)
                {
                    observed = observed with { Volumes = live.Volumes(names.Namespace) };
                }

                cluster.ReportReachable();
            }
            catch (Exception e) when (e is not OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                // Our own stop (the lease may have lapsed, a deletion, shutdown) broke the request: not the cluster's fault.
                throw new OperationCanceledException("The reconcile was stopped while reading the cluster.", e, cancellationToken);
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
            StepOutcome outcome;
            using (var span = Telemetry.StorefleetTracing.Source.StartActivity(action.Step))
            {
                outcome = await ExecuteAsync(new Context(store, names, client, observed, lease, guard), action, cancellationToken);
                span?.SetTag("storefleet.outcome", outcome.Kind);
            }

            activity.Record(new EngineStep(Now, store.Name, lease.Holder, lease.Fence, action.Step, outcome.ToString(), stopwatch.Elapsed));
            if (!action.IsWait)
            {
                RecordStep(action.Step, stopwatch.Elapsed);
            }
            if (!ReferenceEquals(outcome, StepOutcome.Continue))
            {
                return outcome.NextDue;
            }
        }

        return Now;
    }

    /// <summary>
    /// A live store from the watch caches; only what the caches cannot settle is read from the API server: a namespace
    /// they do not show (gone, or its Storefleet label removed) and a release that looks pending (its age decides).
    /// </summary>
    private async Task<StoreObservation> ObserveLiveAsync(IKubernetes client, Store store, StoreClusterNames names, CancellationToken ct)
    {
        var activity = releases.Activity(names);
        var observed = live.Observe(store, names, activity);
        if (observed.Namespace == NamespaceState.Absent)
        {
            try
            {
                var ns = await client.CoreV1.ReadNamespaceAsync(names.Namespace, cancellationToken: ct);
                observed = live.Observe(store, names, activity, CachedNamespace.From(ns));
            }
            catch (Exception e) when (KubeErrors.IsNotFound(e))
            {
                // Gone indeed.
            }
        }

        if (observed.Release.IsPending)
        {
            var release = await StoreObserver.ReleaseAsync(client, names, ct);
            observed = observed with { Release = release, AbandonedHere = activity.Abandoned(release) };
        }

        return observed;
    }

    /// <summary>Reads the deployed release's inventory and records it; false when the lease or the record is gone.</summary>
    private async Task<bool> RecordInventoryAsync(Store store, Lease lease, IKubernetes client, CancellationToken ct)
    {
        var names = StoreClusterNames.For(store, _options.NamespacePrefix);
        var inventory = await ReleaseManifest.ReadAsync(client, names, ct) ?? new ReleaseInventory([], DateTimeOffset.MinValue, 0);
        var written = await repository.UpdateAsync(store with { Inventory = inventory, UpdatedAt = Now }, [], lease, ct);
        return written is not (UpdateStoreResult.LeaseLost or UpdateStoreResult.NotFound);
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
            if (store is null || store.Phase == StorePhase.Failed)
            {
                return null;
            }

            if (store.Phase.IsLive())
            {
                // A live store never fails for an engine error: it is still served; look again later.
                LogUnexpectedNotRecorded(logger, lease.Store, Describe(error));
                return Now + _options.RetryMaxDelay;
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
                case ReconcileAction.Nothing nothing:
                    return StepOutcome.Done(nothing.RecheckAt ?? (store.Phase.IsLive() ? null : (DateTimeOffset?)null));

                case ReconcileAction.StartUpdate:
                    return await WriteAsync(c, store.Take(StoreTrigger.StartUpdate, Now).WithProgress(Now),
                        Event(StoreEventType.PhaseChanged, StorePhase.Updating, IsUpgrade(store)
                            ? $"Upgrading to chart {store.Pin?.ChartVersion} (generation {store.Generation}; the current release serves meanwhile)."
                            : $"Updating to plan {store.Spec.Plan.Id} (generation {store.Generation}; plan {store.ServingPlan.Id} serves meanwhile).", action.Step), ct);

                case ReconcileAction.RepairDrift repair:
                    return await RepairAsync(c, repair, ct);

                case ReconcileAction.AwaitRepairBackoff backoff:
                    // Quiet: the caches may still be catching up with the last repair; judged again when the backoff ends.
                    return StepOutcome.Done(backoff.Until + TimeSpan.FromMilliseconds(100));

                case ReconcileAction.PauseRepairs pause:
                    return await WriteAsync(c, store.With(new StoreCondition(ConditionTypes.DriftPersistent, true, "RepairsPaused",
                            $"Repaired {pause.Repairs} times in the last hour and drifting again ({pause.Drift.Describe()}); automatic repair is paused.", Now), Now),
                        Event(StoreEventType.Warning, store.Phase,
                            $"Store keeps drifting: {pause.Repairs} repairs in the last hour, and again {pause.Drift.Describe()}. Automatic repair is paused: find what changes the store " +
                            "(the field managers named above), stop it, then retry the store to resume repair.", action.Step), ct, done: true);

                case ReconcileAction.MarkDegraded degraded:
                    return await DegradeAsync(c, degraded.Cause, ct);

                case ReconcileAction.MarkRecovered:
                    return await WriteAsync(c, store.Take(StoreTrigger.Recover, Now),
                        Event(StoreEventType.PhaseChanged, StorePhase.Ready, $"Healthy again (was degraded: {store.Condition(ConditionTypes.Degraded)?.Reason ?? "unknown"}).", action.Step, Now - store.PhaseStartedAt), ct, done: true);

                case ReconcileAction.GrowVolumes grow:
                    return await GrowVolumesAsync(c, grow, ct);

                case ReconcileAction.MarkUpdated:
                    return await MarkUpdatedAsync(c, ct);

                case ReconcileAction.TestRelease:
                    return await TestReleaseAsync(c, ct);

                case ReconcileAction.RollBack rollBack:
                    return await RollBackAsync(c, rollBack.Reason, rollBack.Message, ct);

                case ReconcileAction.StartSafetyBackup safety:
                    return await restores.StartSafetyBackupAsync(new RestoreStepContext(c.Store, c.Names, c.Client, c.Lease), safety, ct) switch
                    {
                        RestoreStepResult.Written written => Outcome(written.Result),
                        RestoreStepResult.Abandon abandon => await AbandonRestoreAsync(c, abandon.Reason, abandon.Message, ct),
                        _ => throw new InvalidOperationException("Unknown restore step result."),
                    };

                case ReconcileAction.AwaitRestoreStep wait:
                    return await WaitAsync(c, RestoreCondition(store, wait), ct);

                case ReconcileAction.SafetyBackupTaken taken:
                    return await restores.SafetyBackupTakenAsync(new RestoreStepContext(c.Store, c.Names, c.Client, c.Lease), taken, ct) switch
                    {
                        RestoreStepResult.Written written => Outcome(written.Result),
                        RestoreStepResult.Abandon abandon => await AbandonRestoreAsync(c, abandon.Reason, abandon.Message, ct),
                        _ => throw new InvalidOperationException("Unknown restore step result."),
                    };

                case ReconcileAction.AbandonRestore abandon:
                    return await AbandonRestoreAsync(c, abandon.Reason, abandon.Message, ct);

                case ReconcileAction.RestoreApplied applied:
                    return await WriteAsync(c, Succeeded(store.WithRestoreStage(RestoreStage.Restart, Now)),
                        Event(StoreEventType.StepSucceeded, store.Phase,
                            $"Backup {store.Restore!.Backup} restored by Job {applied.Job} (database and wp-content replaced); starting WordPress again.", action.Step, Now - store.PhaseStartedAt), ct);

                case ReconcileAction.TestRestore:
                    return await TestRestoreAsync(c, ct);

                case ReconcileAction.AdoptPoolMember adopt:
                    return await AdoptPoolMemberAsync(c, adopt, ct);

                case ReconcileAction.AbandonClaim abandon:
                    return await AbandonClaimAsync(c.Lease, store, abandon.Reason, abandon.Message, ct);

                case ReconcileAction.DiscardPoolMember discard:
                    return await DiscardPoolMemberAsync(c, discard, ct);

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

                case ReconcileAction.AwaitUpgradeJob wait:
                    return await WaitAsync(c, new StoreCondition(ConditionTypes.Migrated, false, wait.Job.Status == BootstrapJobStatus.Absent ? "JobPending" : "Running",
                        wait.Job.Name is null
                            ? "Waiting for the upgrade Job to be created."
                            : $"Upgrade Job {wait.Job.Name} is running ({(store.Upgrade?.Snapshot == true ? "pre-upgrade snapshot, " : string.Empty)}new WordPress core files, database migrations).", Now), ct);

                case ReconcileAction.MarkReady ready:
                    var inventory = await ReleaseManifest.ReadAsync(c.Client, c.Names, ct);
                    var warm = store.Claim is { Stage: Core.Pool.PoolClaimStage.Personalise };
                    var liveStore = store.Take(StoreTrigger.BootstrapSucceeded, Now) with { Urls = ready.Urls, Inventory = inventory, AppliedPlan = store.Spec.Plan, ObservedGeneration = store.Generation };
                    if (warm)
                    {
                        liveStore = liveStore with { Claim = store.Claim! with { Stage = Core.Pool.PoolClaimStage.Done } };
                    }

                    liveStore = liveStore.With(new StoreCondition(ConditionTypes.BootstrapComplete, true, "Succeeded", "The bootstrap Job succeeded.", Now), Now)
                        .With(new StoreCondition(ConditionTypes.Ready, true, "Ready", ready.Urls is null ? "The store is ready." : $"The store is live at {ready.Urls.Storefront}", Now), Now);
                    var readyMessage = ready.Urls is null ? "Store is ready." : $"Store is ready: {ready.Urls.Storefront} (admin {ready.Urls.Admin}).";
                    if (warm)
                    {
                        readyMessage += $" Claimed from the warm pool (member {store.Claim!.Member}) and personalised in {Describe(Now - store.Claim.ClaimedAt)}.";
                    }

                    var readyOutcome = await WriteAsync(c, liveStore,
                        Event(StoreEventType.PhaseChanged, StorePhase.Ready, readyMessage, action.Step, Now - store.PhaseStartedAt), ct, done: true);
                    // Time to Ready is about new stores: a store provisioned again (its namespace was lost) has been live before.
                    if (readyOutcome.Kind == "done" && store.AppliedPlan is null && !store.IsPoolMember)
                    {
                        metrics?.StoreReady(Now - store.CreatedAt, warm);
                        await RecordReadyAsync(Now - store.CreatedAt);
                    }

                    return readyOutcome;

                case ReconcileAction.AwaitNamespaceRelease wait:
                    return await WaitAsync(c, new StoreCondition(ConditionTypes.Namespace, false, "PreviousNamespaceTerminating",
                        $"A previous store with this name is still being deleted (namespace {c.Names.Namespace} is terminating{Remaining(wait.Termination)}); provisioning continues when it is gone.", Now), ct);

                case ReconcileAction.Fail { Reason: "NamespaceLost" } lost:
                    return await FailAsync(c, lost.Reason, lost.Message + await LatestBackupAsync(c.Store, ct), ct);

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
        catch (Exception e) when (e is not OperationCanceledException && ct.IsCancellationRequested)
        {
            // Our own stop (the lease may have lapsed, a deletion, shutdown) broke the request: not the cluster's fault.
            throw new OperationCanceledException($"Step '{action.Step}' was stopped.", e, ct);
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
        if (await CopyBackupSecretsAsync(c, install.Step, ct) is { } missing)
        {
            return missing;
        }

        var result = await HelmAsync(c, () => releases.UpgradeInstallAsync(c.Store, c.Names, install.Digest, c.Guard, ct), ct);
        if (result.Succeeded)
        {
            var verb = install.FirstInstall ? "installed" : "upgraded";
            return await WriteAsync(c, Succeeded(c.Store), Event(StoreEventType.StepSucceeded, c.Store.Phase,
                $"Helm release {c.Names.Release} {verb} in {c.Names.Namespace} (values digest {install.Digest}).", install.Step, result.Duration), ct);
        }

        var summary = StoreReleases.Summarize(result);
        if (c.Store.Phase == StorePhase.Updating && (StoreReleases.IsTerminal(result) || c.Store.Attempts + 1 >= _options.MaxAttempts))
        {
            return await RollBackAsync(c, "UpgradeFailed", $"helm upgrade to {(IsUpgrade(c.Store) ? $"chart {c.Store.Pin?.ChartVersion}" : $"plan {c.Store.Spec.Plan.Id}")} failed: {summary}", ct);
        }

        return StoreReleases.IsTerminal(result)
            ? await FailAsync(c, "HelmFailed", $"helm upgrade --install failed and will not succeed by retrying: {summary} Fix the chart or values, then retry.", ct)
            : await RetryLaterAsync(c.Store, c.Lease, install.Step, $"helm upgrade --install failed: {summary}", ct);
    }

    /// <summary>
    /// With backups configured, the platform's backup Secrets are copied into the namespace before helm runs (the backup
    /// pods mount them). Missing: retried later with what to do (the store is never installed without its backups).
    /// </summary>
    private async Task<StepOutcome?> CopyBackupSecretsAsync(Context c, string step, CancellationToken ct)
    {
        if (!backupOptions.Value.Enabled || c.Store.IsPoolMember)
        {
            return null;
        }

        try
        {
            await backupSecrets.EnsureAsync(c.Client, c.Store.Name, c.Names, ct);
            return null;
        }
        catch (Backups.BackupSecretsMissingException e)
        {
            return await RetryLaterAsync(c.Store, c.Lease, step, e.Message, ct);
        }
    }

    /// <summary>Where a lost store's data can come back from: its latest successful backup, if it has one.</summary>
    private async Task<string> LatestBackupAsync(Store store, CancellationToken ct)
    {
        var latest = (await backupRecords.ListAsync(store.Name, cancellationToken: ct))
            .FirstOrDefault(b => b.Status == Core.Backups.BackupStatus.Succeeded && Backups.BackupJobs.BelongsTo(b, store));
        return latest is null
            ? " It has no successful backup recorded."
            : $" Its latest backup is {latest.Id} (restic snapshot {latest.Snapshot}, taken {latest.StartedAt:yyyy-MM-dd HH:mm} UTC): " +
              $"retry, and once the store is ready again, restore it: POST /api/v1/stores/{store.Name}/restore {{\"backup\":\"{latest.Id}\"}} (or Restore… on the store's page).";
    }

    /// <summary>For the fleet overview; the history is a view, so a Redis hiccup here never fails the store's pass.</summary>
    private async Task RecordReadyAsync(TimeSpan sinceCreation)
    {
        try
        {
            await (history?.RecordReadyAsync(Now, sinceCreation) ?? Task.CompletedTask);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            LogHistoryFailed(logger, e.Message);
        }
    }

    private void RecordStep(string step, TimeSpan duration)
    {
        try
        {
            history?.RecordStep(Now, step, duration);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            LogHistoryFailed(logger, e.Message);
        }
    }

    /// <summary>
    /// Our helm run ended (failed, killed, or even exited 0 after its last record write was refused): if it left the
    /// release pending, remember that very record — its writer
    /// is dead (the lease is still ours, read after the record, so nobody else wrote since), and it can be recovered
    /// without waiting. Also after helm was stopped at the lease's local deadline: if Redis says the lease never left
    /// us (a stall, a renewal whose answer was lost), the record is still known to be ours.
    /// </summary>
    private async Task NoteAbandonedAsync(Context c, CancellationToken ct)
    {
        try
        {
            // A refused read was already retried by the client (TransientRetryHandler, as for every API request).
            var release = await StoreObserver.ReleaseAsync(c.Client, c.Names, ct);
            if (release.IsPending && release.RecordUid is { } uid && (!c.Guard.Lost() || await c.Guard.ConfirmHeldAsync()))
            {
                releases.RememberAbandoned(c.Names, uid);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAbandonedUnknown(logger, c.Store.Name, e.Message);
        }
    }

    /// <summary>
    /// Runs a helm command on the store's release. When the lease may have lapsed, helm is stopped and the pass ends; if
    /// the stopped helm left the release pending while the lease was in fact still ours, that is remembered first. After
    /// every run that ended, a record it left pending is remembered too (recovered on the next pass, without waiting).
    /// </summary>
    private async Task<HelmResult> HelmAsync(Context c, Func<Task<HelmResult>> run, CancellationToken ct)
    {
        HelmResult result;
        try
        {
            result = await run();
        }
        catch (OperationCanceledException) when (c.Guard.Lost())
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await NoteAbandonedAsync(c, bound.Token);
            throw;
        }

        // Whatever the exit code: helm exits 0 even when its last write (the record's final status) was refused, and the
        // record it left pending is then known to be ours.
        await NoteAbandonedAsync(c, ct);
        return result;
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
        // A pending install, or an uninstall that died part-way, is finished by uninstalling (without hooks); the install runs again.
        var install = recover.Status is ReleaseStatus.PendingInstall or ReleaseStatus.Uninstalling;
        var result = install
            ? await HelmAsync(c, () => releases.UninstallAsync(c.Names, withoutHooks: true, c.Guard, ct), ct)
            : await RollBackReleaseAsync(c, c.Store.PreviousPin?.Digest ?? c.Store.Pin?.Digest, ct);
        if (!result.Succeeded)
        {
            return await RetryLaterAsync(c.Store, c.Lease, recover.Step, $"recovering the {Wire(recover.Status)} release failed: {StoreReleases.Summarize(result)}", ct);
        }

        releases.ForgetAbandoned(c.Names);
        var what = install ? "uninstalled (without hooks) to be installed again" : "rolled back to its last deployed revision";
        var interrupted = recover.LeftHere ? "one of this control plane's, which has exited" : $"older than {Describe(_options.StalePendingReleaseAfter)}";
        return await WriteAsync(c, Succeeded(c.Store).Without(ConditionTypes.Retrying, Now), Event(StoreEventType.Warning, c.Store.Phase,
            $"Helm release {c.Names.Release} was left {Wire(recover.Status)} by an interrupted helm ({interrupted}); {what}.", recover.Step, result.Duration), ct);
    }

    /// <summary>
    /// Repairs drift: restores the namespace's labels (the engine's own write), re-applies the release with the pinned
    /// values, forcing ownership of every field the chart sets, and records the new inventory. Each repair counts
    /// toward the hourly limit, failed ones too.
    /// </summary>
    private async Task<StepOutcome> RepairAsync(Context c, ReconcileAction.RepairDrift repair, CancellationToken ct)
    {
        var store = c.Store;
        var detected = Now;
        if (store.Pin is { } pin && releases.Digest(store, c.Names) != pin.Digest && (repair.Drift.Objects.Count > 0 || repair.Drift.Release is not null))
        {
            return await WaitAsync(c, new StoreCondition(ConditionTypes.DriftNotRepaired, false, "PinnedElsewhere",
                $"Drift seen ({repair.Drift.Describe()}), but the release is pinned to chart {pin.ChartVersion} (digest {pin.Digest}), which this control plane does not ship; a control plane that does repairs it.", Now), ct,
                nextDue: Now + _options.SteadyResyncInterval);
        }

        var stopwatch = Stopwatch.StartNew();
        if (repair.Drift.NamespaceLabels.Count > 0)
        {
            var labels = live.ExpectedNamespaceLabels(store).Where(kv => repair.Drift.NamespaceLabels.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            var patch = new V1Patch(System.Text.Json.JsonSerializer.Serialize(new { metadata = new { labels } }), V1Patch.PatchType.MergePatch);
            await c.Client.CoreV1.PatchNamespaceAsync(patch, c.Names.Namespace, fieldManager: EngineFieldManager.Name, cancellationToken: ct);
        }

        HelmResult? result = null;
        if (repair.Drift.Objects.Count > 0 || repair.Drift.Release is not null)
        {
            if (await CopyBackupSecretsAsync(c, repair.Step, ct) is { } missing)
            {
                return missing;
            }

            result = await HelmAsync(c, () => releases.UpgradeInstallAsync(store, c.Names, c.Observed.Release.Digest == store.Pin?.Digest ? store.Pin!.Digest : releases.Digest(store, c.Names), c.Guard, ct), ct);
        }

        var repaired = store.WithRepair(Now);
        if (result is { Succeeded: false })
        {
            var failed = repaired.With(new StoreCondition(ConditionTypes.DriftNotRepaired, false, "RepairFailed", $"Repairing {repair.Drift.Describe()} failed: {StoreReleases.Summarize(result)}", Now), Now);
            return await WriteAsync(c, failed, Event(StoreEventType.Warning, store.Phase,
                $"Drift detected ({repair.Drift.Describe()}) but the repair failed: {StoreReleases.Summarize(result)} It is tried again after a backoff.", repair.Step, stopwatch.Elapsed), ct, done: true);
        }

        var inventory = await ReleaseManifest.ReadAsync(c.Client, c.Names, ct) ?? store.Inventory;
        var what = repair.Drift.Describe();
        var recent = repaired.Repairs.Count;
        var done = (repaired with { Inventory = inventory }).Without(ConditionTypes.DriftNotRepaired, Now);
        var written = await repository.UpdateAsync(done with { UpdatedAt = Now }, [Event(StoreEventType.DriftRepaired, store.Phase,
            $"Drift repaired in {stopwatch.Elapsed.TotalSeconds:0.0} s: {what}" +
            (result is null ? " (namespace labels restored)." : $" — release re-applied at revision {inventory?.Revision}{(repair.Drift.NamespaceLabels.Count > 0 ? ", namespace labels restored" : string.Empty)}.") +
            $" Repair {recent} of at most {_options.Drift.MaxRepairsPerHour} per hour.", repair.Step, Now - detected)], c.Lease, ct);
        var took = stopwatch.Elapsed.TotalMilliseconds;
        LogRepaired(logger, store.Name, what, took);
        return written is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(Now + TimeSpan.FromSeconds(2));
    }

    private async Task<StepOutcome> DegradeAsync(Context c, WorkloadProblem cause, CancellationToken ct)
    {
        var store = c.Store;
        var condition = new StoreCondition(ConditionTypes.Degraded, true, cause.Reason, cause.Message, Now);
        if (store.Phase == StorePhase.Ready)
        {
            return await WriteAsync(c, store.Take(StoreTrigger.Degrade, Now).With(condition, Now),
                Event(StoreEventType.PhaseChanged, StorePhase.Degraded, $"Degraded ({cause.Reason}): {cause.Message}", "degraded"), ct, done: true);
        }

        return await WriteAsync(c, store.With(condition, Now), Event(StoreEventType.Warning, StorePhase.Degraded, $"Still degraded, now {cause.Reason}: {cause.Message}", "degraded"), ct, done: true);
    }

    /// <summary>Asks for each volume's growth (the engine's own write; the storage class was checked before the change was accepted).</summary>
    private async Task<StepOutcome> GrowVolumesAsync(Context c, ReconcileAction.GrowVolumes grow, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var volume in grow.Volumes)
        {
            var body = new System.Text.Json.Nodes.JsonObject { ["spec"] = new System.Text.Json.Nodes.JsonObject { ["resources"] = new System.Text.Json.Nodes.JsonObject { ["requests"] = new System.Text.Json.Nodes.JsonObject { ["storage"] = volume.To } } } };
            var patch = new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch);
            await c.Client.CoreV1.PatchNamespacedPersistentVolumeClaimAsync(patch, volume.Volume.Claim, c.Names.Namespace, fieldManager: EngineFieldManager.Name, cancellationToken: ct);
        }

        // The caches see the new sizes a moment later; the next look reads them from there.
        var next = Succeeded(c.Store);
        var written = await repository.UpdateAsync(next with { UpdatedAt = Now }, [Event(StoreEventType.StepSucceeded, c.Store.Phase,
            $"Volumes growing for plan {c.Store.Spec.Plan.Id}: {string.Join(", ", grow.Volumes)}.", grow.Step, stopwatch.Elapsed)], c.Lease, ct);
        return written is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(Now + TimeSpan.FromSeconds(1));
    }

    /// <summary>The upgrade's analysis: <c>helm test</c>. Passed → the store is updated; failed → rolled back (its snapshot restored).</summary>
    private async Task<StepOutcome> TestReleaseAsync(Context c, CancellationToken ct)
    {
        var result = await HelmAsync(c, () => releases.TestAsync(c.Names, c.Guard, ct), ct);
        if (!result.Succeeded)
        {
            var log = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(10).ToList();
            return await RollBackAsync(c, "SmokeTestFailed",
                $"helm test (the storefront smoke test) failed on the upgraded store: {StoreReleases.Summarize(result)}{(log.Count > 0 ? $" Last lines:\n{string.Join('\n', log)}" : string.Empty)}", ct);
        }

        await repository.AppendEventAsync(c.Store.Name, Event(StoreEventType.StepSucceeded, StorePhase.Updating,
            "helm test passed: the storefront, the Store API and the cart answer on the upgraded store.", "helm-test", result.Duration), ct);
        return await MarkUpdatedAsync(c, ct);
    }

    private async Task<StepOutcome> MarkUpdatedAsync(Context c, CancellationToken ct)
    {
        var store = c.Store;
        var inventory = await ReleaseManifest.ReadAsync(c.Client, c.Names, ct) ?? store.Inventory;
        var updated = store.Take(StoreTrigger.UpdateSucceeded, Now) with { Inventory = inventory };
        return await WriteAsync(c, updated, Event(StoreEventType.PhaseChanged, StorePhase.Ready,
            IsUpgrade(store)
                ? $"Upgraded to chart {store.Pin?.ChartVersion}{(store.Pin?.Apps is { } apps ? $" (WordPress {apps.WordPress}, WooCommerce {apps.WooCommerce})" : string.Empty)}: release revision {inventory?.Revision}."
                : $"Plan changed to {store.Spec.Plan.Id} (from {store.ServingPlan.Id}): release revision {inventory?.Revision}, quota and limits of {store.Spec.Plan.Id} in place.", "updated", Now - store.PhaseStartedAt), ct, done: true);
    }

    /// <summary>
    /// An update that cannot succeed: helm rolls the release back to its previous revision (the plan that served), the
    /// record's spec returns to that plan, and the store is Degraded with the reason. If the rollback fails too, Failed.
    /// </summary>
    private async Task<StepOutcome> RollBackAsync(Context c, string reason, string message, CancellationToken ct)
    {
        var store = c.Store;
        var restored = false;
        if (c.Observed.Restore is { } restore)
        {
            // The upgrade took a snapshot: its database and code are restored first (the restore Job is part of the new
            // revision), then the release is rolled back. Once started, the restore is always finished.
            switch (restore)
            {
                case { Started: false } when store.Condition(ConditionTypes.RollingBack) is null:
                    // Decided first (sticky: from here on the rollback is always finished), then the upgrade Job is stopped.
                    return await WriteAsync(c, store.With(new StoreCondition(ConditionTypes.RollingBack, true, reason, message, Now), Now).WithProgress(Now),
                        Event(StoreEventType.StepStarted, StorePhase.Updating,
                            $"Upgrade failed ({reason}): {message} Stopping the upgrade Job, restoring the database and WordPress's code from the pre-upgrade snapshot (Job {restore.Name}), then rolling the release back.",
                            "snapshot-restore"), ct);
                case { Started: false }:
                    // The restore never runs beside the upgrade: a migration still writing would be overwritten half-way.
                    if (!await UpgradeJobStoppedAsync(c, ct))
                    {
                        return StepOutcome.Done(Now + TimeSpan.FromSeconds(1));
                    }

                    var body = new System.Text.Json.Nodes.JsonObject { ["spec"] = new System.Text.Json.Nodes.JsonObject { ["suspend"] = false } };
                    await c.Client.BatchV1.PatchNamespacedJobAsync(new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch), restore.Name, c.Names.Namespace,
                        fieldManager: EngineFieldManager.Name, cancellationToken: ct);
                    return StepOutcome.Done(Now + TimeSpan.FromSeconds(1));
                case { Status: BootstrapJobStatus.Failed } when store.Condition(ConditionTypes.RollingBack) is null:
                    break; // A person retried after restoring by hand: only the release is rolled back.
                case { Status: BootstrapJobStatus.Failed }:
                    var lines = restore.LastLogLines is { Count: > 0 } l ? $" Last log lines:\n{string.Join('\n', l)}" : string.Empty;
                    return await FailAsync(c, "RestoreFailed",
                        $"{message} Restoring the pre-upgrade snapshot failed too (Job {restore.Name}: {restore.Reason ?? "failed"}); the release was not rolled back and the store's " +
                        $"database and files are as the failed upgrade left them. The snapshot is kept in the WordPress volume under .storefleet/snapshots/upgrade-{store.Upgrade?.Generation}: " +
                        $"restore it by hand (docs/operations.md, \"Rolling a store back by hand\"), then retry.{lines}", ct);
                case { Status: not BootstrapJobStatus.Succeeded }:
                    return StepOutcome.Done(Now + TimeSpan.FromSeconds(1));
                default:
                    restored = true;
                    break;
            }
        }

        var result = await RollBackReleaseAsync(c, store.PreviousPin?.Digest, ct);
        if (!result.Succeeded)
        {
            return await FailAsync(c, "RollbackFailed",
                $"{message} Rolling the release back to plan {store.ServingPlan.Id} failed too: {StoreReleases.Summarize(result)} Check the cluster, then retry (the update is tried again).", ct);
        }

        var inventory = await ReleaseManifest.ReadAsync(c.Client, c.Names, ct) ?? store.Inventory;
        var text = IsUpgrade(store)
            ? $"Upgrading to chart {store.Pin?.ChartVersion} failed ({reason}): {message} The release was rolled back to what the store ran (chart {store.PreviousPin?.ChartVersion ?? "as before"}, now revision {inventory?.Revision}), which keeps serving. " +
                "Fix the cause, then upgrade again (or retry the store to clear this)."
            : $"Changing the plan to {store.Spec.Plan.Id} failed ({reason}): {message} The release was rolled back to what served (now revision {inventory?.Revision}) and plan {store.ServingPlan.Id} keeps serving. " +
                "Fix the cause, then change the plan again (or retry the store to clear this).";
        if (restored)
        {
            text = text.Replace(" which keeps serving.", " which keeps serving; its database and WordPress's code were restored from the pre-upgrade snapshot.", StringComparison.Ordinal);
        }

        var rolledBack = store.RolledBack(new StoreCondition(ConditionTypes.UpdateFailed, false, reason, text, Now), Now) with { Inventory = inventory };
        return await WriteAsync(c, rolledBack, Event(StoreEventType.StepFailed, StorePhase.Degraded, text, "helm-rollback", result.Duration), ct, done: true);
    }

    /// <summary>
    /// Whether the upgrade Job has no pod left running: a finished Job is left as it is; a running one is deleted (its pods
    /// with it) and this answers false until they are gone.
    /// </summary>
    private static async Task<bool> UpgradeJobStoppedAsync(Context c, CancellationToken ct)
    {
        if (c.Observed.UpgradeJob is { Name: { } job, Status: BootstrapJobStatus.Running })
        {
            c.Guard.EnsureHeld();
            try
            {
                await c.Client.BatchV1.DeleteNamespacedJobAsync(job, c.Names.Namespace, propagationPolicy: "Background", cancellationToken: ct);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // Already gone.
            }
        }

        var selector = $"app.kubernetes.io/instance={c.Names.Release},app.kubernetes.io/component=upgrade,{StoreClusterNames.UpgradeGenerationLabel}={c.Store.Generation}";
        var pods = await c.Client.CoreV1.ListNamespacedPodAsync(c.Names.Namespace, labelSelector: selector, cancellationToken: ct);
        return pods.Items.All(p => p.Status?.Phase is "Succeeded" or "Failed");
    }

    /// <summary>
    /// <c>helm rollback</c> to the newest earlier revision that was deployed — the one with <paramref name="digest"/> (what
    /// the store served with) when there is one — skipping failed attempts in between. Jobs of that revision that the
    /// latest one renamed (a chart or values change renames the bootstrap Job) are deleted first — helm refuses to roll
    /// back over them — and helm creates them again from the revision it returns to.
    /// </summary>
    private async Task<HelmResult> RollBackReleaseAsync(Context c, string? digest, CancellationToken ct)
    {
        var plan = await ReleaseManifest.RollbackPlanAsync(c.Client, c.Names, digest, ct);
        foreach (var job in plan?.BlockingJobs ?? [])
        {
            c.Guard.EnsureHeld();
            try
            {
                await c.Client.BatchV1.DeleteNamespacedJobAsync(job, c.Names.Namespace, propagationPolicy: "Background", cancellationToken: ct);
                LogRollbackJobDeleted(logger, c.Store.Name, job);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // Already gone: nothing stands in helm's way.
            }
        }

        return await HelmAsync(c, () => releases.RollbackAsync(c.Names, plan?.Revision, c.Guard, ct), ct);
    }

    private async Task<StepOutcome> UninstallAsync(Context c, ReconcileAction.UninstallRelease uninstall, CancellationToken ct)
    {
        var result = await HelmAsync(c, () => releases.UninstallAsync(c.Names, uninstall.WithoutHooks, c.Guard, ct), ct);
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
        // Scheduled before the record goes (scheduling again is harmless): its backups are purged after their retention, or at once.
        if (!c.Store.IsPoolMember)
        {
            await purges.ScheduleAsync(c.Store, ct);
        }

        var kept = !backupOptions.Value.Enabled || c.Store.IsPoolMember ? string.Empty : c.Store.PurgeBackups
            ? " Its backups are purged now, as asked."
            : $" Its backups are kept for {Describe(backupOptions.Value.RetainAfterDeletion)} (until {Now + backupOptions.Value.RetainAfterDeletion:yyyy-MM-dd HH:mm} UTC), then purged; it can be cloned from them until then.";
        var tombstone = Event(StoreEventType.Deleted, StorePhase.Deleting,
            $"Store deleted: release and namespace {c.Names.Namespace} are gone.{kept}", "remove-record", Now - c.Store.PhaseStartedAt);
        var removed = await repository.RemoveAsync(c.Store, tombstone, c.Lease, ct);
        if (removed is UpdateStoreResult.Updated && (c.Store.IsPoolMember || c.Store.Placement is not null))
        {
            // The member's namespace is gone: nothing maps to it any more.
            await pool.ForgetAsync(c.Store.ClusterName, ct);
        }

        return removed switch
        {
            UpdateStoreResult.LeaseLost => StepOutcome.LeaseLost,
            UpdateStoreResult.VersionConflict => StepOutcome.Continue,
            _ => StepOutcome.Done(null),
        };
    }

    /// <summary>A claimed member is being made the store's (adopted or personalised): a failure discards it instead of failing the store.</summary>
    private static bool Personalising(Store store) =>
        store.Claim is { InProgress: true, Stage: not Core.Pool.PoolClaimStage.Discard } && store.Phase is StorePhase.Provisioning or StorePhase.Bootstrapping;

    /// <summary>
    /// A requested store of a plan with a warm pool claims an idle member (atomically, across replicas) and takes over its
    /// namespace and release. Null when it provisions from scratch: no pool for its plan, none idle, a clone, or a member.
    /// </summary>
    private async Task<StepOutcome?> ClaimFromPoolAsync(Store store, Lease lease, CancellationToken ct)
    {
        if (store.IsPoolMember || store.CloneFrom is not null || poolSizes.Of(store.Spec.Plan.Id) == 0)
        {
            return null;
        }

        var stopwatch = Stopwatch.StartNew();
        Store? member = null;
        string? name = null;
        // A member found unfit is given back (and marked stale if it is on another chart) and the next one tried.
        for (var attempt = 0; attempt < MaxClaimAttempts && member is null; attempt++)
        {
            name = await pool.ClaimAsync(store.Name, Core.Pool.WarmPool.Kind(store.Spec), ct);
            if (name is null)
            {
                return null;
            }

            var found = await repository.GetAsync(name, ct);
            var unfit = found is not { IsPoolMember: true, Phase: StorePhase.Ready } ? $"it is {(found is null ? "gone" : found.Phase.ToWire())}"
                : found.Spec != store.Spec ? $"it is {Core.Pool.WarmPool.Kind(found.Spec)}, not {Core.Pool.WarmPool.Kind(store.Spec)}"
                : versions.Standing(found) is Fleet.VersionStanding.Outdated or Fleet.VersionStanding.Ahead ? $"it runs chart {found.Pin?.ChartVersion} (values digest {found.Pin?.Digest}), not what this control plane installs"
                : null;
            if (unfit is null)
            {
                member = found;
                break;
            }

            await pool.ReleaseClaimAsync(name, store.Name, ct);
            if (found is { IsPoolMember: true, Phase: StorePhase.Ready })
            {
                await pool.MarkStaleAsync(name, ct);
            }

            LogClaimReleased(logger, store.Name, name, unfit);
        }

        if (member is null || name is null)
        {
            return null;
        }

        var claimed = store.ClaimedFrom(member, Now);
        var outcome = await WriteAsync(lease, claimed, Event(StoreEventType.PhaseChanged, StorePhase.Provisioning,
            $"Claimed from the warm pool: member {name} (ready since {member.PhaseStartedAt:u}, chart {member.Pin?.ChartVersion ?? "unknown"}) becomes this store; " +
            "personalising it: new URL, administrator password, salts and title.", "pool-claim", stopwatch.Elapsed), ct);
        activity.Record(new EngineStep(Now, store.Name, lease.Holder, lease.Fence, "pool-claim", outcome.ToString(), stopwatch.Elapsed));
        RecordStep("pool-claim", stopwatch.Elapsed);
        return outcome;
    }

    /// <summary>
    /// The claimed member becomes the store's: its record goes (its timeline keeps a tombstone naming the store), its
    /// namespace is relabelled with the store's name and its credentials Secret replaced (a new administrator password).
    /// Every step is idempotent: an engine killed half-way repeats it.
    /// </summary>
    private async Task<StepOutcome> AdoptPoolMemberAsync(Context c, ReconcileAction.AdoptPoolMember adopt, CancellationToken ct)
    {
        var store = c.Store;
        var stopwatch = Stopwatch.StartNew();
        var member = await repository.GetAsync(adopt.Member, ct);
        if (member is { IsPoolMember: true, Phase: StorePhase.Deleting } && store.Phase != StorePhase.Deleting)
        {
            // Its deletion was asked for after it was claimed (an admin): its namespace is going; give it up now.
            return await AbandonClaimAsync(c.Lease, store, "PoolMemberDeleted", $"Warm-pool member {member.Name} was being deleted when this store claimed it.", ct);
        }

        if (member is { IsPoolMember: true })
        {
            var tombstone = new StoreEvent(Now, StoreEventType.Deleted, member.Phase,
                $"Claimed by store {store.Name}: this member's namespace, release and data are that store's now, personalised (URL, administrator password, salts).", null, adopt.Step);
            if (await repository.RemoveAsync(member, tombstone, cancellationToken: ct) is UpdateStoreResult.VersionConflict)
            {
                return StepOutcome.Continue;
            }
        }

        await pool.ClaimRecordedAsync(store.Name, ct);
        c.Guard.EnsureHeld();
        try
        {
            await actions.RelabelNamespaceAsync(c.Client, store, c.Names, ct);
            await StoreClusterActions.ReplaceCredentialsAsync(c.Client, store, c.Names, ct);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            // The member's namespace or Secret is gone (deleted by hand): a store being deleted just goes on deleting; one
            // being created gives the member up and is provisioned from scratch.
            return store.Phase == StorePhase.Deleting
                ? await WriteAsync(c, store.WithClaimStage(Core.Pool.PoolClaimStage.Personalise, Now), Event(StoreEventType.Warning, store.Phase,
                    $"Warm-pool member {adopt.Member}'s namespace or credentials are gone already; the deletion goes on.", adopt.Step), ct)
                : await AbandonClaimAsync(c.Lease, store, "PoolMemberGone", $"The namespace {c.Names.Namespace} or its credentials Secret of warm-pool member {adopt.Member} is gone ({KubeErrors.Describe(e)}).", ct);
        }

        return await WriteAsync(c, Succeeded(store.WithClaimStage(Core.Pool.PoolClaimStage.Personalise, Now)), Event(StoreEventType.StepSucceeded, store.Phase,
            $"Warm-pool member {adopt.Member} adopted: namespace {c.Names.Namespace} relabelled for this store, credentials Secret {c.Names.CredentialsSecret} replaced (new administrator password).",
            adopt.Step, stopwatch.Elapsed), ct);
    }

    /// <summary>Personalising the claimed member failed: the claim is given up (the member discarded next), never the store.</summary>
    private async Task<StepOutcome> AbandonClaimAsync(Lease lease, Store store, string reason, string message, CancellationToken ct)
    {
        var member = store.Claim!.Member;
        LogClaimAbandoned(logger, store.Name, member, reason, message);
        metrics?.Failure("PoolPersonalisationFailed");
        return await WriteAsync(lease, store.WithClaimStage(Core.Pool.PoolClaimStage.Discard, Now, $"{reason}: {message}"), Event(StoreEventType.Warning, store.Phase,
            $"Personalising warm-pool member {member} failed ({reason}): {message} The member is discarded (never reused) and the store is provisioned from scratch.", "pool-abandon"), ct);
    }

    /// <summary>The given-up member goes (release uninstalled, namespace deleted); the store then starts from scratch under its own name.</summary>
    private async Task<StepOutcome> DiscardPoolMemberAsync(Context c, ReconcileAction.DiscardPoolMember discard, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        var uninstall = await HelmAsync(c, () => releases.UninstallAsync(c.Names, withoutHooks: true, c.Guard, ct), ct);
        c.Guard.EnsureHeld();
        // Deleting the namespace removes everything helm may have left.
        await StoreClusterActions.DeleteNamespaceAsync(c.Client, c.Names, ct);
        releases.ForgetAbandoned(c.Names);
        // Given up before its adoption removed it: its record goes with its namespace, so it is never claimed again (a write
        // of its own meanwhile is a conflict: read it again).
        for (var attempt = 0; attempt < 3 && await repository.GetAsync(discard.Member, ct) is { IsPoolMember: true } left; attempt++)
        {
            if (await repository.RemoveAsync(left, new StoreEvent(Now, StoreEventType.Deleted, left.Phase,
                $"Discarded: store {c.Store.Name} claimed this member and could not personalise it; its namespace is deleted.", null, discard.Step), cancellationToken: ct) is not UpdateStoreResult.VersionConflict)
            {
                break;
            }
        }

        await pool.ForgetAsync(discard.Member, ct);
        var cold = c.Store.ProvisionedCold(Now);
        var coldNames = StoreClusterNames.For(cold, _options.NamespacePrefix);
        return await WriteAsync(c, cold, Event(StoreEventType.Warning, StorePhase.Provisioning,
            $"Warm-pool member {discard.Member} discarded: release {(uninstall.Succeeded ? "uninstalled" : "left to the namespace deletion")}, namespace {c.Names.Namespace} deleted. " +
            $"Provisioning the store from scratch in namespace {coldNames.Namespace}.", discard.Step, stopwatch.Elapsed), ct);
    }

    private async Task<StepOutcome> FailAsync(Context c, string reason, string message, CancellationToken ct)
    {
        if (Personalising(c.Store))
        {
            return await AbandonClaimAsync(c.Lease, c.Store, reason, message, ct);
        }

        LogFailed(logger, c.Store.Name, reason, message);
        if (!c.Store.CanTake(StoreTrigger.Fail))
        {
            // Deleting never fails: it keeps trying (with backoff) until the namespace is gone.
            return await RetryLaterAsync(c.Store, c.Lease, reason, message, ct);
        }

        var failed = c.Store.Take(StoreTrigger.Fail, Now, new StoreCondition(ConditionTypes.Failed, true, reason, message, Now));
        metrics?.Failure(reason);
        return await WriteAsync(c, failed, Event(StoreEventType.StepFailed, c.Store.Phase, message, reason), ct, done: true);
    }

    /// <summary>A restore's safety backup failed: nothing was touched, so the store is Ready again with a warning saying why.</summary>
    private async Task<StepOutcome> AbandonRestoreAsync(Context c, string reason, string message, CancellationToken ct)
    {
        metrics?.Failure(reason);
        return await WriteAsync(c, c.Store.Take(StoreTrigger.RestoreNotStarted, Now),
            Event(StoreEventType.Warning, StorePhase.Ready, message, "restore-abandoned", Now - c.Store.PhaseStartedAt), ct, done: true);
    }

    /// <summary>The restored store's smoke test: passed → Ready (the release's inventory recorded again); failed → Failed, naming the safety backup.</summary>
    private async Task<StepOutcome> TestRestoreAsync(Context c, CancellationToken ct)
    {
        var store = c.Store;
        var run = store.Restore!;
        var result = await HelmAsync(c, () => releases.TestAsync(c.Names, c.Guard, ct), ct);
        if (!result.Succeeded)
        {
            var log = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(10).ToList();
            return await FailAsync(c, "SmokeTestFailed",
                $"Backup {run.Backup} was restored, but helm test (the storefront smoke test) failed: {StoreReleases.Summarize(result)} {run.DescribeSafety(store.Name)}" +
                (log.Count > 0 ? $" Last lines:\n{string.Join('\n', log)}" : string.Empty), ct);
        }

        var inventory = await ReleaseManifest.ReadAsync(c.Client, c.Names, ct) ?? store.Inventory;
        var restored = store.Take(StoreTrigger.RestoreSucceeded, Now) with { Inventory = inventory, Repairs = [] };
        return await WriteAsync(c, restored,
            Event(StoreEventType.PhaseChanged, StorePhase.Ready,
                $"Backup {run.Backup} (snapshot {run.Snapshot}) restored and the smoke test passed: the store is live again on the restored data (restore took {Describe(Now - run.RequestedAt)}).",
                "restore-test", result.Duration), ct, done: true);
    }

    /// <summary>What a restore waits for, in words.</summary>
    private StoreCondition RestoreCondition(Store store, ReconcileAction.AwaitRestoreStep wait) =>
        new(ConditionTypes.Restore, false, wait.Job.Status == BootstrapJobStatus.Absent ? "JobPending" : "Running", wait.Stage == RestoreStage.SafetyBackup
            ? $"Safety backup {wait.Job.Name} is running (the store as it is now, kept in case the restore fails); WordPress keeps serving."
            : $"Restore Job {wait.Job.Name} is restoring backup {store.Restore!.Backup} (download and check, database, wp-content); WordPress is stopped meanwhile.", Now);

    private static StepOutcome Outcome(UpdateStoreResult result) => result switch
    {
        UpdateStoreResult.Updated => StepOutcome.Continue,
        UpdateStoreResult.LeaseLost => StepOutcome.LeaseLost,
        UpdateStoreResult.NotFound => StepOutcome.Done(null),
        _ => StepOutcome.Continue,
    };

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
        if (attempt >= _options.MaxAttempts && Personalising(store))
        {
            return await AbandonClaimAsync(lease, store, "RetriesExhausted", $"Step '{step}' failed {attempt} times; the last error: {message}", ct);
        }

        if (attempt >= _options.MaxAttempts && store.CanTake(StoreTrigger.Fail))
        {
            var failed = store.Take(StoreTrigger.Fail, Now, new StoreCondition(ConditionTypes.Failed, true, "RetriesExhausted",
                $"Step '{step}' failed {attempt} times; the last error: {message} Check the cluster, then retry.", Now));
            metrics?.Failure("RetriesExhausted");
            var result = await repository.UpdateAsync(failed, [Event(StoreEventType.StepFailed, store.Phase, failed.Condition(ConditionTypes.Failed)!.Message, step)], lease, ct);
            return result is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(null);
        }

        var delay = Backoff(attempt);
        metrics?.Retry(step);
        var retrying = store.WithFailedAttempt(new StoreCondition(ConditionTypes.Retrying, false, step, message, Now), Now);
        var written = await repository.UpdateAsync(retrying,
            [Event(StoreEventType.StepFailed, store.Phase, $"{message} (attempt {attempt}; retrying in {delay.TotalSeconds:0.#} s)", step)], lease, ct);
        return written is UpdateStoreResult.LeaseLost ? StepOutcome.LeaseLost : StepOutcome.Done(Now + delay);
    }

    private Task<StepOutcome> WriteAsync(Context c, Store next, StoreEvent storeEvent, CancellationToken ct, bool done = false) =>
        WriteAsync(c.Lease, next, storeEvent, ct, done);

    private async Task<StepOutcome> WriteAsync(Lease lease, Store next, StoreEvent storeEvent, CancellationToken ct, bool done = false)
    {
        // A pass that settles the store ends the requested work: later passes are not part of that request's trace.
        var result = await repository.UpdateAsync(next with { UpdatedAt = Now, TraceParent = done ? null : next.TraceParent }, [storeEvent], lease, ct);
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
            // A new generation of a store that has served (a plan change, or an upgrade asked for before versions changed)
            // whose application versions change gets its upgrade Job too: snapshot, new core files, migrations, helm test.
            var served = store.Pin is { } current && current.Generation == store.ObservedGeneration ? current : store.PreviousPin;
            if (store.AppliedPlan is not null && store.Upgrade?.Generation != store.Generation && served?.Apps is { } servedApps && servedApps != ours.Apps)
            {
                var upgrade = new UpgradeRun(store.Generation, Snapshot: true, Test: true);
                var upgraded = releases.Target(store with { Upgrade = upgrade }, names);
                return new PinDecision.Write(upgraded, $"Release pinned to chart {upgraded.ChartVersion}, values digest {upgraded.Digest}, with an upgrade Job (application versions change).", Moved: false, upgrade);
            }

            return new PinDecision.Write(ours, $"Release pinned to chart {ours.ChartVersion}, values digest {ours.Digest}.", Moved: false);
        }

        if (pin.Digest == ours.Digest)
        {
            // A pin written before application versions were recorded: the same digest means the same chart and values files.
            return pin.Apps is null
                ? new PinDecision.Write(pin with { Apps = ours.Apps }, "Application versions recorded.", Moved: false)
                : new PinDecision.Use(pin.Digest);
        }

        return ChartVersions.Compare(ours.ChartVersion, pin.ChartVersion) > 0 && store.Phase is StorePhase.Provisioning or StorePhase.Bootstrapping
            ? new PinDecision.Write(ours, $"Release moved to chart {ours.ChartVersion} (values digest {ours.Digest}) from {pin.ChartVersion} by a newer control plane.", Moved: true)
            : new PinDecision.Skip($"pinned to chart {pin.ChartVersion} (values digest {pin.Digest}); this control plane ships chart {ours.ChartVersion} (digest {ours.Digest})");
    }

    /// <summary>An update that moves the store to another chart or values, not to another plan (a per-store upgrade).</summary>
    private static bool IsUpgrade(Store store) => store.Spec.Plan == store.ServingPlan;

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
        span.TotalDays >= 1 ? $"{span.TotalDays:0.#} days" : span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";

    private static string Remaining(NamespaceTermination? termination) =>
        termination is { Conditions.Count: > 0 } t ? $"; {string.Join("; ", t.Conditions)}" : string.Empty;

    private static string Wire(ReleaseStatus status) => status switch
    {
        ReleaseStatus.PendingInstall => "pending-install",
        ReleaseStatus.PendingUpgrade => "pending-upgrade",
        ReleaseStatus.PendingRollback => "pending-rollback",
        _ => status.ToString().ToLowerInvariant(),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Store}: deleted Job {Job} before rolling back (the failed revision renamed it; helm recreates it from the revision it returns to).")]
    private static partial void LogRollbackJobDeleted(ILogger logger, string store, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: could not read whether its helm run left the release pending ({Reason}); a pending record is recovered once it is stale.")]
    private static partial void LogAbandonedUnknown(ILogger logger, string store, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fleet history (for the dashboard's overview) was not written: {Reason}")]
    private static partial void LogHistoryFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Store}: drift repaired in {Milliseconds} ms: {Drift}")]
    private static partial void LogRepaired(ILogger logger, string store, string drift, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store} failed ({Reason}): {Message}")]
    private static partial void LogFailed(ILogger logger, string store, string reason, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Store}: warm-pool member {Member} was claimed but {Why}; the claim is given back.")]
    private static partial void LogClaimReleased(ILogger logger, string store, string member, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: personalising warm-pool member {Member} failed ({Reason}): {Message} The member is discarded; the store is provisioned from scratch.")]
    private static partial void LogClaimAbandoned(ILogger logger, string store, string member, string reason, string message);

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

        /// <summary>Write <paramref name="Pin"/> (and <paramref name="Upgrade"/>, the upgrade run a pin that changes application versions brings).</summary>
        public sealed record Write(ReleasePin Pin, string Message, bool Moved, UpgradeRun? Upgrade = null) : PinDecision;

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

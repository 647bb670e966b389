using Storefleet.Core.Backups;
using Storefleet.Core.Stores;
using Storefleet.Core.Provisioning;
using Storefleet.Engine.Backups;
using Storefleet.Infrastructure.Redis;
using Storefleet.Server.Access;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>
/// Taking a backup now — the same rules for the API and the dashboard: the store's owner or an admin (another owner's
/// store is not found), a live store only, backups configured; audited as <c>store.backup</c>.
/// </summary>
/// <para>Restoring a backup in place — its owner or an admin, audited as <c>store.restore</c>: refused up front (nothing
/// changed) unless the backup is this store's and succeeded and the store is live, or failed in a restore.</para>
public sealed class BackupCommands(
    IStoreRepository stores,
    IBackupRepository backups,
    BackupRequests requests,
    StoreWork work,
    ReplicaAcknowledgements replicas,
    Microsoft.Extensions.Options.IOptions<Storefleet.Engine.EngineOptions> engine,
    Storefleet.Engine.Fleet.FleetVersions versions,
    AuditTrail audit,
    TimeProvider clock)
{
    private const int MaxWriteAttempts = 5;

    public bool BackupsConfigured => requests.Enabled;

    public async Task<CommandResult> StartAsync(Actor actor, string client, string name, CancellationToken cancellationToken)
    {
        if (StoresApi.InvalidName(name) is { } invalid)
        {
            return new(invalid, null);
        }

        var store = await stores.GetAsync(name, cancellationToken);
        if (store is null || !actor.CanSee(store.Owner))
        {
            await Audit(actor, client, name, "refused: not found");
            return new(Problems.StoreNotFound(name), null);
        }

        if (!store.Phase.IsLive())
        {
            await Audit(actor, client, name, $"refused: {store.Phase.ToWire()}");
            return new(Problems.Conflict("The store cannot be backed up now.",
                $"Store '{name}' is {store.Phase.ToWire()}: only a ready, degraded or updating store is backed up. Wait until it is ready, then back it up.", "store-not-live"), store);
        }

        switch (await requests.StartAsync(store, actor.Subject, cancellationToken))
        {
            case BackupRequestResult.Started started:
                await Audit(actor, client, name, "accepted", started.Backup.Id);
                return new(TypedResults.Accepted($"/api/v1/stores/{name}/backups/{started.Backup.Id}", BackupResource.From(started.Backup)), store);
            case BackupRequestResult.Refused refused:
                await Audit(actor, client, name, $"refused: {refused.Code}");
                return new(Problems.Conflict("The store cannot be backed up.", refused.Message, refused.Code), store);
            case BackupRequestResult.Unavailable unavailable:
                return new(Problems.ClusterUnavailable(unavailable.Message), store);
            default:
                throw new InvalidOperationException("Unknown backup request result.");
        }
    }

    /// <summary>
    /// Restores <paramref name="request"/>'s backup into the store in place (202, the store Restoring): a safety backup of
    /// the store as it is, WordPress stopped, the database and wp-content replaced, WordPress back, the smoke test.
    /// </summary>
    public async Task<CommandResult> RestoreAsync(Actor actor, string client, string name, RestoreStoreRequest request, CancellationToken cancellationToken)
    {
        if (StoresApi.InvalidName(name) is { } invalid)
        {
            return new(invalid, null);
        }

        if (string.IsNullOrWhiteSpace(request.Backup) || request.Backup.Length > 253)
        {
            return new(Problems.Validation("backup", "Name the backup to restore: its id, as GET /api/v1/stores/{name}/backups lists it."), null);
        }

        var store = await stores.GetAsync(name, cancellationToken);
        if (store is null || !actor.CanSee(store.Owner))
        {
            await AuditAs(AuditActions.StoreRestore, actor, client, name, "refused: not found");
            return new(Problems.StoreNotFound(name), null);
        }

        if (!requests.Enabled)
        {
            await AuditAs(AuditActions.StoreRestore, actor, client, name, "refused: backups-disabled");
            return new(Problems.Conflict("Backups are not configured.",
                "Backups are not configured on this platform: an administrator sets Storefleet:Backups:Repository and its Secrets (docs/backups.md).", "backups-disabled"), store);
        }

        var backup = await backups.GetAsync(name, request.Backup, cancellationToken);
        if (backup is null || !BackupJobs.BelongsTo(backup, store))
        {
            await AuditAs(AuditActions.StoreRestore, actor, client, name, "refused: backup not found", request.Backup);
            return new(TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Backup not found.",
                detail: $"Store '{name}' has no backup '{request.Backup}'. List its backups with GET /api/v1/stores/{name}/backups.", type: Problems.TypeBase + "backup-not-found"), store);
        }

        if (backup is not { Status: BackupStatus.Succeeded, Snapshot: { Length: > 0 } })
        {
            await AuditAs(AuditActions.StoreRestore, actor, client, name, $"refused: backup {backup.Status.ToWire()}", backup.Id);
            return new(Problems.Conflict("The backup cannot be restored.",
                $"Backup '{backup.Id}' is {backup.Status.ToWire()}: only a backup that succeeded (it has a snapshot) can be restored. Choose another from GET /api/v1/stores/{name}/backups.",
                "backup-not-restorable"), store);
        }

        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            if (NotRestorable(store!) is { } refusal)
            {
                await AuditAs(AuditActions.StoreRestore, actor, client, name, $"refused: {store!.Phase.ToWire()}", backup.Id);
                return new(refusal, store);
            }

            var now = clock.GetUtcNow();
            var safetyJob = RestoreRun.SafetyBackupJob(StoreClusterNames.For(store!, engine.Value.NamespacePrefix).Release, now);
            var next = store!.WithRestoreRequested(backup.Id, backup.Snapshot!, actor.Subject, safetyJob, now) with { TraceParent = Storefleet.Engine.Telemetry.StorefleetTracing.CurrentTraceParent() };
            var message = next.Restore!.Stage == RestoreStage.SafetyBackup
                ? $"Restore of backup {backup.Id} (snapshot {backup.Snapshot}, taken {backup.StartedAt:u}) requested by {actor.Subject}: a safety backup first, then WordPress is stopped while the data is replaced."
                : $"Restore of backup {backup.Id} (snapshot {backup.Snapshot}, taken {backup.StartedAt:u}) requested by {actor.Subject} after a failed restore (its safety backup {next.Restore.SafetyBackup ?? "none"} is kept).";
            if (await stores.UpdateAsync(next, [new StoreEvent(now, StoreEventType.SpecChanged, store.Phase, message, Step: "restore")], cancellationToken: cancellationToken) is UpdateStoreResult.Updated updated)
            {
                await replicas.ConfirmAsync("store restore");
                await work.NotifyAsync(name);
                await AuditAs(AuditActions.StoreRestore, actor, client, name, "accepted", backup.Id);
                var view = work.View(updated.Store);
                return new(TypedResults.Accepted($"/api/v1/stores/{name}", view), updated.Store);
            }

            store = await stores.GetAsync(name, cancellationToken);
            if (store is null)
            {
                return new(Problems.StoreNotFound(name), null);
            }
        }

        return new(Problems.Conflict("The store is changing.", $"Store '{name}' changed several times while this request was applied; send the request again.", "busy"), store);
    }

    /// <summary>
    /// Sets how often the store is backed up instead of its plan's schedule (null: the plan's again): a new generation the
    /// engine upgrades the release to (the store stays live; 202), or 200 when it is already so. Owner or admin, a live store.
    /// </summary>
    public async Task<CommandResult> SetScheduleAsync(Actor actor, string client, string name, BackupScheduleRequest request, CancellationToken cancellationToken)
    {
        if (StoresApi.InvalidName(name) is { } invalid)
        {
            return new(invalid, null);
        }

        var schedule = request.Schedule?.Trim();
        if (schedule is not null && BackupSchedule.Invalid(schedule) is { } why)
        {
            return new(Problems.Validation("schedule", why), null);
        }

        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var store = await stores.GetAsync(name, cancellationToken);
            if (store is null || !actor.CanSee(store.Owner))
            {
                await AuditAs(AuditActions.StoreChange, actor, client, name, "refused: not found");
                return new(Problems.StoreNotFound(name), null);
            }

            if (!requests.Enabled)
            {
                return new(Problems.Conflict("Backups are not configured.",
                    "Backups are not configured on this platform: an administrator sets Storefleet:Backups:Repository and its Secrets (docs/backups.md).", "backups-disabled"), store);
            }

            if (store.BackupSchedule == schedule)
            {
                return new(TypedResults.Ok(work.View(store)), store);
            }

            if (!store.Phase.IsLive())
            {
                await AuditAs(AuditActions.StoreChange, actor, client, name, $"refused: {store.Phase.ToWire()}");
                return new(Problems.Conflict("The store's backup schedule cannot change now.",
                    $"Store '{name}' is {store.Phase.ToWire()}: its schedule changes with its release, once it is ready or degraded.", "not-live"), store);
            }

            var now = clock.GetUtcNow();
            var next = store.WithBackupSchedule(schedule, now);
            var message = $"Backup schedule set by {actor.Subject}: {(schedule ?? "the plan's")} (was {store.BackupSchedule ?? "the plan's"}; generation {next.Generation}).";
            if (await stores.UpdateAsync(next, [new StoreEvent(now, StoreEventType.SpecChanged, store.Phase, message, Step: "backup-schedule")], cancellationToken: cancellationToken) is UpdateStoreResult.Updated updated)
            {
                await replicas.ConfirmAsync("store change");
                await work.NotifyAsync(name);
                await AuditAs(AuditActions.StoreChange, actor, client, name, "ok", $"backup schedule {schedule ?? "plan"}");
                return new(TypedResults.Accepted($"/api/v1/stores/{name}", work.View(updated.Store)), updated.Store);
            }
        }

        return new(Problems.Conflict("The store is changing.", $"Store '{name}' changed several times while this request was applied; send the request again.", "busy"), null);
    }

    /// <summary>
    /// Why the store cannot be restored into now, or null: it must be live (or failed in a restore), have no change waiting
    /// (the restore would apply it unchecked), and run what this control plane ships (it installs the restore with its own
    /// chart: a store on another chart would be moved to it, or be left to a control plane that ships its chart).
    /// </summary>
    private IResult? NotRestorable(Store store)
    {
        if (!store.CanTake(StoreTrigger.StartRestore))
        {
            return NotRestorableNow(store);
        }

        if (store.Generation != store.ObservedGeneration)
        {
            return Problems.Conflict("The store cannot be restored now.",
                $"Store '{store.Name}' has a change waiting to be applied (generation {store.Generation}, applied {store.ObservedGeneration}); restore it once that is done.", "store-changing");
        }

        Storefleet.Engine.Fleet.VersionStanding standing;
        try
        {
            standing = versions.Standing(store);
        }
        catch (Exception e) when (Storefleet.Engine.Fleet.FleetVersions.IsChartsUnreadable(e))
        {
            return Problems.ClusterUnavailable($"This control plane cannot read the charts it ships ({e.Message}); nothing was changed. Check Storefleet:Engine:ChartsDirectory.");
        }

        // Unpinned (a record from before pins): the engine pins what it ships before it installs anything.
        return standing is Storefleet.Engine.Fleet.VersionStanding.Current or Storefleet.Engine.Fleet.VersionStanding.Unpinned
            ? null
            : Problems.Conflict("The store runs another version than this control plane ships.",
                $"Store '{store.Name}' runs chart {store.Pin?.ChartVersion ?? "(unknown)"}, which this control plane does not install: a restore re-installs the store's release, so it runs where that chart is shipped. " +
                (standing == Storefleet.Engine.Fleet.VersionStanding.Outdated
                    ? $"Upgrade it first (POST /api/v1/stores/{store.Name}/upgrade, or a rollout), then restore."
                    : "Finish upgrading the control plane, then restore."), "version-mismatch");
    }

    private static IResult NotRestorableNow(Store store) =>
        Problems.Conflict("The store cannot be restored now.", store.Phase switch
        {
            StorePhase.Restoring => $"Store '{store.Name}' is already restoring backup {store.Restore?.Backup}; wait until it is done.",
            StorePhase.Updating => $"Store '{store.Name}' is being updated; restore it once that is done.",
            StorePhase.Failed => $"Store '{store.Name}' failed while {store.FailedPhase?.ToWire() ?? "working"}, not in a restore: retry it (or delete it) first.",
            StorePhase.Deleting => $"Store '{store.Name}' is being deleted.",
            _ => $"Store '{store.Name}' is {store.Phase.ToWire()}: a backup is restored into a ready or degraded store. Wait until it is ready.",
        }, "store-not-restorable");

    /// <summary>The backup a successful <see cref="StartAsync"/> started.</summary>
    public static BackupResource? Started(CommandResult result) =>
        result.Result is Microsoft.AspNetCore.Http.HttpResults.Accepted<BackupResource> accepted ? accepted.Value : null;

    private Task Audit(Actor actor, string client, string store, string result, string? detail = null) =>
        AuditAs(AuditActions.StoreBackup, actor, client, store, result, detail);

    private Task AuditAs(string action, Actor actor, string client, string store, string result, string? detail = null) =>
        audit.RecordAsync(new AuditEntry(clock.GetUtcNow(), actor.Subject, actor.Role, client, action, $"store/{store}", result, detail));
}

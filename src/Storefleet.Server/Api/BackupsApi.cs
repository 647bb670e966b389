using Storefleet.Core.Backups;
using Storefleet.Core.Stores;
using Storefleet.Server.Access;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>
/// A store's backups under <c>/api/v1/stores/{name}/backups</c>: list them (anyone who may read the store), take one now
/// (its owner as a member, or an admin); another owner's store is not found. Only metadata passes here: the data is in the restic repository.
/// </summary>
public static class BackupsApi
{
    public static IEndpointRouteBuilder MapBackupsApi(this IEndpointRouteBuilder app)
    {
        var backups = app.MapGroup("/api/v1/stores/{name}/backups").WithTags("Backups").RequireAuthorization(AccessPolicies.Read);

        backups.MapGet("/", ListBackups)
            .WithName("ListStoreBackups")
            .WithSummary("The store's backups, newest first: id, trigger, status, time, snapshot, sizes, versions, and why a failed one failed")
            .Produces<BackupListResource>();

        backups.MapPost("/", StartBackup)
            .WithName("BackUpStore")
            .WithSummary("Back the store up now (202)")
            .WithDescription("Starts a backup Job from the store's backup CronJob (the same pod the scheduled backups run): a consistent dump of the database " +
                "and the store's wp-content, as one encrypted restic snapshot. 202 with the backup (status running, Location to follow it); its result is " +
                "recorded when the Job finishes. 409 when backups are not configured, the store is not live, or it has no backup CronJob yet.")
            .Produces<BackupResource>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireAuthorization(AccessPolicies.Write);

        app.MapPost("/api/v1/stores/{name}/restore", RestoreStore)
            .WithTags("Backups")
            .WithName("RestoreStore")
            .WithSummary("Restore one of the store's backups in place (202)")
            .WithDescription("Body {\"backup\": \"<id>\"}. The store goes restoring: a safety backup of the store as it is now, WordPress stopped, " +
                "the database and wp-content replaced by the backup's, WordPress started again and the smoke test; then ready. If the restore fails the store " +
                "is failed with the reason and the safety backup to restore instead; if the safety backup fails nothing is touched and the store stays ready. " +
                "404 for an unknown backup, 409 when backups are not configured, the backup did not succeed, or the store is not ready, degraded or failed in a restore.")
            .Accepts<RestoreStoreRequest>("application/json")
            .Produces<StoreResource>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(AccessPolicies.Write);

        backups.MapPut("/schedule", SetSchedule)
            .WithName("SetStoreBackupSchedule")
            .WithSummary("Back this store up on its own schedule instead of its plan's (202)")
            .WithDescription("Body {\"schedule\": \"hourly\"}, \"daily\" or a five-field cron expression; null returns to the plan's. The store's backup CronJob " +
                "changes with its release (phase updating, then ready). 200 when it already has that schedule; 409 when backups are off or the store is not live.")
            .Accepts<BackupScheduleRequest>("application/json")
            .Produces<StoreResource>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(AccessPolicies.Write);

        backups.MapGet("/{id}", GetBackup).WithName("GetStoreBackup").WithSummary("One backup of the store");

        app.MapGet("/api/v1/fleet/backups", async (Storefleet.Engine.Backups.FleetBackups fleet, CancellationToken cancellationToken) => TypedResults.Ok(await fleet.ReadAsync(cancellationToken)))
            .WithTags("Backups")
            .WithName("ReadFleetBackups")
            .WithSummary("Live stores without a recent successful backup (hourly plans: 2 hours; daily: 26 hours), with their latest one")
            .Produces<Storefleet.Engine.Backups.FleetBackupReport>()
            .RequireAuthorization(AccessPolicies.Administer);
        return app;
    }

    internal static async Task<IResult> ListBackups(string name, HttpContext http, IStoreRepository stores, IBackupRepository backups, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var (store, problem) = await VisibleAsync(name, http, stores, actors, cancellationToken);
        if (store is null)
        {
            return problem!;
        }

        return TypedResults.Ok(new BackupListResource([.. (await backups.ListAsync(name, cancellationToken: cancellationToken))
            .Where(b => Storefleet.Engine.Backups.BackupJobs.BelongsTo(b, store)).Select(BackupResource.From)]));
    }

    internal static async Task<IResult> GetBackup(string name, string id, HttpContext http, IStoreRepository stores, IBackupRepository backups, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var (store, problem) = await VisibleAsync(name, http, stores, actors, cancellationToken);
        if (store is null)
        {
            return problem!;
        }

        return await backups.GetAsync(name, id, cancellationToken) is { } backup && Storefleet.Engine.Backups.BackupJobs.BelongsTo(backup, store)
            ? TypedResults.Ok(BackupResource.From(backup))
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Backup not found.",
                detail: $"Store '{name}' has no backup '{id}'. List its backups with GET /api/v1/stores/{name}/backups.", type: Problems.TypeBase + "backup-not-found");
    }

    internal static async Task<IResult> StartBackup(string name, HttpContext http, BackupCommands commands, IActorAccessor actors, CancellationToken cancellationToken) =>
        (await commands.StartAsync(actors.Current(http), AuditTrail.ClientAddress(http), name, cancellationToken)).Result;

    internal static async Task<IResult> SetSchedule(string name, HttpContext http, BackupCommands commands, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var (request, problem) = await JsonRequestBody.ReadAsync<BackupScheduleRequest>(http.Request, cancellationToken);
        if (request is null)
        {
            return problem!;
        }

        return (await commands.SetScheduleAsync(actors.Current(http), AuditTrail.ClientAddress(http), name, request, cancellationToken)).Result;
    }

    internal static async Task<IResult> RestoreStore(string name, HttpContext http, BackupCommands commands, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var (request, problem) = await JsonRequestBody.ReadAsync<RestoreStoreRequest>(http.Request, cancellationToken);
        if (request is null)
        {
            return problem!;
        }

        return (await commands.RestoreAsync(actors.Current(http), AuditTrail.ClientAddress(http), name, request, cancellationToken)).Result;
    }

    /// <summary>The store when the actor may see it (its owner or an admin); otherwise the problem to answer (invalid name, not found).</summary>
    private static async Task<(Store? Store, IResult? Problem)> VisibleAsync(string name, HttpContext http, IStoreRepository stores, IActorAccessor actors, CancellationToken cancellationToken)
    {
        if (StoresApi.InvalidName(name) is { } invalid)
        {
            return (null, invalid);
        }

        var store = await stores.GetAsync(name, cancellationToken);
        return store is null || !actors.Current(http).CanSee(store.Owner) ? (null, Problems.StoreNotFound(name)) : (store, null);
    }
}

public sealed record BackupResource(
    string Id,
    string Store,
    string Trigger,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    string? Snapshot,
    long? BytesAdded,
    long? TotalBytes,
    long? Files,
    double? DurationSeconds,
    string? Reason,
    BackupVersions? Versions)
{
    public static BackupResource From(Backup b) =>
        new(b.Id, b.Store, b.Trigger.ToWire(), b.Status.ToWire(), b.StartedAt, b.FinishedAt, b.Snapshot, b.BytesAdded, b.TotalBytes, b.Files, b.DurationSeconds, b.Reason, b.Versions);
}

public sealed record BackupListResource(IReadOnlyList<BackupResource> Items);

using Microsoft.Extensions.Options;
using Storefleet.Core.Backups;
using Storefleet.Core.Stores;
using Storefleet.Engine.Backups;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>
/// Checks a clone's source at the edge: backups configured, the source store named validly, the backup one of its
/// backups that succeeded, and the caller allowed to read it — the source's owner or an admin, also after the source
/// was deleted (its backups keep their owner). Another owner's backup is not found, as their stores are.
/// </summary>
public sealed class CloneSources(IStoreRepository stores, IBackupRepository backups, IOptions<BackupOptions> options)
{
    public async Task<(CloneSource? Source, IResult? Problem)> ResolveAsync(Actor actor, RestoreFromRequest request, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return (null, Problems.Conflict("Backups are not configured.",
                "A store is cloned from a backup, and backups are not configured on this platform: an administrator sets Storefleet:Backups:Repository and its Secrets (docs/backups.md).",
                "backups-disabled"));
        }

        var errors = new Dictionary<string, string[]>();
        if (StoreName.Validate(request.Store) is { } nameError)
        {
            errors["restoreFrom.store"] = [nameError];
        }

        if (string.IsNullOrWhiteSpace(request.Backup) || request.Backup.Length > 253)
        {
            errors["restoreFrom.backup"] = ["Name the backup to clone: its id, as GET /api/v1/stores/{store}/backups lists it."];
        }

        if (errors.Count > 0)
        {
            return (null, Problems.Validation(errors));
        }

        var backup = await backups.GetAsync(request.Store!, request.Backup!, cancellationToken);
        var source = await stores.GetAsync(request.Store!, cancellationToken);
        // Whose the backup is: the live source's owner when it is that store's backup (not an earlier store's of the same
        // name); else the owner recorded with it.
        var owner = backup is not null && source is not null && backup.Repository == BackupJobs.RepositoryName(source) ? source.Owner : backup?.Owner;
        if (backup is null || !(actor.IsAdmin || (owner is not null && actor.CanSee(owner))))
        {
            return (null, TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Backup not found.",
                detail: $"Store '{request.Store}' has no backup '{request.Backup}' you may read. List its backups with GET /api/v1/stores/{request.Store}/backups (while it exists), or ask an administrator.",
                type: Problems.TypeBase + "backup-not-found"));
        }

        if (backup is not { Status: BackupStatus.Succeeded, Snapshot: { Length: > 0 } snapshot, Repository: { Length: > 0 } repository })
        {
            return (null, Problems.Conflict("The backup cannot be cloned.",
                $"Backup '{backup.Id}' of store '{request.Store}' is {backup.Status.ToWire()}{(backup.Repository is null ? " and has no recorded repository" : string.Empty)}: only a backup that succeeded can be cloned. Choose another.",
                "backup-not-restorable"));
        }

        return (new CloneSource(request.Store!, backup.Id, snapshot, repository), null);
    }
}

using Storefleet.Core.Backups;
using Storefleet.Core.Stores;
using Storefleet.Engine.Backups;
using Storefleet.Server.Access;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>
/// Taking a backup now — the same rules for the API and the dashboard: the store's owner or an admin (another owner's
/// store is not found), a live store only, backups configured; audited as <c>store.backup</c>.
/// </summary>
public sealed class BackupCommands(IStoreRepository stores, BackupRequests requests, AuditTrail audit, TimeProvider clock)
{
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

    /// <summary>The backup a successful <see cref="StartAsync"/> started.</summary>
    public static BackupResource? Started(CommandResult result) =>
        result.Result is Microsoft.AspNetCore.Http.HttpResults.Accepted<BackupResource> accepted ? accepted.Value : null;

    private Task Audit(Actor actor, string client, string store, string result, string? detail = null) =>
        audit.RecordAsync(new AuditEntry(clock.GetUtcNow(), actor.Subject, actor.Role, client, AuditActions.StoreBackup, $"store/{store}", result, detail));
}

namespace Storefleet.Core.Backups;

/// <summary>The backups recorded for each store (metadata only), kept after the store is deleted.</summary>
public interface IBackupRepository
{
    /// <summary>Records a backup or its progress (by id). A finished backup is never changed back to running.</summary>
    Task RecordAsync(Backup backup, CancellationToken cancellationToken = default);

    /// <summary>A store's backups, newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<Backup>> ListAsync(string store, int limit = 100, CancellationToken cancellationToken = default);

    Task<Backup?> GetAsync(string store, string id, CancellationToken cancellationToken = default);
}

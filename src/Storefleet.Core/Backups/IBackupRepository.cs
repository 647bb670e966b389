namespace Storefleet.Core.Backups;

/// <summary>The backups recorded for each store (metadata only), kept after the store is deleted.</summary>
public interface IBackupRepository
{
    /// <summary>Records a backup or its progress (by id). A finished backup is never changed back to running.</summary>
    Task RecordAsync(Backup backup, CancellationToken cancellationToken = default);

    /// <summary>A store's backups, newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<Backup>> ListAsync(string store, int limit = 100, CancellationToken cancellationToken = default);

    Task<Backup?> GetAsync(string store, string id, CancellationToken cancellationToken = default);

    /// <summary>A deleted store's repository is purged at <paramref name="due"/> (kept until then; scheduling again moves it).</summary>
    Task SchedulePurgeAsync(RepositoryPurge purge, DateTimeOffset due, CancellationToken cancellationToken = default);

    /// <summary>The purges due at <paramref name="now"/>, oldest first.</summary>
    Task<IReadOnlyList<RepositoryPurge>> PurgesDueAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Every scheduled purge and when it is due.</summary>
    Task<IReadOnlyList<(RepositoryPurge Purge, DateTimeOffset Due)>> PurgesAsync(CancellationToken cancellationToken = default);

    /// <summary>The repository was purged: its backups' records go (another store's of the same name stay), and so does the schedule.</summary>
    Task CompletePurgeAsync(RepositoryPurge purge, CancellationToken cancellationToken = default);
}

/// <summary>The repository of a deleted store, to be emptied: <paramref name="Repository"/> (its name and uid) of store <paramref name="Store"/>.</summary>
public sealed record RepositoryPurge(string Store, string Repository);

using Storefleet.Core.Provisioning;

namespace Storefleet.Core.Stores;

/// <summary>
/// Durable store records, their indexes and event timelines. Implementations are thread-safe and
/// every method is atomic: a record and its index entries change together or not at all.
/// Methods throw when the backing store is unreachable; they never return partial results.
/// </summary>
public interface IStoreRepository
{
    /// <summary>
    /// Writes <paramref name="store"/> with its first event if no store of that name exists.
    /// Otherwise leaves everything as it is and returns the existing record.
    /// </summary>
    Task<CreateStoreResult> CreateAsync(Store store, StoreEvent created, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="CreateAsync(Store, StoreEvent, CancellationToken)"/>, refusing (atomically, in the
    /// same step as the insert) when the owner or the platform is at one of <paramref name="limits"/>.
    /// </summary>
    Task<CreateStoreResult> CreateAsync(Store store, StoreEvent created, CreateLimits limits, CancellationToken cancellationToken = default);

    Task<Store?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The record of the leased store while <paramref name="lease"/> is still held (one atomic read); null when the lease or the record is gone.</summary>
    Task<Store?> GetIfLeasedAsync(Lease lease, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the record if its current version is <paramref name="updated"/>.<see cref="Store.Version"/>,
    /// keeps the phase index in step and appends <paramref name="events"/> to the timeline. With a
    /// <paramref name="lease"/>, writes only while that lease is still held (fencing).
    /// </summary>
    Task<UpdateStoreResult> UpdateAsync(Store updated, IReadOnlyList<StoreEvent> events, Lease? lease = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the record and its index entries if its version matches, appending <paramref name="tombstone"/>
    /// to the timeline, which then expires after the configured retention.
    /// </summary>
    Task<UpdateStoreResult> RemoveAsync(Store current, StoreEvent tombstone, Lease? lease = null, CancellationToken cancellationToken = default);

    /// <summary>Names of the stores in <paramref name="phase"/>, oldest first (for resync and recovery).</summary>
    Task<IReadOnlyList<string>> NamesInPhaseAsync(StorePhase phase, CancellationToken cancellationToken = default);

    /// <summary>Raised (on any instance) after a store record changed or was removed, with its name.</summary>
    event Action<string>? Changed;

    /// <summary>One page of stores, newest first. Cost is proportional to the page size, not the total.</summary>
    Task<StorePage> ListAsync(StoreQuery query, CancellationToken cancellationToken = default);

    /// <summary>The store's timeline, oldest first (at most the configured cap).</summary>
    Task<IReadOnlyList<StoreEvent>> GetEventsAsync(string name, CancellationToken cancellationToken = default);

    Task AppendEventAsync(string name, StoreEvent storeEvent, CancellationToken cancellationToken = default);

    /// <summary>The latest event of each store (null where there is none), in one round trip.</summary>
    Task<IReadOnlyList<StoreEvent?>> GetLatestEventsAsync(IReadOnlyList<string> names, CancellationToken cancellationToken = default);

    /// <summary>The store's timeline with stable ids (an entry keeps its id when older ones are trimmed), oldest first.</summary>
    Task<IReadOnlyList<TimelineEntry>> GetTimelineAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Changes to store records after sequence number <paramref name="after"/> (0: none, just the position), oldest first.
    /// <see cref="ChangeFeedPage.Oldest"/> says how far back the feed reaches: a reader further behind missed changes.
    /// </summary>
    Task<ChangeFeedPage> GetChangesAsync(long after, CancellationToken cancellationToken = default);
}

/// <summary>One timeline entry and its id (the count of events appended to the store's timeline up to it).</summary>
public sealed record TimelineEntry(long Id, StoreEvent Event);

public enum StoreChangeType
{
    Added,
    Modified,
    Deleted,
}

/// <summary>A change to one store record: its sequence number in the feed, what happened, the store and its owner.</summary>
public sealed record StoreChange(long Sequence, StoreChangeType Type, string Name, string Owner);

/// <summary>
/// Changes after a position. <paramref name="Latest"/>: the newest sequence number; <paramref name="Oldest"/>: the oldest
/// still kept — a reader whose position is below <c>Oldest - 1</c> missed changes and must list again.
/// </summary>
public sealed record ChangeFeedPage(IReadOnlyList<StoreChange> Changes, long Latest, long Oldest)
{
    public bool Missed(long after) => after < Oldest - 1 && Latest >= Oldest;
}

public abstract record CreateStoreResult
{
    private CreateStoreResult()
    {
    }

    public sealed record Created(Store Store) : CreateStoreResult;

    public sealed record AlreadyExists(Store Existing) : CreateStoreResult;

    /// <summary>Refused: <paramref name="Limit"/> (e.g. stores-per-owner) is at <paramref name="Value"/>.</summary>
    public sealed record LimitReached(string Limit, long Value) : CreateStoreResult;
}

/// <summary>Blast-radius limits checked atomically with a create. Zero means no limit.</summary>
public sealed record CreateLimits(int MaxStoresPerOwner, int MaxStoresTotal, int MaxInProgressPerOwner)
{
    public const string StoresPerOwner = "stores-per-owner";
    public const string StoresTotal = "stores-total";
    public const string InProgressPerOwner = "provisioning-per-owner";

    public static CreateLimits None { get; } = new(0, 0, 0);
}

public abstract record UpdateStoreResult
{
    private UpdateStoreResult()
    {
    }

    public sealed record Updated(Store Store) : UpdateStoreResult;

    public sealed record NotFound : UpdateStoreResult;

    public sealed record VersionConflict(long CurrentVersion) : UpdateStoreResult;

    /// <summary>The writer's lease is no longer held: another worker may own the store now.</summary>
    public sealed record LeaseLost : UpdateStoreResult;
}

/// <summary>
/// A page request. <paramref name="Continue"/> is the opaque token of the previous page;
/// <paramref name="NameSearch"/> keeps stores whose name, or one of its hyphen-separated words, starts with the text
/// (<c>shop</c> finds <c>shop-1</c> and <c>alice-shop</c>; <c>hop</c> finds neither): an index lookup, never a scan.
/// </summary>
public sealed record StoreQuery(int Limit, string? Continue = null, StorePhase? Phase = null, string? Owner = null, string? NameSearch = null)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;
}

/// <summary>A page of stores; <paramref name="Continue"/> is null on the last page.</summary>
public sealed record StorePage(IReadOnlyList<Store> Items, string? Continue);

/// <summary>A name search matches more stores than one search may examine; the text should be longer.</summary>
public sealed class SearchTooBroadException(string search, int limit)
    : ArgumentException($"More than {limit} stores match '{search}'. Type more of the name.");

/// <summary>The continue token could not be read (tampered, truncated or from another query).</summary>
public sealed class InvalidContinueTokenException(string message) : ArgumentException(message);

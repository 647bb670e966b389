namespace Storefleet.Core.Pool;

/// <summary>
/// The shared state of the warm pool, beside the member records: which kind (engine/plan) each member is, which store
/// claimed which member (atomically, across replicas), and members set aside for recycling. Every method is atomic.
/// </summary>
public interface IWarmPoolState
{
    /// <summary>Files a new member under its kind (engine/plan, see <see cref="WarmPool.Kind"/>) so creates of that kind can claim it.</summary>
    Task RegisterAsync(string member, string kind, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims the oldest idle member of <paramref name="kind"/> for <paramref name="store"/>: a member that is Ready, not
    /// claimed, not retiring and not stale — one member, one store, across replicas. Asking again for the same store (its
    /// engine was killed before it recorded the claim) returns the same member, if it is of that kind. Null: none idle.
    /// </summary>
    Task<string?> ClaimAsync(string store, string kind, CancellationToken cancellationToken = default);

    /// <summary>The store recorded its claim: a later store of the same name claims afresh. The member stays placed (see <see cref="StoreOfAsync"/>).</summary>
    Task ClaimRecordedAsync(string store, CancellationToken cancellationToken = default);

    /// <summary>The store a member's namespace now belongs to (it claimed the member); null when the member is unclaimed.</summary>
    Task<string?> StoreOfAsync(string member, CancellationToken cancellationToken = default);

    /// <summary>Every claim: member → store (for the pool's view).</summary>
    Task<IReadOnlyDictionary<string, string>> ClaimsAsync(CancellationToken cancellationToken = default);

    /// <summary>Claims not yet recorded by their store: store → member (a killed engine's; cleared when the store went on without).</summary>
    Task<IReadOnlyDictionary<string, string>> PendingClaimsAsync(CancellationToken cancellationToken = default);

    /// <summary>Members set aside for deletion (see <see cref="RetireAsync"/>).</summary>
    Task<IReadOnlySet<string>> RetiringAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The members no create may claim because they are not on what the keeping control plane installs (outdated, or
    /// ahead of it): replaces the whole set.
    /// </summary>
    Task SetStaleAsync(IReadOnlyCollection<string> members, CancellationToken cancellationToken = default);

    /// <summary>Adds one member to the stale set (a replica found it is not on what it installs); the keeper's next look decides again.</summary>
    Task MarkStaleAsync(string member, CancellationToken cancellationToken = default);

    /// <summary>Every registered member and its kind.</summary>
    Task<IReadOnlyDictionary<string, string>> MembersAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets an idle member aside so no create claims it (it is about to be deleted: recycled, shrunk or failed). False when
    /// a store claimed it first.
    /// </summary>
    Task<bool> RetireAsync(string member, CancellationToken cancellationToken = default);

    /// <summary>Forgets <paramref name="member"/> entirely (its namespace is gone, or the store that claimed it is): kind, claim, retirement.</summary>
    Task ForgetAsync(string member, CancellationToken cancellationToken = default);

    /// <summary>A claim whose store never recorded it (the store is gone, or provisioned without it): the member is idle again.</summary>
    Task ReleaseClaimAsync(string member, string store, CancellationToken cancellationToken = default);

    /// <summary>Takes the pool keeper's turn for <paramref name="ttl"/> (one replica keeps the pool at a time); true while held.</summary>
    Task<bool> TryKeepAsync(string holder, TimeSpan ttl, CancellationToken cancellationToken = default);
}

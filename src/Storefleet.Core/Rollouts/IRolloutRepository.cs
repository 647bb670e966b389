namespace Storefleet.Core.Rollouts;

/// <summary>
/// Durable rollouts and their timelines. Every write is checked against the record's version, and a store belongs to at
/// most one active rollout (claimed atomically when the rollout is created, released when it is no longer active).
/// </summary>
public interface IRolloutRepository
{
    /// <summary>
    /// Writes a new rollout with its first event, claiming its stores. Stores already in another active rollout are not
    /// claimed: the result names them and nothing is written.
    /// </summary>
    Task<CreateRolloutResult> CreateAsync(Rollout rollout, RolloutEvent created, CancellationToken cancellationToken = default);

    Task<Rollout?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>The newest rollouts first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<Rollout>> ListAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>The ids of the rollouts that are active (running, paused, or with upgrades under way).</summary>
    Task<IReadOnlyList<string>> ActiveIdsAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the rollout if its version is still <paramref name="updated"/>.<see cref="Rollout.Version"/> and appends the events; null on a version conflict.</summary>
    Task<Rollout?> UpdateAsync(Rollout updated, IReadOnlyList<RolloutEvent> events, CancellationToken cancellationToken = default);

    /// <summary>The rollout's timeline, oldest first (at most the newest few thousand entries).</summary>
    Task<IReadOnlyList<RolloutEvent>> GetEventsAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Takes or renews the right to advance a rollout for <paramref name="ttl"/>; false when another holds it.</summary>
    Task<bool> TryLeaseAsync(string id, string holder, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Raised (on any instance) after a rollout changed, with its id.</summary>
    event Action<string>? Changed;
}

public abstract record CreateRolloutResult
{
    private CreateRolloutResult()
    {
    }

    public sealed record Created(Rollout Rollout) : CreateRolloutResult;

    /// <summary>Refused: these stores are in other active rollouts (store → rollout id).</summary>
    public sealed record StoresBusy(IReadOnlyDictionary<string, string> Stores) : CreateRolloutResult;
}

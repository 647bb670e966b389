namespace Storefleet.Core.Provisioning;

/// <summary>
/// A worker's exclusive right to act on one store: held until <see cref="IWorkQueue.CompleteAsync"/> or
/// until its TTL lapses without renewal. <see cref="Fence"/> grows with every acquisition; <see cref="Nonce"/>
/// is random per claim, so two claims never share a token even when a Redis failover loses a fence
/// increment or two replicas share a holder name. Every write a worker makes is checked against the
/// token, so a worker that lost its lease cannot write.
/// </summary>
public sealed record Lease(string Store, string Holder, long Fence, string Nonce)
{
    public string Token => $"{Holder}:{Fence}:{Nonce}";
}

/// <summary>
/// The engine's due-time ordered work queue with per-store leases. Enqueueing a store that is queued
/// keeps the earlier due time; enqueueing a store that is being worked on marks it to run again as soon
/// as the current work completes, so no change is ever missed.
/// </summary>
public interface IWorkQueue
{
    Task EnqueueAsync(string store, DateTimeOffset due, CancellationToken cancellationToken = default);

    /// <summary>Takes up to <paramref name="max"/> due stores whose lease is free, leasing each for <paramref name="ttl"/>.</summary>
    Task<IReadOnlyList<Lease>> ClaimAsync(string holder, int max, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease; false when it was lost (expired and possibly taken by another worker).</summary>
    Task<bool> RenewAsync(Lease lease, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Releases the lease and schedules the store again at <paramref name="nextDue"/> (null: done, unless marked to run again).</summary>
    Task CompleteAsync(Lease lease, DateTimeOffset? nextDue, CancellationToken cancellationToken = default);

    /// <summary>When the earliest queued store is due, or null when the queue is empty.</summary>
    Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default);

    /// <summary>Raised (on any instance) when a store became due now, so idle workers wake at once.</summary>
    event Action? Signalled;

    /// <summary>
    /// Cancelled the next time the connection to the queue's store is restored (a reconnection, a failover to another
    /// primary): every lease holder re-checks its lease at once, since a failover may have lost it.
    /// </summary>
    CancellationToken NextReconnection { get; }
}

using StackExchange.Redis;
using Storefleet.Core.Provisioning;

namespace Storefleet.Engine.Tests;

/// <summary>
/// The work queue, except that while <see cref="losing"/> says so for a store, its lease renewals reach Redis (the lease
/// is extended) but their answers are lost: the caller sees a timeout, as after a network stall or a slow failover.
/// </summary>
public sealed class RenewalAnswersLost(IWorkQueue inner, Func<string, bool> losing) : IWorkQueue
{
    public int Lost { get; private set; }

    public async Task<bool> RenewAsync(Lease lease, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var renewed = await inner.RenewAsync(lease, ttl, cancellationToken);
        if (losing(lease.Store))
        {
            Lost++;
            throw new RedisTimeoutException(CommandFlags.None, "Timeout awaiting response (simulated: the renewal landed, its answer was lost)", CommandStatus.Sent);
        }

        return renewed;
    }

    public Task EnqueueAsync(string store, DateTimeOffset due, CancellationToken cancellationToken = default) => inner.EnqueueAsync(store, due, cancellationToken);

    public Task<IReadOnlyList<Lease>> ClaimAsync(string holder, int max, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        inner.ClaimAsync(holder, max, ttl, cancellationToken);

    public Task CompleteAsync(Lease lease, DateTimeOffset? nextDue, CancellationToken cancellationToken = default) => inner.CompleteAsync(lease, nextDue, cancellationToken);

    public Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default) => inner.NextDueAsync(cancellationToken);

    public event Action? Signalled
    {
        add => inner.Signalled += value;
        remove => inner.Signalled -= value;
    }

    public CancellationToken NextReconnection => inner.NextReconnection;
}

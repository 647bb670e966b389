using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// Redis replicates asynchronously: a write the primary acknowledged can vanish when a replica is promoted. The writes a
/// person was told succeeded (a store's creation, a deletion or plan change accepted, a token created or revoked) wait
/// for <see cref="StateOptions.MinReplicaAcknowledgements"/> replicas to hold them (<c>WAIT</c>) before the answer is
/// sent. Off (0) for a single node and embedded Garnet.
/// </summary>
public sealed class ReplicaAcknowledgements(IConnectionMultiplexer redis, IOptions<StateOptions> options)
{
    public int Required => options.Value.MinReplicaAcknowledgements;

    /// <summary>Returns once the connection's writes so far are on enough replicas; throws <see cref="ReplicationNotConfirmedException"/> otherwise.</summary>
    public async Task ConfirmAsync(string what)
    {
        var required = Required;
        if (required == 0)
        {
            return;
        }

        var timeout = options.Value.ReplicaAcknowledgementTimeout;
        var acknowledged = (long)(await redis.GetDatabase().ExecuteAsync("WAIT", required, (long)timeout.TotalMilliseconds).ConfigureAwait(false));
        if (acknowledged < required)
        {
            throw new ReplicationNotConfirmedException(what, required, acknowledged, timeout);
        }
    }
}

/// <summary>A write reached the primary but not enough replicas in time: it may not survive a failover.</summary>
public sealed class ReplicationNotConfirmedException(string what, int required, long acknowledged, TimeSpan timeout)
    : Exception($"The {what} was written but only {acknowledged} of the {required} required Redis replicas confirmed it within {timeout.TotalSeconds:0.#} s.")
{
    public string What { get; } = what;
}

using System.Collections.Concurrent;
using Storefleet.Core.Pool;

namespace Storefleet.Engine.Pool;

/// <summary>
/// Which store a namespace's objects belong to when the namespace is a claimed warm-pool member's (named after the
/// member, not the store): cluster events, backup runs and cron runs there are the claiming store's once the store has
/// recorded its claim. A member's name is random and never reused, so a recorded claim never changes and is kept in
/// memory; a claim not yet recorded (it may still be given back) is looked up again each time.
/// </summary>
public sealed class PoolPlacements(IWarmPoolState pool, Core.Stores.IStoreRepository repository)
{
    private readonly ConcurrentDictionary<string, string> _claimed = new(StringComparer.Ordinal);

    /// <summary>The store for a namespace's name without a Redis read, when that is known (every name that is not a member's).</summary>
    public bool TryResolve(string clusterName, out string store)
    {
        if (!clusterName.StartsWith(WarmPool.MemberPrefix, StringComparison.Ordinal))
        {
            store = clusterName;
            return true;
        }

        return _claimed.TryGetValue(clusterName, out store!);
    }

    /// <summary>The store whose objects carry <paramref name="clusterName"/>: the claiming store's for a claimed member, else the name itself.</summary>
    public async Task<string> ResolveAsync(string clusterName, CancellationToken cancellationToken)
    {
        if (TryResolve(clusterName, out var known))
        {
            return known;
        }

        var store = await pool.StoreOfAsync(clusterName, cancellationToken);
        if (store is null)
        {
            return clusterName;
        }

        var record = await repository.GetAsync(store, cancellationToken);
        if (record?.ClusterName != clusterName)
        {
            // Claimed but not yet taken over: still the member's namespace.
            return clusterName;
        }

        _claimed[clusterName] = store;
        return store;
    }
}

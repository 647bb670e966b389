using System.Collections.Concurrent;
using Storefleet.Core.Pool;

namespace Storefleet.Engine.Pool;

/// <summary>
/// Which store a namespace's objects belong to when the namespace is a claimed warm-pool member's (named after the
/// member, not the store): cluster events, backup runs and cron runs there are the claiming store's. A member's name is
/// random and never reused, so a mapping once found never changes and is kept in memory.
/// </summary>
public sealed class PoolPlacements(IWarmPoolState pool)
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

        _claimed[clusterName] = store;
        return store;
    }
}

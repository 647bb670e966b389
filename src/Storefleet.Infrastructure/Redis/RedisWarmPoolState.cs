using StackExchange.Redis;
using Storefleet.Core.Pool;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary><see cref="IWarmPoolState"/> on Redis: hashes of members' kinds and claims, a set of retiring members, one Lua claim.</summary>
public sealed class RedisWarmPoolState(IConnectionMultiplexer redis, RedisKeys keys) : IWarmPoolState
{
    /// <summary>
    /// KEYS: the pool owner's store index (oldest first), the Ready phase index, members (member → kind), claims
    /// (member → store), claiming (store → member), retiring, stale. ARGV: store, kind. Returns the member claimed, or nil.
    /// A claim the store already holds is returned only if it is of the kind asked for (else it is given back first).
    /// </summary>
    private const string Claim = """
        local held = redis.call('HGET', KEYS[5], ARGV[1])
        if held then
          if redis.call('HGET', KEYS[3], held) == ARGV[2] then
            return held
          end
          redis.call('HDEL', KEYS[5], ARGV[1])
          if redis.call('HGET', KEYS[4], held) == ARGV[1] then
            redis.call('HDEL', KEYS[4], held)
          end
        end
        for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          if redis.call('HGET', KEYS[3], name) == ARGV[2] and redis.call('ZSCORE', KEYS[2], name)
              and redis.call('HEXISTS', KEYS[4], name) == 0 and redis.call('SISMEMBER', KEYS[6], name) == 0
              and redis.call('SISMEMBER', KEYS[7], name) == 0 then
            redis.call('HSET', KEYS[4], name, ARGV[1])
            redis.call('HSET', KEYS[5], ARGV[1], name)
            return name
          end
        end
        return false
        """;

    /// <summary>KEYS: claims, retiring. ARGV: member. Retires an unclaimed member; 0 when it is claimed.</summary>
    private const string Retire = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
          return 0
        end
        redis.call('SADD', KEYS[2], ARGV[1])
        return 1
        """;

    /// <summary>KEYS: claims, claiming. ARGV: member, store. Releases the claim only if it is still that store's.</summary>
    private const string Release = """
        if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
          redis.call('HDEL', KEYS[1], ARGV[1])
        end
        if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
          redis.call('HDEL', KEYS[2], ARGV[2])
        end
        return 1
        """;

    private IDatabase Db => redis.GetDatabase();

    public Task RegisterAsync(string member, string kind, CancellationToken cancellationToken = default) =>
        Db.HashSetAsync(keys.PoolMembers, member, kind);

    public async Task<string?> ClaimAsync(string store, string kind, CancellationToken cancellationToken = default)
    {
        var result = await Db.ScriptEvaluateAsync(Claim,
            [keys.StoresByOwner(WarmPool.Owner), keys.StoresByPhase(StorePhase.Ready.ToWire()), keys.PoolMembers, keys.PoolClaims, keys.PoolClaiming, keys.PoolRetiring, keys.PoolStale],
            [store, kind]);
        return result.IsNull ? null : (string?)result;
    }

    public Task ClaimRecordedAsync(string store, CancellationToken cancellationToken = default) =>
        Db.HashDeleteAsync(keys.PoolClaiming, store);

    public async Task<string?> StoreOfAsync(string member, CancellationToken cancellationToken = default) =>
        (string?)await Db.HashGetAsync(keys.PoolClaims, member);

    public async Task<IReadOnlyDictionary<string, string>> ClaimsAsync(CancellationToken cancellationToken = default) =>
        (await Db.HashGetAllAsync(keys.PoolClaims)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);

    public async Task<IReadOnlyDictionary<string, string>> PendingClaimsAsync(CancellationToken cancellationToken = default) =>
        (await Db.HashGetAllAsync(keys.PoolClaiming)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);

    public async Task<IReadOnlySet<string>> RetiringAsync(CancellationToken cancellationToken = default) =>
        (await Db.SetMembersAsync(keys.PoolRetiring)).Select(v => (string)v!).ToHashSet(StringComparer.Ordinal);

    public async Task SetStaleAsync(IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
    {
        var transaction = Db.CreateTransaction();
        _ = transaction.KeyDeleteAsync(keys.PoolStale);
        if (members.Count > 0)
        {
            _ = transaction.SetAddAsync(keys.PoolStale, [.. members.Select(m => (RedisValue)m)]);
        }

        await transaction.ExecuteAsync();
    }

    public Task MarkStaleAsync(string member, CancellationToken cancellationToken = default) =>
        Db.SetAddAsync(keys.PoolStale, member);

    public async Task<IReadOnlyDictionary<string, string>> MembersAsync(CancellationToken cancellationToken = default) =>
        (await Db.HashGetAllAsync(keys.PoolMembers)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);

    public async Task<bool> RetireAsync(string member, CancellationToken cancellationToken = default) =>
        (long)await Db.ScriptEvaluateAsync(Retire, [keys.PoolClaims, keys.PoolRetiring], [member]) == 1;

    public async Task ForgetAsync(string member, CancellationToken cancellationToken = default)
    {
        var transaction = Db.CreateTransaction();
        _ = transaction.HashDeleteAsync(keys.PoolMembers, member);
        _ = transaction.HashDeleteAsync(keys.PoolClaims, member);
        _ = transaction.SetRemoveAsync(keys.PoolRetiring, member);
        await transaction.ExecuteAsync();
    }

    public Task ReleaseClaimAsync(string member, string store, CancellationToken cancellationToken = default) =>
        Db.ScriptEvaluateAsync(Release, [keys.PoolClaims, keys.PoolClaiming], [member, store]);

    public async Task<bool> TryKeepAsync(string holder, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var db = Db;
        if (await db.StringSetAsync(keys.PoolKeeper, holder, ttl, When.NotExists))
        {
            return true;
        }

        // Ours already: renew it (compare and extend in one step).
        return (long)await db.ScriptEvaluateAsync(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0",
            [keys.PoolKeeper], [holder, (long)ttl.TotalMilliseconds]) == 1;
    }
}

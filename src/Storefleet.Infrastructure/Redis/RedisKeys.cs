using StackExchange.Redis;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// Every Redis key the control plane uses, built in one place under one configurable prefix.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>Hash: <c>data</c> (JSON record) and <c>version</c> (optimistic concurrency).</summary>
    public RedisKey Store(string name) => $"{Prefix}store:{name}";

    /// <summary>Sorted set of every store name, scored by creation time (Unix ms).</summary>
    public RedisKey AllStores => $"{Prefix}stores";

    /// <summary>Sorted set of one owner's store names, scored by creation time.</summary>
    public RedisKey StoresByOwner(string owner) => $"{Prefix}stores:owner:{owner}";

    /// <summary>Sorted set of the store names in one phase, scored by creation time.</summary>
    public RedisKey StoresByPhase(string phase) => $"{Prefix}stores:phase:{phase}";

    /// <summary>Capped list of a store's events, oldest first.</summary>
    public RedisKey Events(string name) => $"{Prefix}events:{name}";

    /// <summary>Capped list of tombstones of deleted stores, newest last.</summary>
    public RedisKey Tombstones => $"{Prefix}tombstones";

    /// <summary>Stored first response for an <c>Idempotency-Key</c>.</summary>
    public RedisKey Idempotency(string scope, string key) => $"{Prefix}idem:{scope}:{key}";
}

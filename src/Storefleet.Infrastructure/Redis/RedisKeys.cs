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

    /// <summary>Sorted set of the store names on one plan, scored by creation time.</summary>
    public RedisKey StoresByPlan(string plan) => $"{Prefix}stores:plan:{plan}";

    /// <summary>Set of every plan id a store was ever on (the plan indexes that may exist).</summary>
    public RedisKey Plans => $"{Prefix}stores:plans";

    /// <summary>Marker: the plan indexes hold every store created before they existed too.</summary>
    public RedisKey PlanIndexBuilt => $"{Prefix}stores:plans:built";

    /// <summary>
    /// Sorted set, every score 0, of <c>"word-suffix name"</c> for each hyphen-separated word of each store name
    /// (<c>alice-shop</c>: <c>"alice-shop alice-shop"</c>, <c>"shop alice-shop"</c>): name search is a lexicographic range.
    /// </summary>
    public RedisKey NameIndex => $"{Prefix}stores:names";

    /// <summary>Marker: <see cref="NameIndex"/> holds every store created before it existed too.</summary>
    public RedisKey NameIndexBuilt => $"{Prefix}stores:names:built";

    /// <summary>Capped list of a store's events, oldest first.</summary>
    public RedisKey Events(string name) => $"{Prefix}events:{name}";

    /// <summary>Counter: how many events were ever appended to a store's timeline (the ids of timeline entries).</summary>
    public RedisKey EventCount(string name) => $"{Prefix}events-count:{name}";

    /// <summary>Counter: the sequence number of the latest change to any store record.</summary>
    public RedisKey ChangeSequence => $"{Prefix}changes:seq";

    /// <summary>Capped list of recent changes to store records ("seq TAB added|modified|deleted TAB name TAB owner"), oldest first.</summary>
    public RedisKey ChangeLog => $"{Prefix}changes:log";

    /// <summary>Sorted set of create→Ready durations (<c>"ms|nonce"</c>), scored by when the store became Ready.</summary>
    public RedisKey FleetReadyTimes => $"{Prefix}fleet:ready-times";

    /// <summary>Sorted set of engine step durations (<c>"step|ms|nonce"</c>), scored by when the step ended.</summary>
    public RedisKey FleetSteps => $"{Prefix}fleet:steps";

    /// <summary>Sorted set of once-a-minute counts of stores by phase (<c>"minute|json"</c>), scored by the minute.</summary>
    public RedisKey FleetPhaseSamples => $"{Prefix}fleet:phases";

    /// <summary>Capped list of tombstones of deleted stores, newest last.</summary>
    public RedisKey Tombstones => $"{Prefix}tombstones";

    /// <summary>Sorted set of store names the engine must look at, scored by due time (Unix ms).</summary>
    public RedisKey Queue => $"{Prefix}queue";

    /// <summary>String: the lease on one store, <c>holder:fence</c>, with a TTL.</summary>
    public RedisKey Lease(string name) => $"{Prefix}lease:{name}";

    /// <summary>Counter: the fencing token, incremented at each lease acquisition.</summary>
    public RedisKey Fence(string name) => $"{Prefix}fence:{name}";

    /// <summary>String: a live engine instance's registration (its random nonce), with a TTL renewed while it runs.</summary>
    public RedisKey Instance(string id) => $"{Prefix}instance:{id}";

    /// <summary>Flag: the store changed while leased; run it again as soon as the lease is released.</summary>
    public RedisKey Dirty(string name) => $"{Prefix}dirty:{name}";

    /// <summary>Hash: namespaces carrying our label with no store record (namespace → JSON report).</summary>
    public RedisKey Orphans => $"{Prefix}orphans";

    /// <summary>Hash: <c>data</c> (JSON rollout) and <c>version</c> (optimistic concurrency).</summary>
    public RedisKey Rollout(string id) => $"{Prefix}rollout:{id}";

    /// <summary>Sorted set of every rollout id, scored by creation time (Unix ms).</summary>
    public RedisKey Rollouts => $"{Prefix}rollouts";

    /// <summary>Set of the ids of active rollouts (running, paused, or with upgrades under way).</summary>
    public RedisKey ActiveRollouts => $"{Prefix}rollouts:active";

    /// <summary>Hash: store name → id of the active rollout that claimed it.</summary>
    public RedisKey RolloutClaims => $"{Prefix}rollouts:claims";

    /// <summary>Capped list of a rollout's events (JSON), oldest first.</summary>
    public RedisKey RolloutEvents(string id) => $"{Prefix}rollout-events:{id}";

    /// <summary>String: the replica advancing a rollout, with a TTL.</summary>
    public RedisKey RolloutLease(string id) => $"{Prefix}rollout-lease:{id}";

    /// <summary>Pub/sub: the id of a rollout that changed.</summary>
    public RedisChannel RolloutsChannel => RedisChannel.Literal($"{Prefix}rollouts");

    /// <summary>Pub/sub channel: a store record changed (message: the store name).</summary>
    public RedisChannel ChangesChannel => RedisChannel.Literal($"{Prefix}changes");

    /// <summary>Pub/sub channel: a store became due now (wakes idle workers on every instance).</summary>
    public RedisChannel QueueChannel => RedisChannel.Literal($"{Prefix}queue");

    /// <summary>String: an API token's record (JSON), keyed by the SHA-256 of the token; the token itself is never stored.</summary>
    public RedisKey Token(string tokenHash) => $"{Prefix}token:{tokenHash}";

    /// <summary>Hash: token id → token hash, for listing and revoking by id.</summary>
    public RedisKey Tokens => $"{Prefix}tokens";

    /// <summary>Capped list of audit entries (JSON), oldest first.</summary>
    public RedisKey Audit => $"{Prefix}audit";

    /// <summary>List: the ASP.NET Core data-protection key ring (encrypted with the configured certificate), shared by every replica.</summary>
    public RedisKey DataProtectionKeys => $"{Prefix}dataprotection-keys";

    /// <summary>Marker: an event about this Kubernetes object (by uid) was recorded already (with a TTL).</summary>
    public RedisKey Reported(string uid) => $"{Prefix}reported:{uid}";

    /// <summary>A store's backups: hash of backup id → JSON (metadata only).</summary>
    public RedisKey Backups(string store) => $"{Prefix}backups:{store}";

    /// <summary>A store's backups by start time (ms), for listing newest first and trimming.</summary>
    public RedisKey BackupTimes(string store) => $"{Prefix}backups-by-time:{store}";

    /// <summary>Sorted set of deleted stores' repositories to purge (member: JSON store and repository; score: due, unix ms).</summary>
    public RedisKey BackupPurges => $"{Prefix}backups:purges";

    /// <summary>Hash: warm-pool member → its kind (<c>engine/plan</c>).</summary>
    public RedisKey PoolMembers => $"{Prefix}pool:members";

    /// <summary>Hash: warm-pool member → the store that claimed it (for the store's life: its namespace is the member's).</summary>
    public RedisKey PoolClaims => $"{Prefix}pool:claims";

    /// <summary>Hash: store → the member it claimed, until the store's record holds the claim (a repeated claim finds it).</summary>
    public RedisKey PoolClaiming => $"{Prefix}pool:claiming";

    /// <summary>Set: idle members set aside for deletion (recycled, shrunk or failed): never claimed.</summary>
    public RedisKey PoolRetiring => $"{Prefix}pool:retiring";

    /// <summary>Set: members not on what the keeping control plane installs (outdated or ahead): never claimed.</summary>
    public RedisKey PoolStale => $"{Prefix}pool:stale";

    /// <summary>String: the replica keeping the warm pool (replenishing, recycling), with a TTL.</summary>
    public RedisKey PoolKeeper => $"{Prefix}pool:keeper";

    /// <summary>Stored first response for an <c>Idempotency-Key</c>.</summary>
    public RedisKey Idempotency(string scope, string key) => $"{Prefix}idem:{scope}:{key}";
}

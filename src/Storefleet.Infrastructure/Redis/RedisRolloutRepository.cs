using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;
using Storefleet.Core.Rollouts;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// <see cref="IRolloutRepository"/> on Redis (or Garnet): each write is one Lua script, so a rollout, its claims on
/// stores, the active set and its timeline never disagree.
/// </summary>
public sealed class RedisRolloutRepository : IRolloutRepository
{
    private const int MaxEvents = 5000;

    /// <summary>
    /// KEYS: rollout, all rollouts, active rollouts, events, claims. ARGV: id, json, score (ms), event json, then store names.
    /// Returns {1} when created, or {0, store, rollout, …} for stores claimed by another active rollout (nothing written).
    /// </summary>
    private const string CreateScript = """
        local busy = {}
        for i = 5, #ARGV do
          local owner = redis.call('HGET', KEYS[5], ARGV[i])
          if owner and redis.call('SISMEMBER', KEYS[3], owner) == 1 then
            table.insert(busy, ARGV[i])
            table.insert(busy, owner)
          end
        end
        if #busy > 0 then
          table.insert(busy, 1, 0)
          return busy
        end
        for i = 5, #ARGV do
          redis.call('HSET', KEYS[5], ARGV[i], ARGV[1])
        end
        redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', 1)
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
        redis.call('SADD', KEYS[3], ARGV[1])
        redis.call('RPUSH', KEYS[4], ARGV[4])
        return {1}
        """;

    /// <summary>
    /// KEYS: rollout, active rollouts, events, claims. ARGV: expected version, json, active (1/0), id, max events,
    /// event count n, n events, then the store names (claims released when no longer active). Returns the new version, or 0.
    /// </summary>
    private const string UpdateScript = """
        local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
        if version ~= tonumber(ARGV[1]) then
          return 0
        end
        redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', version + 1)
        local n = tonumber(ARGV[6])
        for i = 7, 6 + n do
          redis.call('RPUSH', KEYS[3], ARGV[i])
        end
        if n > 0 then
          redis.call('LTRIM', KEYS[3], -tonumber(ARGV[5]), -1)
        end
        if ARGV[3] == '1' then
          redis.call('SADD', KEYS[2], ARGV[4])
        else
          redis.call('SREM', KEYS[2], ARGV[4])
          for i = 7 + n, #ARGV do
            if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[4] then
              redis.call('HDEL', KEYS[4], ARGV[i])
            end
          end
        end
        return version + 1
        """;

    /// <summary>KEYS: lease. ARGV: holder, ttl (ms). Returns 1 when the holder has the lease now.</summary>
    private const string LeaseScript = """
        local current = redis.call('GET', KEYS[1])
        if not current then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 1
        end
        if current == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;

    public RedisRolloutRepository(IConnectionMultiplexer redis, RedisKeys keys)
    {
        _redis = redis;
        _keys = keys;
        _ = redis.GetSubscriber().SubscribeAsync(keys.RolloutsChannel, (_, id) => Changed?.Invoke((string)id!))
            .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    public event Action<string>? Changed;

    private IDatabase Db => _redis.GetDatabase();

    public async Task<CreateRolloutResult> CreateAsync(Rollout rollout, RolloutEvent created, CancellationToken cancellationToken = default)
    {
        RedisValue[] args = [rollout.Id, Serialize(rollout with { Version = 1 }), rollout.CreatedAt.ToUnixTimeMilliseconds(), Serialize(created), .. rollout.Stores.Select(s => (RedisValue)s.Name)];
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(CreateScript,
            [_keys.Rollout(rollout.Id), _keys.Rollouts, _keys.ActiveRollouts, _keys.RolloutEvents(rollout.Id), _keys.RolloutClaims], args).ConfigureAwait(false))!;
        if ((long)reply[0] == 1)
        {
            await PublishAsync(rollout.Id).ConfigureAwait(false);
            return new CreateRolloutResult.Created(rollout with { Version = 1 });
        }

        var busy = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < reply.Length; i += 2)
        {
            busy[(string)reply[i]!] = (string)reply[i + 1]!;
        }

        return new CreateRolloutResult.StoresBusy(busy);
    }

    public async Task<Rollout?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var fields = await Db.HashGetAsync(_keys.Rollout(id), ["data", "version"]).ConfigureAwait(false);
        return fields[0].IsNull ? null : Deserialize(fields[0]!) with { Version = (long)fields[1] };
    }

    public async Task<IReadOnlyList<Rollout>> ListAsync(int limit, CancellationToken cancellationToken = default)
    {
        var ids = await Db.SortedSetRangeByRankAsync(_keys.Rollouts, 0, limit - 1, Order.Descending).ConfigureAwait(false);
        var batch = Db.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync(_keys.Rollout(id!), ["data", "version"])).ToList();
        batch.Execute();
        var rollouts = new List<Rollout>();
        foreach (var read in reads)
        {
            var fields = await read.ConfigureAwait(false);
            if (!fields[0].IsNull)
            {
                rollouts.Add(Deserialize(fields[0]!) with { Version = (long)fields[1] });
            }
        }

        return rollouts;
    }

    public async Task<IReadOnlyList<string>> ActiveIdsAsync(CancellationToken cancellationToken = default) =>
        [.. (await Db.SetMembersAsync(_keys.ActiveRollouts).ConfigureAwait(false)).Select(v => (string)v!).Order(StringComparer.Ordinal)];

    public async Task<Rollout?> UpdateAsync(Rollout updated, IReadOnlyList<RolloutEvent> events, CancellationToken cancellationToken = default)
    {
        var json = Serialize(updated with { Version = updated.Version + 1 });
        RedisValue[] args =
        [
            updated.Version, json, updated.IsActive ? "1" : "0", updated.Id, MaxEvents, events.Count,
            .. events.Select(e => (RedisValue)Serialize(e)),
            .. updated.IsActive ? [] : updated.Stores.Select(s => (RedisValue)s.Name),
        ];
        var version = (long)(await Db.ScriptEvaluateAsync(UpdateScript,
            [_keys.Rollout(updated.Id), _keys.ActiveRollouts, _keys.RolloutEvents(updated.Id), _keys.RolloutClaims], args).ConfigureAwait(false));
        if (version == 0)
        {
            return null;
        }

        await PublishAsync(updated.Id).ConfigureAwait(false);
        return updated with { Version = version };
    }

    public async Task<IReadOnlyList<RolloutEvent>> GetEventsAsync(string id, CancellationToken cancellationToken = default) =>
        [.. (await Db.ListRangeAsync(_keys.RolloutEvents(id)).ConfigureAwait(false)).Select(v => JsonSerializer.Deserialize((string)v!, RolloutJsonContext.Default.RolloutEvent)!)];

    public async Task<bool> TryLeaseAsync(string id, string holder, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        (long)(await Db.ScriptEvaluateAsync(LeaseScript, [_keys.RolloutLease(id)], [holder, (long)ttl.TotalMilliseconds]).ConfigureAwait(false)) == 1;

    private Task<long> PublishAsync(string id) => _redis.GetSubscriber().PublishAsync(_keys.RolloutsChannel, id);

    private static string Serialize(Rollout rollout) => JsonSerializer.Serialize(rollout, RolloutJsonContext.Default.Rollout);

    private static string Serialize(RolloutEvent rolloutEvent) => JsonSerializer.Serialize(rolloutEvent, RolloutJsonContext.Default.RolloutEvent);

    private static Rollout Deserialize(string json) => JsonSerializer.Deserialize(json, RolloutJsonContext.Default.Rollout)
        ?? throw new InvalidDataException("A rollout record is empty.");
}

[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(Rollout))]
[JsonSerializable(typeof(RolloutEvent))]
internal sealed partial class RolloutJsonContext : JsonSerializerContext;

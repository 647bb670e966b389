namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// Lua scripts that keep a record, its indexes and its timeline consistent in one atomic step.
/// Only commands that both Redis 7 and Garnet 2.2 support are used.
/// </summary>
internal static class StoreScripts
{
    /// <summary>
    /// KEYS: store, all-stores index, owner index, phase index, events, then the requested, provisioning and
    /// bootstrapping phase indexes (for the in-progress limit).
    /// ARGV: json, name, score (ms), event json, max events, max stores per owner, max stores in total,
    /// max in-progress stores per owner (0: no limit).
    /// Returns {1} when created, {0, existing json, existing version} when the name is taken, or
    /// {2, limit, value} when a limit refuses it.
    /// </summary>
    public const string Create = """
        local existing = redis.call('HGET', KEYS[1], 'data')
        if existing then
          return {0, existing, redis.call('HGET', KEYS[1], 'version')}
        end
        local perOwner = tonumber(ARGV[6])
        if perOwner > 0 and redis.call('ZCARD', KEYS[3]) >= perOwner then
          return {2, 'stores-per-owner', perOwner}
        end
        local total = tonumber(ARGV[7])
        if total > 0 and redis.call('ZCARD', KEYS[2]) >= total then
          return {2, 'stores-total', total}
        end
        local inProgress = tonumber(ARGV[8])
        if inProgress > 0 then
          local count = 0
          for _, name in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
            if redis.call('ZSCORE', KEYS[6], name) or redis.call('ZSCORE', KEYS[7], name) or redis.call('ZSCORE', KEYS[8], name) then
              count = count + 1
            end
          end
          if count >= inProgress then
            return {2, 'provisioning-per-owner', inProgress}
          end
        end
        redis.call('HSET', KEYS[1], 'data', ARGV[1], 'version', '1')
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
        redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
        redis.call('DEL', KEYS[5])
        redis.call('RPUSH', KEYS[5], ARGV[4])
        redis.call('LTRIM', KEYS[5], -tonumber(ARGV[5]), -1)
        return {1}
        """;

    /// <summary>
    /// KEYS: store, old phase index, new phase index, events, lease.
    /// ARGV: expected version, json, name, score (ms), max events, lease token ('' for none), event jsons...
    /// Returns the new version, -1 when the record is gone, -3 when the lease is not held, or
    /// -10 - current version on a version mismatch.
    /// </summary>
    public const string Update = """
        if ARGV[6] ~= '' and redis.call('GET', KEYS[5]) ~= ARGV[6] then
          return -3
        end
        local current = redis.call('HGET', KEYS[1], 'version')
        if not current then
          return -1
        end
        if current ~= ARGV[1] then
          return -10 - tonumber(current)
        end
        local next = tonumber(current) + 1
        redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', tostring(next))
        if KEYS[2] ~= KEYS[3] then
          redis.call('ZREM', KEYS[2], ARGV[3])
          redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
        end
        for i = 7, #ARGV do
          redis.call('RPUSH', KEYS[4], ARGV[i])
        end
        if #ARGV >= 7 then
          redis.call('LTRIM', KEYS[4], -tonumber(ARGV[5]), -1)
        end
        return next
        """;

    /// <summary>
    /// KEYS: store, all-stores index, owner index, phase index, events, tombstones, lease.
    /// ARGV: expected version, name, tombstone event json, max events, retention seconds, max tombstones,
    /// tombstone entry json, lease token ('' for none).
    /// Returns 1 when removed, -1 when already gone, -3 when the lease is not held, or -10 - current version on a version mismatch.
    /// </summary>
    public const string Remove = """
        if ARGV[8] ~= '' and redis.call('GET', KEYS[7]) ~= ARGV[8] then
          return -3
        end
        local current = redis.call('HGET', KEYS[1], 'version')
        if not current then
          return -1
        end
        if current ~= ARGV[1] then
          return -10 - tonumber(current)
        end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[2])
        redis.call('ZREM', KEYS[3], ARGV[2])
        redis.call('ZREM', KEYS[4], ARGV[2])
        redis.call('RPUSH', KEYS[5], ARGV[3])
        redis.call('LTRIM', KEYS[5], -tonumber(ARGV[4]), -1)
        redis.call('EXPIRE', KEYS[5], tonumber(ARGV[5]))
        redis.call('RPUSH', KEYS[6], ARGV[7])
        redis.call('LTRIM', KEYS[6], -tonumber(ARGV[6]), -1)
        return 1
        """;

    /// <summary>KEYS: events. ARGV: event json, max events. Appends only while the timeline exists or the store does (KEYS[2]).</summary>
    public const string AppendEvent = """
        if redis.call('EXISTS', KEYS[2]) == 0 then
          return 0
        end
        redis.call('RPUSH', KEYS[1], ARGV[1])
        redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
        return 1
        """;

    /// <summary>
    /// KEYS: store, lease. ARGV: lease token. The record ({data, version}) while the lease is held and the
    /// record exists; an empty reply otherwise — a worker checks this right before a cluster write that could
    /// resurrect a store (e.g. creating its namespace).
    /// </summary>
    public const string GetIfLeased = """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] then
          return {}
        end
        local data = redis.call('HGET', KEYS[1], 'data')
        if not data then
          return {}
        end
        return {data, redis.call('HGET', KEYS[1], 'version')}
        """;
}

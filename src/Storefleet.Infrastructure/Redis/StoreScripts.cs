namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// Lua scripts that keep a record, its indexes and its timeline consistent in one atomic step.
/// Only commands that both Redis 7 and Garnet 2.2 support are used.
/// </summary>
internal static class StoreScripts
{
    /// <summary>Lua: the name index entries of ARGV[2] (<c>index(key, command)</c> runs the command for each word).</summary>
    private const string NameIndexEntries = """
        local function index(key, command)
          local name = ARGV[2]
          local from = 1
          while from do
            if command == 'ZADD' then
              redis.call('ZADD', key, 0, string.sub(name, from) .. ' ' .. name)
            else
              redis.call('ZREM', key, string.sub(name, from) .. ' ' .. name)
            end
            local dash = string.find(name, '-', from, true)
            from = dash and dash + 1 or nil
          end
        end

        """;

    /// <summary>
    /// KEYS: store, all-stores index, owner index, phase index, events, then the requested, provisioning and
    /// bootstrapping phase indexes (for the in-progress limit), then the events counter, the change sequence, the
    /// change log, the name index, the plan index, the set of plans and the warm pool's member index.
    /// ARGV: json, name, score (ms), event json, max events, max stores per owner, max stores in total,
    /// max in-progress stores per owner (0: no limit), owner, max change log entries, plan id, '1' when a person's store
    /// (warm-pool members do not count against a person's create: claiming one leaves the total as it is; the keeper
    /// adds members only below the total).
    /// Returns {1} when created, {0, existing json, existing version} when the name is taken, or
    /// {2, limit, value} when a limit refuses it.
    /// </summary>
    public const string Create = NameIndexEntries + """
        local existing = redis.call('HGET', KEYS[1], 'data')
        if existing then
          return {0, existing, redis.call('HGET', KEYS[1], 'version')}
        end
        local perOwner = tonumber(ARGV[6])
        if perOwner > 0 and redis.call('ZCARD', KEYS[3]) >= perOwner then
          return {2, 'stores-per-owner', perOwner}
        end
        local total = tonumber(ARGV[7])
        local counted = redis.call('ZCARD', KEYS[2])
        if ARGV[12] == '1' then
          counted = counted - redis.call('ZCARD', KEYS[15])
        end
        if total > 0 and counted >= total then
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
        redis.call('PERSIST', KEYS[9])
        redis.call('INCR', KEYS[9])
        local seq = redis.call('INCR', KEYS[10])
        redis.call('RPUSH', KEYS[11], seq .. '\t' .. 'added' .. '\t' .. ARGV[2] .. '\t' .. ARGV[9])
        redis.call('LTRIM', KEYS[11], -tonumber(ARGV[10]), -1)
        index(KEYS[12], 'ZADD')
        redis.call('ZADD', KEYS[13], ARGV[3], ARGV[2])
        redis.call('SADD', KEYS[14], ARGV[11])
        return {1}
        """;

    /// <summary>
    /// KEYS: store, old phase index, new phase index, events, lease, events counter, change sequence, change log, old plan
    /// index, new plan index, set of plans.
    /// ARGV: expected version, json, name, score (ms), max events, lease token ('' for none), owner, max change log
    /// entries, new plan id, event jsons... The store is (re)added to its plan index on every write, so a store the
    /// plan index backfill skipped (it changed meanwhile) is indexed by that very change.
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
        if KEYS[9] ~= KEYS[10] then
          redis.call('ZREM', KEYS[9], ARGV[3])
        end
        redis.call('ZADD', KEYS[10], ARGV[4], ARGV[3])
        redis.call('SADD', KEYS[11], ARGV[9])
        for i = 10, #ARGV do
          redis.call('RPUSH', KEYS[4], ARGV[i])
        end
        if #ARGV >= 10 then
          redis.call('LTRIM', KEYS[4], -tonumber(ARGV[5]), -1)
          redis.call('INCRBY', KEYS[6], #ARGV - 9)
        end
        local seq = redis.call('INCR', KEYS[7])
        redis.call('RPUSH', KEYS[8], seq .. '\t' .. 'modified' .. '\t' .. ARGV[3] .. '\t' .. ARGV[7])
        redis.call('LTRIM', KEYS[8], -tonumber(ARGV[8]), -1)
        return next
        """;

    /// <summary>
    /// KEYS: store, all-stores index, owner index, phase index, events, tombstones, lease, events counter, change
    /// sequence, change log, name index, plan index.
    /// ARGV: expected version, name, tombstone event json, max events, retention seconds, max tombstones,
    /// tombstone entry json, lease token ('' for none), owner, max change log entries.
    /// Returns 1 when removed, -1 when already gone, -3 when the lease is not held, or -10 - current version on a version mismatch.
    /// </summary>
    public const string Remove = NameIndexEntries + """
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
        redis.call('INCR', KEYS[8])
        redis.call('EXPIRE', KEYS[8], tonumber(ARGV[5]))
        local seq = redis.call('INCR', KEYS[9])
        redis.call('RPUSH', KEYS[10], seq .. '\t' .. 'deleted' .. '\t' .. ARGV[2] .. '\t' .. ARGV[9])
        index(KEYS[11], 'ZREM')
        redis.call('ZREM', KEYS[12], ARGV[2])
        redis.call('LTRIM', KEYS[10], -tonumber(ARGV[10]), -1)
        return 1
        """;

    /// <summary>KEYS: events, store, events counter. ARGV: event json, max events. Appends only while the store exists.</summary>
    public const string AppendEvent = """
        if redis.call('EXISTS', KEYS[2]) == 0 then
          return 0
        end
        redis.call('RPUSH', KEYS[1], ARGV[1])
        redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
        redis.call('INCR', KEYS[3])
        return 1
        """;

    /// <summary>
    /// KEYS: events, events counter. The timeline with the id of its first entry: ids count every event ever appended
    /// to the store's timeline, so an entry keeps its id when older ones are trimmed. Returns {first id, entries...}.
    /// </summary>
    public const string Timeline = """
        local entries = redis.call('LRANGE', KEYS[1], 0, -1)
        local total = tonumber(redis.call('GET', KEYS[2]) or '0')
        local first = total - #entries + 1
        local reply = {first}
        for i = 1, #entries do
          reply[#reply + 1] = entries[i]
        end
        return reply
        """;

    /// <summary>
    /// KEYS: change sequence, change log. ARGV: after (a sequence number). The log's entries after it (each
    /// "seq TAB type TAB name TAB owner"), with the newest sequence number and the oldest still in the log:
    /// {latest, oldest, entries...}. Sequence numbers are consecutive, so the position of "after" is computed.
    /// </summary>
    public const string ChangesSince = """
        local latest = tonumber(redis.call('GET', KEYS[1]) or '0')
        local length = redis.call('LLEN', KEYS[2])
        local oldest = latest - length + 1
        local after = tonumber(ARGV[1])
        local reply = {latest, oldest}
        if after >= latest then
          return reply
        end
        local start = after - oldest + 1
        if start < 0 then
          start = 0
        end
        for _, entry in ipairs(redis.call('LRANGE', KEYS[2], start, -1)) do
          reply[#reply + 1] = entry
        end
        return reply
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

    /// <summary>
    /// KEYS: store, plan index, set of plans. ARGV: version read, name, score (ms), plan id.
    /// Adds the store to its plan index if its record is still at the version read (else its change indexed it).
    /// </summary>
    public const string IndexPlan = """
        if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then
          return 0
        end
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        redis.call('SADD', KEYS[3], ARGV[4])
        return 1
        """;
}

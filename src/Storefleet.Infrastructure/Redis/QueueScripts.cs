namespace Storefleet.Infrastructure.Redis;

/// <summary>The work queue and lease operations, each one atomic Lua script (Redis 7 and Garnet 2.2).</summary>
internal static class QueueScripts
{
    /// <summary>
    /// KEYS: queue, lease, dirty. ARGV: name, due (ms), now (ms), dirty ttl (ms).
    /// A leased store is only marked dirty (it runs again when released); otherwise the earlier due time wins.
    /// Returns 1 when queued or moved earlier, 2 when marked dirty, 0 when already due earlier.
    /// </summary>
    public const string Enqueue = """
        if redis.call('EXISTS', KEYS[2]) == 1 then
          if tonumber(ARGV[2]) <= tonumber(ARGV[3]) then
            redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
            return 2
          end
          return 0
        end
        local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if (not score) or tonumber(score) > tonumber(ARGV[2]) then
          redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
          return 1
        end
        return 0
        """;

    /// <summary>
    /// KEYS: queue, lease, fence. ARGV: name, now (ms), holder, ttl (ms), nonce, fence retention (ms).
    /// Takes the lease when the store is due and the lease is free: increments the fence (which expires after
    /// the retention, so fences of deleted stores do not pile up), stores the token holder:fence:nonce, and
    /// keeps the store queued at now + ttl, so it becomes due again if the holder dies without completing.
    /// Returns the fence, or 0 when not taken.
    /// </summary>
    public const string Claim = """
        local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if (not score) or tonumber(score) > tonumber(ARGV[2]) then
          return 0
        end
        if redis.call('EXISTS', KEYS[2]) == 1 then
          return 0
        end
        local fence = redis.call('INCR', KEYS[3])
        redis.call('PEXPIRE', KEYS[3], ARGV[6])
        redis.call('SET', KEYS[2], ARGV[3] .. ':' .. fence .. ':' .. ARGV[5], 'PX', ARGV[4])
        redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[4]), ARGV[1])
        return fence
        """;

    /// <summary>KEYS: lease, queue. ARGV: token, ttl (ms), name, now (ms). Returns 1 when renewed, 0 when lost.</summary>
    public const string Renew = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return 0
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + tonumber(ARGV[2]), ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: queue, lease, dirty. ARGV: name, token, next due (ms, -1 for none), now (ms).
    /// Releases the lease; a dirty store is due now, otherwise at next due (or leaves the queue).
    /// Returns 1, 2 when it ran again at once (dirty), or -1 when the lease was not held (nothing changed).
    /// </summary>
    public const string Complete = """
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then
          return -1
        end
        redis.call('DEL', KEYS[2])
        if redis.call('DEL', KEYS[3]) == 1 then
          redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
          return 2
        end
        if tonumber(ARGV[3]) < 0 then
          redis.call('ZREM', KEYS[1], ARGV[1])
        else
          redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
        end
        return 1
        """;
}

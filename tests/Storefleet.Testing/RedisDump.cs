using StackExchange.Redis;

namespace Storefleet.Testing;

/// <summary>
/// Everything stored under a key prefix — every key's name and every value of every type, members and
/// scores included — for scans that prove no secret reached Redis. A type it does not know fails the
/// scan instead of being skipped, so a new kind of key cannot hide a secret.
/// </summary>
public static class RedisDump
{
    public static async Task<IReadOnlyList<string>> AllAsync(IConnectionMultiplexer redis, string prefix)
    {
        var db = redis.GetDatabase();
        var dump = new List<string>();
        foreach (var endpoint in redis.GetEndPoints())
        {
            await foreach (var key in redis.GetServer(endpoint).KeysAsync(pattern: prefix + "*"))
            {
                dump.Add(key!);
                dump.Add(await db.KeyTypeAsync(key) switch
                {
                    RedisType.String => (string?)await db.StringGetAsync(key) ?? string.Empty,
                    RedisType.Hash => string.Join("|", (await db.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}")),
                    RedisType.List => string.Join("|", await db.ListRangeAsync(key)),
                    RedisType.Set => string.Join("|", await db.SetMembersAsync(key)),
                    RedisType.SortedSet => string.Join("|", (await db.SortedSetRangeByRankWithScoresAsync(key)).Select(e => $"{e.Element}={e.Score}")),
                    RedisType.None => string.Empty, // expired between the scan and the read
                    var other => throw new InvalidOperationException($"Key {key} has type {other}, which the secrets scan does not read yet: teach RedisDump to read it."),
                });
            }
        }

        return dump;
    }
}

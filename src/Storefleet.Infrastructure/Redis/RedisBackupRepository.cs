using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;
using Storefleet.Core.Backups;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// <see cref="IBackupRepository"/> on Redis (or Garnet): per store, a hash of backups by id and a sorted set by start
/// time; the oldest beyond <see cref="MaxPerStore"/> are forgotten (the repository's own retention removes the data).
/// A write is one Lua script, so a finished backup is never overwritten by a late "running" one.
/// </summary>
public sealed class RedisBackupRepository(IConnectionMultiplexer redis, RedisKeys keys) : IBackupRepository
{
    public const int MaxPerStore = 200;

    /// <summary>KEYS: backups hash, by-time set. ARGV: id, json, score (ms), finished (1/0), max. Keeps a finished record.</summary>
    private const string RecordScript = """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if current and ARGV[4] == '0' and string.find(current, '"Status":"Running"', 1, true) == nil then
          return 0
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
        local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
        if excess > 0 then
          local old = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
          for _, id in ipairs(old) do
            redis.call('HDEL', KEYS[1], id)
          end
          redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
        end
        return 1
        """;

    private IDatabase Db => redis.GetDatabase();

    public async Task RecordAsync(Backup backup, CancellationToken cancellationToken = default) =>
        await Db.ScriptEvaluateAsync(RecordScript, [keys.Backups(backup.Store), keys.BackupTimes(backup.Store)],
            [backup.Id, JsonSerializer.Serialize(backup, BackupJsonContext.Default.Backup), backup.StartedAt.ToUnixTimeMilliseconds(), backup.IsFinished ? 1 : 0, MaxPerStore])
            .ConfigureAwait(false);

    public async Task<IReadOnlyList<Backup>> ListAsync(string store, int limit = 100, CancellationToken cancellationToken = default)
    {
        var ids = await Db.SortedSetRangeByRankAsync(keys.BackupTimes(store), 0, limit - 1, Order.Descending).ConfigureAwait(false);
        if (ids.Length == 0)
        {
            return [];
        }

        var values = await Db.HashGetAsync(keys.Backups(store), ids).ConfigureAwait(false);
        return [.. values.Where(v => !v.IsNull).Select(v => JsonSerializer.Deserialize((string)v!, BackupJsonContext.Default.Backup)!)];
    }

    public async Task SchedulePurgeAsync(RepositoryPurge purge, DateTimeOffset due, CancellationToken cancellationToken = default) =>
        await Db.SortedSetAddAsync(keys.BackupPurges, Member(purge), due.ToUnixTimeMilliseconds()).ConfigureAwait(false);

    public async Task<IReadOnlyList<RepositoryPurge>> PurgesDueAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var members = await Db.SortedSetRangeByScoreAsync(keys.BackupPurges, double.NegativeInfinity, now.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return [.. members.Select(m => JsonSerializer.Deserialize((string)m!, BackupJsonContext.Default.RepositoryPurge)!)];
    }

    public async Task<IReadOnlyList<(RepositoryPurge Purge, DateTimeOffset Due)>> PurgesAsync(CancellationToken cancellationToken = default)
    {
        var entries = await Db.SortedSetRangeByRankWithScoresAsync(keys.BackupPurges).ConfigureAwait(false);
        return [.. entries.Select(e => (JsonSerializer.Deserialize((string)e.Element!, BackupJsonContext.Default.RepositoryPurge)!, DateTimeOffset.FromUnixTimeMilliseconds((long)e.Score)))];
    }

    /// <summary>
    /// Removes the purged repository's records (read here, removed in one transaction with the schedule entry). A deleted
    /// store's repository gets no new backups, so nothing can be added to it in between.
    /// </summary>
    public async Task CompletePurgeAsync(RepositoryPurge purge, CancellationToken cancellationToken = default)
    {
        var all = await Db.HashGetAllAsync(keys.Backups(purge.Store)).ConfigureAwait(false);
        var ids = all.Where(e => JsonSerializer.Deserialize((string)e.Value!, BackupJsonContext.Default.Backup)?.Repository == purge.Repository).Select(e => e.Name).ToArray();
        var transaction = Db.CreateTransaction();
        if (ids.Length > 0)
        {
            _ = transaction.HashDeleteAsync(keys.Backups(purge.Store), ids);
            _ = transaction.SortedSetRemoveAsync(keys.BackupTimes(purge.Store), ids);
        }

        _ = transaction.SortedSetRemoveAsync(keys.BackupPurges, Member(purge));
        await transaction.ExecuteAsync().ConfigureAwait(false);
    }

    private static string Member(RepositoryPurge purge) => JsonSerializer.Serialize(purge, BackupJsonContext.Default.RepositoryPurge);

    public async Task<Backup?> GetAsync(string store, string id, CancellationToken cancellationToken = default)
    {
        var value = await Db.HashGetAsync(keys.Backups(store), id).ConfigureAwait(false);
        return value.IsNull ? null : JsonSerializer.Deserialize((string)value!, BackupJsonContext.Default.Backup);
    }
}

[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(Backup))]
[JsonSerializable(typeof(RepositoryPurge))]
internal sealed partial class BackupJsonContext : JsonSerializerContext;

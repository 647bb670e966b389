using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Infrastructure.Redis;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Access;

/// <summary>One audited action: who, from where, on what, with which result, when. Never a secret.</summary>
public sealed record AuditEntry(
    DateTimeOffset Time,
    string Actor,
    string Role,
    string Client,
    string Action,
    string Target,
    string Result,
    string? Detail = null);

/// <summary>Audit actions, as constants.</summary>
public static class AuditActions
{
    public const string StoreCreate = "store.create";
    public const string StoreDelete = "store.delete";
    public const string StoreRetry = "store.retry";
    public const string StoreChange = "store.change";
    public const string StoreUpgrade = "store.upgrade";
    public const string StoreCredentials = "store.credentials";
    public const string StoreBackup = "store.backup";
    public const string StoreRestore = "store.restore";
    public const string RolloutCreate = "rollout.create";
    public const string RolloutPause = "rollout.pause";
    public const string RolloutResume = "rollout.resume";
    public const string RolloutAbort = "rollout.abort";
    public const string TokenCreate = "token.create";
    public const string TokenRevoke = "token.revoke";
    public const string SignIn = "auth.sign-in";
    public const string SignOut = "auth.sign-out";
    public const string Authenticate = "auth.token";
    public const string Authorize = "auth.authorize";
    public const string RateLimit = "auth.rate-limit";
}

/// <summary>
/// The append-only audit trail in Redis (a capped list, oldest first): every create, delete, retry,
/// credentials read, token change, sign-in and refused attempt.
/// </summary>
public sealed partial class AuditTrail(IConnectionMultiplexer redis, RedisKeys keys, IOptions<AccessOptions> options, IActorAccessor actors, TimeProvider clock, ILogger<AuditTrail> logger)
{
    public async Task RecordAsync(HttpContext http, string action, string target, string result, string? detail = null)
    {
        var actor = actors.Current(http);
        await RecordAsync(new AuditEntry(clock.GetUtcNow(), actor.Subject, actor.Role, ClientAddress(http), action, target, result, detail));
    }

    public async Task RecordAsync(AuditEntry entry)
    {
        try
        {
            var db = redis.GetDatabase();
            var transaction = db.CreateTransaction();
            _ = transaction.ListRightPushAsync(keys.Audit, JsonSerializer.Serialize(entry, AccessJsonContext.Default.AuditEntry));
            _ = transaction.ListTrimAsync(keys.Audit, -options.Value.MaxAuditEntries, -1);
            await transaction.ExecuteAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The action itself already succeeded or failed; say loudly that its audit entry is missing.
            LogAuditLost(logger, entry.Action, entry.Target, entry.Actor, e.Message);
        }
    }

    /// <summary>Newest first, filtered by actor and/or store.</summary>
    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(string? actor, string? store, int limit)
    {
        var values = await redis.GetDatabase().ListRangeAsync(keys.Audit);
        return [.. values.Reverse()
            .Select(v => JsonSerializer.Deserialize((string)v!, AccessJsonContext.Default.AuditEntry)!)
            .Where(e => (actor is null || e.Actor == actor) && (store is null || e.Target == $"store/{store}"))
            .Take(limit)];
    }

    public static string ClientAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit entry lost ({Action} on {Target} by {Actor}): {Reason}")]
    private static partial void LogAuditLost(ILogger logger, string action, string target, string actor, string reason);
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Server.Access;

/// <summary>What Storefleet keeps about an API token: never the token itself, only its SHA-256.</summary>
public sealed record ApiTokenRecord(
    string Id,
    string Name,
    string Subject,
    string Role,
    int? MaxStores,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? RevokedAt = null);

/// <summary>
/// API tokens: random, prefixed <c>sfat_</c> so a leaked one is recognisable (and secret scanners can
/// match it), shown once at creation, stored only as a SHA-256 hash. Revocation takes effect on the next
/// request: every request looks its token up.
/// </summary>
public sealed class ApiTokenStore(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider clock, ReplicaAcknowledgements replicas)
{
    public const string Prefix = "sfat_";
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private IDatabase Db => redis.GetDatabase();

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static bool LooksLikeToken(string? value) => value is { Length: > 20 } && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Creates a token; the returned plaintext exists nowhere else and is never shown again.</summary>
    public async Task<(ApiTokenRecord Record, string Token)> CreateAsync(string name, string subject, string role, int? maxStores, string createdBy)
    {
        var token = Prefix + RandomNumberGenerator.GetString(Alphabet, 40);
        var hash = Hash(token);
        var record = new ApiTokenRecord($"tok_{RandomNumberGenerator.GetHexString(12, lowercase: true)}", name, subject, role, maxStores, clock.GetUtcNow(), createdBy);
        var transaction = Db.CreateTransaction();
        _ = transaction.StringSetAsync(keys.Token(hash), Serialize(record));
        _ = transaction.HashSetAsync(keys.Tokens, record.Id, hash);
        await transaction.ExecuteAsync();
        await replicas.ConfirmAsync("token creation");
        return (record, token);
    }

    /// <summary>The live (not revoked) record of a token, or null.</summary>
    public async Task<ApiTokenRecord?> FindAsync(string token)
    {
        var json = await Db.StringGetAsync(keys.Token(Hash(token)));
        var record = json.IsNull ? null : Deserialize(json!);
        return record is { RevokedAt: null } ? record : null;
    }

    /// <summary>The live record of a token by id (cookie sessions re-check it on every request).</summary>
    public async Task<ApiTokenRecord?> FindByIdAsync(string id)
    {
        var hash = await Db.HashGetAsync(keys.Tokens, id);
        if (hash.IsNull)
        {
            return null;
        }

        var json = await Db.StringGetAsync(keys.Token(hash!));
        var record = json.IsNull ? null : Deserialize(json!);
        return record is { RevokedAt: null } ? record : null;
    }

    public async Task<IReadOnlyList<ApiTokenRecord>> ListAsync()
    {
        var hashes = await Db.HashValuesAsync(keys.Tokens);
        var values = await Db.StringGetAsync([.. hashes.Select(h => keys.Token(h!))]);
        return [.. values.Where(v => !v.IsNull).Select(v => Deserialize(v!)).OrderBy(r => r.CreatedAt)];
    }

    /// <summary>Marks the token revoked (the record stays for the audit); false when unknown or already revoked.</summary>
    public async Task<ApiTokenRecord?> RevokeAsync(string id)
    {
        var hash = await Db.HashGetAsync(keys.Tokens, id);
        if (hash.IsNull)
        {
            return null;
        }

        var json = await Db.StringGetAsync(keys.Token(hash!));
        if (json.IsNull || Deserialize(json!) is not { RevokedAt: null } record)
        {
            return null;
        }

        var revoked = record with { RevokedAt = clock.GetUtcNow() };
        await Db.StringSetAsync(keys.Token(hash!), Serialize(revoked));
        await replicas.ConfirmAsync("token revocation");
        return revoked;
    }

    private static string Serialize(ApiTokenRecord record) => JsonSerializer.Serialize(record, AccessJsonContext.Default.ApiTokenRecord);

    private static ApiTokenRecord Deserialize(string json) => JsonSerializer.Deserialize(json, AccessJsonContext.Default.ApiTokenRecord)!;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiTokenRecord))]
[JsonSerializable(typeof(AuditEntry))]
internal sealed partial class AccessJsonContext : JsonSerializerContext;

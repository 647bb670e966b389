using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;
using Storefleet.Infrastructure.Redis;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api.Idempotency;

/// <summary>
/// Implements the <c>Idempotency-Key</c> header on endpoints marked <see cref="IdempotentEndpoint"/>:
/// the first successful (2xx) or conflicting (409) answer for a key is stored for 24 hours and replayed
/// byte for byte (with <c>Idempotent-Replayed: true</c>) for later requests with the same key and body.
/// The same key with a different body is a 422; a request while the first is still running is a 409.
/// Keys are scoped to the caller, so one caller can never see another's replay.
/// Other answers (validation errors, server errors) are not stored, so a corrected retry can proceed.
/// </summary>
internal sealed partial class IdempotencyMiddleware(RequestDelegate next, IConnectionMultiplexer redis, RedisKeys keys, IActorAccessor actors, ILogger<IdempotencyMiddleware> logger)
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    private static readonly TimeSpan InFlightLease = TimeSpan.FromMinutes(1);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<IdempotentEndpoint>() is null
            || !context.Request.Headers.TryGetValue(HeaderName, out var values))
        {
            await next(context);
            return;
        }

        var key = values.ToString();
        if (key.Length is 0 or > 255 || key.Any(c => c is < (char)0x21 or > (char)0x7e))
        {
            await Problems.Validation(HeaderName, "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).").ExecuteAsync(context);
            return;
        }

        context.Request.EnableBuffering(JsonRequestBody.MaxBytes + 1);
        var fingerprint = await FingerprintAsync(context.Request);
        var actor = actors.Current(context);
        var redisKey = keys.Idempotency(actor.Subject, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))));
        var db = redis.GetDatabase();

        var claim = JsonSerializer.Serialize(new StoredResponse(fingerprint, null, null, null, null), IdempotencyJsonContext.Default.StoredResponse);
        if (!await db.StringSetAsync(redisKey, claim, InFlightLease, When.NotExists))
        {
            var existingJson = await db.StringGetAsync(redisKey);
            var existing = existingJson.IsNull ? null : JsonSerializer.Deserialize((string)existingJson!, IdempotencyJsonContext.Default.StoredResponse);
            await AnswerFromExistingAsync(context, existing, fingerprint);
            return;
        }

        var original = context.Response.Body;
        using var captured = new MemoryStream();
        context.Response.Body = captured;
        var stored = false;
        try
        {
            await next(context);
            var status = context.Response.StatusCode;
            if (status is >= 200 and < 300 or StatusCodes.Status409Conflict)
            {
                var response = new StoredResponse(
                    fingerprint,
                    status,
                    context.Response.ContentType,
                    context.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null,
                    Convert.ToBase64String(captured.GetBuffer(), 0, (int)captured.Length));
                await db.StringSetAsync(redisKey, JsonSerializer.Serialize(response, IdempotencyJsonContext.Default.StoredResponse), Retention);
                stored = true;
            }
        }
        finally
        {
            if (!stored)
            {
                await db.KeyDeleteAsync(redisKey);
            }

            context.Response.Body = original;
            captured.Position = 0;
            await captured.CopyToAsync(original, context.RequestAborted);
        }
    }

    private async Task AnswerFromExistingAsync(HttpContext context, StoredResponse? existing, string fingerprint)
    {
        if (existing is null || existing.Status is null)
        {
            await Problems.Conflict(
                "A request with this Idempotency-Key is in progress.",
                "Wait for the first request with this key to finish, then send this one again to get its answer.",
                "idempotency-in-progress").ExecuteAsync(context);
            return;
        }

        if (existing.Fingerprint != fingerprint)
        {
            await Problems.Unprocessable(
                "This Idempotency-Key was used for a different request.",
                "An Idempotency-Key identifies one request; use a new key for a different request.",
                "idempotency-key-reused").ExecuteAsync(context);
            return;
        }

        LogReplay(logger, context.Request.Path);
        context.Response.StatusCode = existing.Status.Value;
        context.Response.Headers[ReplayedHeader] = "true";
        if (existing.ContentType is not null)
        {
            context.Response.ContentType = existing.ContentType;
        }

        if (existing.Location is not null)
        {
            context.Response.Headers.Location = existing.Location;
        }

        var body = Convert.FromBase64String(existing.Body ?? string.Empty);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static async Task<string> FingerprintAsync(HttpRequest request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}\n"));
        var buffer = new byte[4096];
        int read;
        long total = 0;
        while ((read = await request.Body.ReadAsync(buffer)) > 0 && total <= JsonRequestBody.MaxBytes)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }

        request.Body.Position = 0;
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replaying the stored answer for an Idempotency-Key on {Path}")]
    private static partial void LogReplay(ILogger logger, PathString path);
}

/// <summary>A claimed key (no status yet) or a stored answer.</summary>
internal sealed record StoredResponse(string Fingerprint, int? Status, string? ContentType, string? Location, string? Body);

[JsonSerializable(typeof(StoredResponse))]
internal sealed partial class IdempotencyJsonContext : JsonSerializerContext;

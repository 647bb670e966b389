using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Storefleet.Testing;

/// <summary>
/// An OpenID Connect provider for tests, on a loopback port: the discovery document, a real RSA signing key (JWKS),
/// the device authorization grant (RFC 8628) and refresh tokens. A test plays the person at the verification page
/// with <see cref="Approve"/> or <see cref="Deny"/>. The one edge we cannot run here (no Keycloak or Dex offline).
/// </summary>
public sealed class StandInIdentityProvider : IAsyncDisposable
{
    public const string KeyId = "provider-key";
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, DeviceGrant> _grants = new();
    private readonly ConcurrentDictionary<string, (string Subject, string Role)> _refreshTokens = new();
    private int _refreshGrants;

    private StandInIdentityProvider(WebApplication app, string authority)
    {
        _app = app;
        Authority = authority;
    }

    public string Authority { get; }

    public RSA SigningKey { get; } = RSA.Create(2048);

    /// <summary>The audience of the access tokens it issues.</summary>
    public string Audience { get; set; } = "storefleet";

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether the discovery document names a device authorization endpoint.</summary>
    public bool OffersDeviceFlow { get; set; } = true;

    /// <summary>How many refresh-token grants it answered with new tokens.</summary>
    public int RefreshGrants => Volatile.Read(ref _refreshGrants);

    /// <summary>The forms posted to the device authorization endpoint.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> DeviceRequests { get; } = new();

    /// <summary>User codes shown and not yet approved, denied or redeemed.</summary>
    public IReadOnlyList<string> PendingUserCodes => [.. _grants.Values.Where(g => g.Status == GrantStatus.Pending).Select(g => g.UserCode)];

    public static async Task<StandInIdentityProvider> StartAsync()
    {
        var authority = $"http://127.0.0.1:{FreePort.Next()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(authority);
        var provider = new StandInIdentityProvider(builder.Build(), authority);
        provider.Map();
        await provider._app.StartAsync();
        return provider;
    }

    public void Approve(string userCode, string subject, string role) => Decide(userCode, GrantStatus.Approved, subject, role);

    public void Deny(string userCode) => Decide(userCode, GrantStatus.Denied, null, null);

    /// <summary>Makes every refresh token issued so far invalid (a provider session ended).</summary>
    public void RevokeRefreshTokens() => _refreshTokens.Clear();

    /// <summary>A signed access token (defaults: this issuer and audience, valid for <see cref="AccessTokenLifetime"/>).</summary>
    public string Token(string? subject, string? role, RSA? key = null, string? audience = null, string? issuer = null, DateTime? expires = null)
    {
        var claims = new Dictionary<string, object>();
        if (subject is not null)
        {
            claims["sub"] = subject;
        }

        if (role is not null)
        {
            claims["storefleet_role"] = role;
        }

        var until = expires ?? DateTime.UtcNow.Add(AccessTokenLifetime);
        var notBefore = until.AddMinutes(-30);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Authority,
            Audience = audience ?? Audience,
            NotBefore = notBefore,
            IssuedAt = notBefore,
            Expires = until,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key ?? SigningKey) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        SigningKey.Dispose();
    }

    private void Map()
    {
        _app.MapGet("/.well-known/openid-configuration", () =>
        {
            var document = new Dictionary<string, object>
            {
                ["issuer"] = Authority,
                ["authorization_endpoint"] = $"{Authority}/authorize",
                ["token_endpoint"] = $"{Authority}/token",
                ["jwks_uri"] = $"{Authority}/jwks",
                ["response_types_supported"] = new[] { "code" },
                ["subject_types_supported"] = new[] { "public" },
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
                ["grant_types_supported"] = new[] { "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code" },
            };
            if (OffersDeviceFlow)
            {
                document["device_authorization_endpoint"] = $"{Authority}/device";
            }

            return Results.Json(document);
        });
        _app.MapGet("/jwks", () =>
        {
            var published = SigningKey.ExportParameters(includePrivateParameters: false);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = KeyId, n = Base64UrlEncoder.Encode(published.Modulus), e = Base64UrlEncoder.Encode(published.Exponent) } } });
        });
        _app.MapPost("/device", async (HttpRequest request) =>
        {
            var form = (await request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString());
            DeviceRequests.Enqueue(form);
            var grant = new DeviceGrant(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), $"{RandomNumberGenerator.GetInt32(1000, 9999)}-{RandomNumberGenerator.GetInt32(1000, 9999)}", form.GetValueOrDefault("client_id") ?? string.Empty);
            _grants[grant.DeviceCode] = grant;
            return Results.Json(new Dictionary<string, object>
            {
                ["device_code"] = grant.DeviceCode,
                ["user_code"] = grant.UserCode,
                ["verification_uri"] = $"{Authority}/activate",
                ["expires_in"] = 600,
                ["interval"] = 1,
            });
        });
        _app.MapPost("/token", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            return form["grant_type"].ToString() switch
            {
                "urn:ietf:params:oauth:grant-type:device_code" => RedeemDeviceCode(form["device_code"].ToString(), form["client_id"].ToString()),
                "refresh_token" => Refresh(form["refresh_token"].ToString()),
                _ => Error("unsupported_grant_type"),
            };
        });
    }

    private IResult RedeemDeviceCode(string deviceCode, string clientId)
    {
        if (!_grants.TryGetValue(deviceCode, out var grant) || grant.ClientId != clientId)
        {
            return Error("invalid_grant");
        }

        switch (grant.Status)
        {
            case GrantStatus.Pending:
                return Error("authorization_pending");
            case GrantStatus.Denied:
                _grants.TryRemove(deviceCode, out _);
                return Error("access_denied");
            default:
                _grants.TryRemove(deviceCode, out _);
                return Issue(grant.Subject!, grant.Role!);
        }
    }

    private IResult Refresh(string refreshToken)
    {
        if (!_refreshTokens.TryRemove(refreshToken, out var who))
        {
            return Error("invalid_grant");
        }

        Interlocked.Increment(ref _refreshGrants);
        return Issue(who.Subject, who.Role);
    }

    private IResult Issue(string subject, string role)
    {
        var refresh = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        _refreshTokens[refresh] = (subject, role);
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = Token(subject, role),
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
            ["refresh_token"] = refresh,
        });
    }

    private void Decide(string userCode, GrantStatus status, string? subject, string? role)
    {
        var grant = _grants.Values.SingleOrDefault(g => g.UserCode == userCode && g.Status == GrantStatus.Pending)
            ?? throw new InvalidOperationException($"No pending device sign-in shows the code {userCode}.");
        grant.Subject = subject;
        grant.Role = role;
        grant.Status = status;
    }

    private static IResult Error(string error) => Results.Json(new { error }, statusCode: StatusCodes.Status400BadRequest);

    private enum GrantStatus
    {
        Pending,
        Approved,
        Denied,
    }

    private sealed class DeviceGrant(string deviceCode, string userCode, string clientId)
    {
        public string DeviceCode { get; } = deviceCode;

        public string UserCode { get; } = userCode;

        public string ClientId { get; } = clientId;

        public string? Subject { get; set; }

        public string? Role { get; set; }

        public volatile GrantStatus Status;
    }
}

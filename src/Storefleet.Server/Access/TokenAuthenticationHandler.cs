using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Storefleet.Server.Access;

/// <summary>
/// <c>Authorization: Bearer sfat_…</c> (an API token) or the bootstrap admin token. Invalid and revoked
/// tokens fail (401) and count against the client's failed sign-in budget; nothing about the token is
/// logged.
/// </summary>
public sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenVerifier verifier,
    SharedLimits throttle,
    AuditTrail audit,
    TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "StorefleetToken";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var principal = await verifier.VerifyAsync(header["Bearer ".Length..].Trim(), Scheme.Name);
        if (principal is null)
        {
            await throttle.RecordFailureAsync(AuditTrail.ClientAddress(Context), "api-token");
            await audit.RecordAsync(new AuditEntry(clock.GetUtcNow(), "anonymous", "none", AuditTrail.ClientAddress(Context), AuditActions.Authenticate, Request.Path, "refused", "invalid or revoked token"));
            return AuthenticateResult.Fail("The token is invalid or revoked.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer realm=\"storefleet\"";
        return Task.CompletedTask;
    }

    internal static ClaimsPrincipal Principal(string subject, string role, int? maxStores, string tokenId, string scheme = SchemeName)
    {
        var claims = new List<Claim> { new(AccessClaims.Subject, subject), new(AccessClaims.Role, role), new(AccessClaims.TokenId, tokenId) };
        if (maxStores is { } max)
        {
            claims.Add(new Claim(AccessClaims.MaxStores, max.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, AccessClaims.Subject, AccessClaims.Role));
    }

}

/// <summary>Auth mode <c>none</c>: every request is the local admin (the server refuses to start like this beyond loopback).</summary>
public sealed class LocalAdminAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "None";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(TokenAuthenticationHandler.Principal("local", Roles.Admin, null, "none", SchemeName), SchemeName)));
}

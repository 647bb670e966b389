using Storefleet.Cli.Config;

namespace Storefleet.Cli.Auth;

/// <summary>
/// The bearer token for a context's requests: its API token as is; an identity provider's access token refreshed
/// (and the context saved again) when it is within a minute of expiring, so a person signs in once and stays signed in
/// for as long as the provider keeps the refresh token valid.
/// </summary>
public sealed class BearerTokens(CliContexts contexts, CliContext context, TimeProvider time)
{
    private static readonly TimeSpan RefreshAhead = TimeSpan.FromMinutes(1);
    private CliContext _context = context;

    /// <summary>The context with the latest tokens (after a refresh, the new ones).</summary>
    public CliContext Context => _context;

    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        if (_context.Token is { Length: > 0 } token)
        {
            return token;
        }

        if (_context.Oidc is not { } oidc)
        {
            return null;
        }

        if (oidc.ExpiresAt - RefreshAhead > time.GetUtcNow())
        {
            return oidc.AccessToken;
        }

        var expired = $"Your sign-in at {oidc.Issuer} has expired. Run 'storefleet login {_context.Server}' again.";
        if (oidc.RefreshToken is null)
        {
            throw new CliException(ExitCodes.Unauthorized, expired);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var provider = await IdentityProvider.DiscoverAsync(http, oidc.Issuer, cancellationToken);
        var fresh = await provider.RefreshAsync(oidc.ClientId, oidc.RefreshToken, time, cancellationToken) ?? throw new CliException(ExitCodes.Unauthorized, expired);
        _context = _context with { Oidc = oidc with { AccessToken = fresh.AccessToken, RefreshToken = fresh.RefreshToken, ExpiresAt = fresh.ExpiresAt } };
        if (contexts.Load().Contexts.Any(c => c.Name == _context.Name))
        {
            contexts.Upsert(_context, makeCurrent: false);
        }

        return fresh.AccessToken;
    }
}

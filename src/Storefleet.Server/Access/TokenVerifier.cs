using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;

namespace Storefleet.Server.Access;

/// <summary>
/// One check of a presented token, for the API's bearer header and the dashboard's sign-in form alike:
/// the bootstrap admin token (compared in constant time) or a live API token.
/// </summary>
public sealed class TokenVerifier(AccessMode mode, ApiTokenStore tokens)
{
    /// <summary>The principal the token stands for, under <paramref name="scheme"/>; null when invalid or revoked.</summary>
    public async Task<ClaimsPrincipal?> VerifyAsync(string token, string scheme)
    {
        if (mode.BootstrapAdminToken is { } bootstrap && FixedTimeEquals(token, bootstrap))
        {
            return TokenAuthenticationHandler.Principal("admin", Roles.Admin, null, "bootstrap", scheme);
        }

        return ApiTokenStore.LooksLikeToken(token) && await tokens.FindAsync(token) is { } record
            ? TokenAuthenticationHandler.Principal(record.Subject, record.Role, record.MaxStores, record.Id, scheme)
            : null;
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(a)), SHA256.HashData(Encoding.UTF8.GetBytes(b)));
}

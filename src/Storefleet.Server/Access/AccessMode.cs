using Microsoft.Extensions.Options;

namespace Storefleet.Server.Access;

/// <summary>
/// How requests are authenticated, decided once at start from configuration: <c>none</c> (no credentials
/// configured: every request is the local admin, loopback only) or <c>tokens</c> (API tokens, a bootstrap
/// admin token, optionally OIDC/JWT).
/// </summary>
public sealed class AccessMode
{
    public AccessMode(IOptions<AccessOptions> options)
    {
        var access = options.Value;
        BootstrapAdminToken = ReadBootstrapToken(access);
        OidcEnabled = !string.IsNullOrWhiteSpace(access.Oidc.Authority);
        RequiresCredentials = CredentialsConfigured(access);
    }

    /// <summary>The shortest bootstrap admin token accepted.</summary>
    public const int MinimumTokenLength = 32;

    /// <summary>Whether configuration names any credentials (decides the mode, also when schemes are registered).</summary>
    public static bool CredentialsConfigured(AccessOptions access) =>
        !string.IsNullOrWhiteSpace(access.BootstrapAdminToken) || !string.IsNullOrWhiteSpace(access.BootstrapAdminTokenFile) || !string.IsNullOrWhiteSpace(access.Oidc.Authority);

    /// <summary>True when requests must carry credentials; false in mode <c>none</c>.</summary>
    public bool RequiresCredentials { get; }

    public bool OidcEnabled { get; }

    public string Name => RequiresCredentials ? "tokens" : "none";

    /// <summary>The bootstrap admin token (in memory only; compared by hash).</summary>
    internal string? BootstrapAdminToken { get; }

    private static string? ReadBootstrapToken(AccessOptions access)
    {
        if (!string.IsNullOrWhiteSpace(access.BootstrapAdminTokenFile))
        {
            if (!File.Exists(access.BootstrapAdminTokenFile))
            {
                throw new Storefleet.Core.SettingException($"Storefleet:Access:BootstrapAdminTokenFile '{access.BootstrapAdminTokenFile}' does not exist. Mount the Secret there, or unset the setting.");
            }

            var fromFile = File.ReadAllText(access.BootstrapAdminTokenFile).Trim();
            return Validate(fromFile, "Storefleet:Access:BootstrapAdminTokenFile");
        }

        return string.IsNullOrWhiteSpace(access.BootstrapAdminToken) ? null : Validate(access.BootstrapAdminToken.Trim(), "Storefleet:Access:BootstrapAdminToken");
    }

    private static string Validate(string token, string setting) =>
        token.Length >= MinimumTokenLength ? token : throw new Storefleet.Core.SettingException($"{setting} must be at least {MinimumTokenLength} characters (e.g. `openssl rand -base64 36`).");
}

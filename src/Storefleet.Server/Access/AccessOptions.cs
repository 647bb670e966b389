using System.ComponentModel.DataAnnotations;

namespace Storefleet.Server.Access;

/// <summary>
/// Who may do what (<c>Storefleet:Access</c>). With no credentials configured the server runs in auth
/// mode <c>none</c> (every request is the local admin) — allowed only while it listens on loopback.
/// </summary>
public sealed class AccessOptions
{
    public const string SectionName = "Storefleet:Access";

    /// <summary>An admin token accepted from the start (e.g. from a Secret via environment). Prefer the file.</summary>
    public string? BootstrapAdminToken { get; set; }

    /// <summary>A file holding the bootstrap admin token (a mounted Secret).</summary>
    public string? BootstrapAdminTokenFile { get; set; }

    /// <summary>Optional OpenID Connect / JWT bearer for the API (off unless <see cref="OidcOptions.Authority"/> is set).</summary>
    public OidcOptions Oidc { get; set; } = new();

    /// <summary>Proxies whose <c>X-Forwarded-For</c> is believed (IP addresses). No others are.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    [Range(0, 10_000)]
    public int MaxStoresPerOwner { get; set; } = 5;

    [Range(0, 1_000_000)]
    public int MaxStoresTotal { get; set; } = 1_000;

    [Range(0, 1_000)]
    public int MaxConcurrentProvisioningPerOwner { get; set; } = 3;

    /// <summary>
    /// Per plan id, how many stores on that plan one owner may have (e.g. <c>large: 1</c>); checked when a store is
    /// created and when a plan is changed. Plans not listed are limited only by <see cref="MaxStoresPerOwner"/>. Admins are exempt.
    /// </summary>
    public Dictionary<string, int> MaxStoresPerPlan { get; set; } = new(StringComparer.Ordinal);

    [Range(100, 10_000_000)]
    public int MaxAuditEntries { get; set; } = 10_000;

    public RateLimitOptions RateLimits { get; set; } = new();
}

public sealed class OidcOptions
{
    public string? Authority { get; set; }

    public string? Audience { get; set; }

    /// <summary>The claim holding the subject that owns stores.</summary>
    public string SubjectClaim { get; set; } = "sub";

    /// <summary>The claim holding admin, member or viewer.</summary>
    public string RoleClaim { get; set; } = "storefleet_role";

    /// <summary>The dashboard's OIDC client (authorization code flow with PKCE); dashboard OIDC sign-in is on when set.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client secret, for confidential clients (from a Secret via the environment, never a values file).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Scopes asked for besides openid and profile (e.g. the one that releases the role claim).</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>
    /// The command line's OIDC client: a public client (no secret) with the device authorization grant enabled.
    /// When set, <c>GET /api/v1/auth</c> offers it and <c>storefleet login</c> signs in through the provider.
    /// </summary>
    public string? CliClientId { get; set; }
}

/// <summary>
/// Requests per minute (token buckets refilled continuously), per token or, without one, per client address.
/// Reads (GET, HEAD) and writes have separate budgets, so a client polling a few stores never runs out of room
/// to act. In auth mode none the local admin on loopback is not limited (except creates).
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>Writes (and any other non-read request) per minute, per token.</summary>
    [Range(1, 1_000_000)]
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>Reads (GET, HEAD) per minute, per token.</summary>
    [Range(1, 1_000_000)]
    public int ReadsPerMinute { get; set; } = 3000;

    [Range(1, 1_000_000)]
    public int AnonymousRequestsPerMinute { get; set; } = 120;

    [Range(1, 100_000)]
    public int CreatesPerMinute { get; set; } = 30;

    /// <summary>Failed sign-ins or invalid tokens per client address per minute before it is turned away.</summary>
    [Range(1, 10_000)]
    public int FailedSignInsPerMinute { get; set; } = 10;
}

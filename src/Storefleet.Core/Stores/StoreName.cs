using System.Buffers;

namespace Storefleet.Core.Stores;

/// <summary>
/// Rules for store names. A store name becomes the Helm release name and the suffix of the
/// namespace (<c>store-&lt;name&gt;</c>) and the storefront host (<c>&lt;name&gt;.&lt;baseDomain&gt;</c>),
/// so it must be a lowercase DNS-1123 label short enough for all three.
/// </summary>
public static class StoreName
{
    public const int MinLength = 3;

    /// <summary>40 leaves room for a namespace prefix and Helm's 53-character release limit.</summary>
    public const int MaxLength = 40;

    private static readonly SearchValues<char> Allowed = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>Exact names that are refused because they collide with system or platform names.</summary>
    public static readonly IReadOnlySet<string> ReservedNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "default", "admin", "administrator", "www", "api", "app", "dashboard", "root", "system",
        "localhost", "mail", "ftp", "ns", "dns", "ingress", "metrics", "status", "login", "auth",
        "platform", "console", "static", "assets", "test", "internal",
    };

    /// <summary>Prefixes that are refused: Kubernetes system namespaces and our own control plane.</summary>
    public static readonly IReadOnlyList<string> ReservedPrefixes = ["kube-", "storefleet", "openshift-", "cert-manager", "ingress-nginx", Pool.WarmPool.MemberPrefix];

    /// <summary>Returns null when <paramref name="name"/> is acceptable for a new store, otherwise a message a person can act on.</summary>
    public static string? Validate(string? name) => Validate(name, allowPoolMembers: false);

    /// <summary>
    /// Like <see cref="Validate(string?)"/> for names that look a store up: a warm-pool member's name (which only the
    /// control plane gives) is accepted there, so an admin can read or delete a member like any store.
    /// </summary>
    public static string? ValidateLookup(string? name) => Validate(name, allowPoolMembers: true);

    private static string? Validate(string? name, bool allowPoolMembers)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Name is required.";
        }

        if (name.Length < MinLength || name.Length > MaxLength)
        {
            return $"Name must be {MinLength} to {MaxLength} characters long (it has {name.Length}).";
        }

        var bad = name.AsSpan().IndexOfAnyExcept(Allowed);
        if (bad >= 0)
        {
            return $"Name may contain only lowercase letters a-z, digits and '-' (found '{name[bad]}' at position {bad + 1}).";
        }

        if (!char.IsAsciiLetterLower(name[0]))
        {
            return "Name must start with a lowercase letter.";
        }

        if (name[^1] == '-')
        {
            return "Name must end with a letter or a digit.";
        }

        if (name.Contains("--", StringComparison.Ordinal))
        {
            return "Name must not contain two hyphens in a row.";
        }

        if (ReservedNames.Contains(name))
        {
            return $"'{name}' is reserved; choose another name.";
        }

        foreach (var prefix in ReservedPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && !(allowPoolMembers && prefix == Pool.WarmPool.MemberPrefix))
            {
                return $"Names starting with '{prefix}' are reserved; choose another name.";
            }
        }

        return null;
    }

    public static bool IsValid(string? name) => Validate(name) is null;
}

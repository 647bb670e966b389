using System.Text.RegularExpressions;
using Storefleet.Testing.KubeApi.Discovery;

namespace Storefleet.Testing.KubeApi.Validation;

/// <summary>The DNS rules the real server applies to object names, with its messages.</summary>
public static partial class NameRules
{
    /// <summary>Returns null for a valid name, else the real server's message for the rule it breaks.</summary>
    public static string? NameError(ApiResource resource, string name)
    {
        var label = resource.Plural is "namespaces" or "services";
        if (label)
        {
            return name.Length <= 63 && DnsLabel().IsMatch(name)
                ? null
                : $"Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
        }

        return name.Length <= 253 && DnsSubdomain().IsMatch(name)
            ? null
            : $"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}

using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Storefleet.Testing.KubeApi.Discovery;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>
/// Checks objects against the official typed models (KubernetesClient's generated types) with
/// unknown and mistyped fields rejected, as <c>fieldValidation=Strict</c> does, and names against
/// the DNS rules the real server applies.
/// </summary>
public static partial class StrictValidator
{
    private static readonly Dictionary<(string ApiVersion, string Kind), Type> Models = typeof(V1Pod).Assembly.GetTypes()
        .Select(t => (Type: t, Entity: t.GetCustomAttribute<KubernetesEntityAttribute>()))
        .Where(x => x.Entity is not null && !x.Type.Name.EndsWith("List", StringComparison.Ordinal))
        .GroupBy(x => (ApiVersion: x.Entity!.Group.Length == 0 ? x.Entity.ApiVersion : $"{x.Entity.Group}/{x.Entity.ApiVersion}", x.Entity.Kind))
        .ToDictionary(g => g.Key, g => g.First().Type);

    private static readonly MethodInfo Deserialize = typeof(KubernetesYaml).GetMethods()
        .Single(m => m.Name == nameof(KubernetesYaml.Deserialize) && m.GetParameters()[0].ParameterType == typeof(string));

    /// <summary>Returns null when the object decodes strictly, else the decoding error.</summary>
    public static string? StrictDecodingError(JsonObject obj, ApiResource resource)
    {
        if (!Models.TryGetValue((resource.GroupVersion, resource.Kind), out var type))
        {
            return null;
        }

        try
        {
            Deserialize.MakeGenericMethod(type).Invoke(null, [obj.ToJsonString(), true]);
            return null;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            var message = e.InnerException.InnerException?.Message ?? e.InnerException.Message;
            var unknown = UnknownProperty().Match(e.InnerException.Message);
            return unknown.Success
                ? $"strict decoding error: unknown field \"{unknown.Groups[1].Value}\" (in {unknown.Groups[2].Value.Replace("k8s.Models.", string.Empty, StringComparison.Ordinal)})"
                : $"json: cannot decode the object: {message}";
        }
    }

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

    [GeneratedRegex("Property '([^']+)' not found on type '([^']+)'")]
    private static partial Regex UnknownProperty();
}

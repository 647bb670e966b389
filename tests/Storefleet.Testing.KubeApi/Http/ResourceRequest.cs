using Storefleet.Testing.KubeApi.Discovery;

namespace Storefleet.Testing.KubeApi.Http;

/// <summary>A request path resolved to a resource: <c>/apis/apps/v1/namespaces/ns/deployments/web/status</c>.</summary>
public sealed record ResourceRequest(ApiResource Resource, string? Namespace, string? Name, string? Subresource)
{
    /// <summary>
    /// Resolves the segments after the group-version. Returns null when no such resource exists.
    /// <c>namespaces/{ns}/{plural}…</c> is namespaced; otherwise the first segment is the plural
    /// (which also covers <c>namespaces/{name}[/status|/finalize]</c> and cluster-wide lists).
    /// </summary>
    public static ResourceRequest? Resolve(ApiCatalog catalog, string group, string version, string[] segments)
    {
        if (segments is ["namespaces", var ns, var plural, ..] && catalog.Find(group, version, plural) is { Namespaced: true } namespaced)
        {
            return new ResourceRequest(namespaced, ns, segments.ElementAtOrDefault(3), segments.ElementAtOrDefault(4));
        }

        return segments.Length > 0 && catalog.Find(group, version, segments[0]) is { } resource && segments.Length <= 3
            ? new ResourceRequest(resource, null, segments.ElementAtOrDefault(1), segments.ElementAtOrDefault(2))
            : null;
    }

    /// <summary>The audit verb, as the real server logs it.</summary>
    public string Verb(string method, bool watch) => (method, Name, watch) switch
    {
        ("GET", null, true) => "watch",
        ("GET", null, false) => "list",
        ("GET", _, _) => "get",
        ("POST", _, _) => "create",
        ("PUT", _, _) => "update",
        ("PATCH", _, _) => "patch",
        ("DELETE", null, _) => "deletecollection",
        ("DELETE", _, _) => "delete",
        _ => method.ToLowerInvariant(),
    };
}

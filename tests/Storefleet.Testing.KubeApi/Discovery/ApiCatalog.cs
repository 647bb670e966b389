using System.Reflection;
using System.Text.Json.Nodes;

namespace Storefleet.Testing.KubeApi.Discovery;

/// <summary>
/// The resources the double serves, read from the aggregated discovery documents a real
/// kube-apiserver 1.35 returned (Recorded/discovery). Serves legacy and aggregated discovery,
/// /version and the recorded OpenAPI documents.
/// </summary>
public sealed class ApiCatalog
{
    public const string AggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

    private readonly Dictionary<(string Group, string Version, string Plural), ApiResource> _byPath = new();
    private readonly Dictionary<(string ApiVersion, string Kind), ApiResource> _byKind = new();

    private ApiCatalog(JsonObject core, JsonObject groups)
    {
        AggregatedCore = core;
        AggregatedGroups = groups;
        foreach (var list in new[] { core, groups })
        {
            foreach (var group in list["items"]!.AsArray())
            {
                var groupName = group!["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;
                foreach (var version in group["versions"]!.AsArray())
                {
                    var versionName = version!["version"]!.GetValue<string>();
                    foreach (var r in version["resources"]!.AsArray())
                    {
                        var subresources = (r!["subresources"]?.AsArray() ?? [])
                            .ToDictionary(s => s!["subresource"]!.GetValue<string>(), s => (IReadOnlyList<string>)(s!["verbs"]?.AsArray().Select(v => v!.GetValue<string>()).ToArray() ?? []));
                        var resource = new ApiResource(
                            groupName,
                            versionName,
                            r["resource"]!.GetValue<string>(),
                            r["singularResource"]?.GetValue<string>() ?? string.Empty,
                            r["responseKind"]!["kind"]!.GetValue<string>(),
                            r["scope"]!.GetValue<string>() == "Namespaced",
                            r["verbs"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray(),
                            r["shortNames"]?.AsArray().Select(v => v!.GetValue<string>()).ToArray() ?? [],
                            subresources);
                        _byPath[(groupName, versionName, resource.Plural)] = resource;
                        _byKind.TryAdd((resource.GroupVersion, resource.Kind), resource);
                    }
                }
            }
        }
    }

    public JsonObject AggregatedCore { get; }

    public JsonObject AggregatedGroups { get; }

    public IEnumerable<ApiResource> Resources => _byPath.Values;

    public static ApiCatalog LoadRecorded() =>
        new(Recorded.Json("discovery/aggregated_api.json").AsObject(), Recorded.Json("discovery/aggregated_apis.json").AsObject());

    public ApiResource? Find(string group, string version, string plural) =>
        _byPath.TryGetValue((group, version, plural), out var r) ? r : null;

    public ApiResource? FindKind(string apiVersion, string kind) =>
        _byKind.TryGetValue((apiVersion, kind), out var r) ? r : null;

    public bool HasGroupVersion(string group, string version) => _byPath.Keys.Any(k => k.Group == group && k.Version == version);

    public JsonObject Versions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public JsonObject GroupList()
    {
        var groups = new JsonArray();
        foreach (var group in AggregatedGroups["items"]!.AsArray())
        {
            var name = group!["metadata"]!["name"]!.GetValue<string>();
            var versions = new JsonArray();
            foreach (var v in group["versions"]!.AsArray())
            {
                var version = v!["version"]!.GetValue<string>();
                versions.Add(new JsonObject { ["groupVersion"] = $"{name}/{version}", ["version"] = version });
            }

            groups.Add(new JsonObject { ["name"] = name, ["versions"] = versions, ["preferredVersion"] = versions[0]!.DeepClone() });
        }

        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    public JsonObject ResourceList(string group, string version)
    {
        var resources = new JsonArray();
        foreach (var r in Resources.Where(r => r.Group == group && r.Version == version).OrderBy(r => r.Plural, StringComparer.Ordinal))
        {
            var entry = new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray(r.Verbs.Select(v => (JsonNode)v!).ToArray()),
            };
            if (r.ShortNames.Count > 0)
            {
                entry["shortNames"] = new JsonArray(r.ShortNames.Select(v => (JsonNode)v!).ToArray());
            }

            resources.Add(entry);
            foreach (var (sub, verbs) in r.Subresources)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = $"{r.Plural}/{sub}",
                    ["singularName"] = string.Empty,
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = sub == "scale" ? "Scale" : r.Kind,
                    ["verbs"] = new JsonArray(verbs.Select(v => (JsonNode)v!).ToArray()),
                });
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "35",
        ["emulationMajor"] = "1",
        ["emulationMinor"] = "35",
        ["minCompatibilityMajor"] = "1",
        ["minCompatibilityMinor"] = "34",
        ["gitVersion"] = "v1.35.6",
        ["gitCommit"] = "storefleet-kube-api-test-double",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-11-01T00:00:00Z",
        ["goVersion"] = "go1.25.9",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };
}

/// <summary>The recorded reference documents, embedded in this assembly.</summary>
public static class Recorded
{
    private static readonly Assembly Assembly = typeof(Recorded).Assembly;

    public static bool Exists(string path) => Assembly.GetManifestResourceInfo("Recorded/" + path) is not null;

    public static byte[] Bytes(string path)
    {
        using var stream = Assembly.GetManifestResourceStream("Recorded/" + path)
            ?? throw new FileNotFoundException($"No recorded document {path}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public static JsonNode Json(string path) => JsonNode.Parse(Bytes(path))!;
}

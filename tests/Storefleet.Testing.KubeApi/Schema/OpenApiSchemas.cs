using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;

namespace Storefleet.Testing.KubeApi.Schema;

/// <summary>
/// The component schemas of the OpenAPI v3 documents recorded from a real kube-apiserver 1.35
/// (core, apps, batch, networking, policy, rbac, storage, coordination, autoscaling), indexed by
/// group/version/kind. These are what the server itself decodes and validates against.
/// </summary>
public sealed class OpenApiSchemas
{
    private static readonly Lazy<OpenApiSchemas> Instance = new(Load);

    private readonly Dictionary<string, JsonObject> _schemas;
    private readonly Dictionary<(string GroupVersion, string Kind), string> _kinds;

    private OpenApiSchemas(Dictionary<string, JsonObject> schemas, Dictionary<(string, string), string> kinds)
    {
        _schemas = schemas;
        _kinds = kinds;
    }

    /// <summary>The recorded schemas (loaded once per process).</summary>
    public static OpenApiSchemas Recorded => Instance.Value;

    /// <summary>The schema name for a kind (e.g. <c>io.k8s.api.apps.v1.Deployment</c>), or null when none was recorded.</summary>
    public string? SchemaFor(string groupVersion, string kind) =>
        _kinds.TryGetValue((groupVersion, kind), out var name) ? name : null;

    public JsonObject Get(string name) =>
        _schemas.TryGetValue(name, out var schema) ? schema : throw new KeyNotFoundException($"No recorded schema {name}.");

    private static OpenApiSchemas Load()
    {
        var schemas = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var kinds = new Dictionary<(string, string), string>();
        var index = Discovery.Recorded.Json("openapi/v3-index.json")["paths"]!.AsObject();
        foreach (var (path, _) in index)
        {
            var document = "openapi/v3_" + path.Replace('/', '_') + ".json";
            if (!Discovery.Recorded.Exists(document))
            {
                continue;
            }

            foreach (var (name, schema) in Discovery.Recorded.Json(document)["components"]!["schemas"]!.AsObject())
            {
                if (schemas.ContainsKey(name) || schema is not JsonObject obj)
                {
                    continue;
                }

                schemas[name] = obj;
                foreach (var gvk in obj["x-kubernetes-group-version-kind"]?.AsArray() ?? [])
                {
                    var group = gvk!["group"]!.GetValue<string>();
                    var version = gvk["version"]!.GetValue<string>();
                    var groupVersion = group.Length == 0 ? version : $"{group}/{version}";
                    kinds.TryAdd((groupVersion, gvk["kind"]!.GetValue<string>()), name);
                }
            }
        }

        return new OpenApiSchemas(schemas, kinds);
    }
}

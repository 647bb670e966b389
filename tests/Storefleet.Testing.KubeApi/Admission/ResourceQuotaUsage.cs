using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Storage;
using Storefleet.Testing.KubeApi.Validation;

namespace Storefleet.Testing.KubeApi.Admission;

/// <summary>
/// What objects count against a ResourceQuota, as the quota evaluators count them: pods that have not
/// terminated (count, requests.* and limits.* of their effective resources), persistent volume claims
/// (count, requests.storage), services (count, node ports, load balancers) and object counts.
/// </summary>
public sealed class ResourceQuotaUsage(ObjectStore store, ApiCatalog catalog)
{
    private static readonly string[] ComputeResources = ["cpu", "memory"];

    private readonly ApiResource[] _counted =
    [
        catalog.Find(string.Empty, "v1", "pods")!,
        catalog.Find(string.Empty, "v1", "persistentvolumeclaims")!,
        catalog.Find(string.Empty, "v1", "services")!,
        catalog.Find(string.Empty, "v1", "secrets")!,
        catalog.Find(string.Empty, "v1", "configmaps")!,
    ];

    /// <summary>The usage of every resource in <paramref name="keys"/> in a namespace.</summary>
    public Dictionary<string, decimal> InNamespace(string ns, IEnumerable<string> keys)
    {
        var wanted = keys.ToHashSet(StringComparer.Ordinal);
        var used = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var resource in _counted)
        {
            foreach (var obj in store.List(resource, ns).Items)
            {
                foreach (var (key, amount) in Of(resource, obj))
                {
                    if (wanted.Contains(key))
                    {
                        used[key] = used.GetValueOrDefault(key) + amount;
                    }
                }
            }
        }

        return used;
    }

    /// <summary>What one object counts for, per quota key.</summary>
    public static Dictionary<string, decimal> Of(ApiResource resource, JsonObject obj)
    {
        var usage = new Dictionary<string, decimal>(StringComparer.Ordinal)
        {
            [$"count/{resource.GroupResource}"] = 1,
        };
        switch (resource.GroupResource)
        {
            case "pods":
                if (obj["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed")
                {
                    return [];
                }

                usage["pods"] = 1;
                foreach (var compute in ComputeResources)
                {
                    var requests = Effective(obj, "requests", compute);
                    var limits = Effective(obj, "limits", compute);
                    usage[$"requests.{compute}"] = requests;
                    usage[compute] = requests;
                    usage[$"limits.{compute}"] = limits;
                }

                break;
            case "persistentvolumeclaims":
                usage["persistentvolumeclaims"] = 1;
                usage["requests.storage"] = Quantities.Parse(obj["spec"]?["resources"]?["requests"]?["storage"]) ?? 0m;
                break;
            case "services":
                usage["services"] = 1;
                var type = obj["spec"]?["type"]?.GetValue<string>() ?? "ClusterIP";
                usage["services.loadbalancers"] = type == "LoadBalancer" ? 1 : 0;
                usage["services.nodeports"] = type is "NodePort" or "LoadBalancer" ? obj["spec"]?["ports"]?.AsArray().Count ?? 0 : 0;
                break;
            case "secrets" or "configmaps":
                usage[resource.GroupResource] = 1;
                break;
        }

        return usage;
    }

    /// <summary>Containers that leave a compute resource the quota tracks unspecified, in the plugin's words.</summary>
    public static List<string> Unspecified(JsonObject pod, IEnumerable<string> tracked)
    {
        var missing = new List<string>();
        foreach (var key in tracked.Where(k => k is "requests.cpu" or "requests.memory" or "limits.cpu" or "limits.memory" or "cpu" or "memory").Order(StringComparer.Ordinal))
        {
            var (field, compute) = key.Contains('.', StringComparison.Ordinal) ? (key.Split('.')[0], key.Split('.')[1]) : ("requests", key);
            var names = LimitRanger.Containers(pod)
                .Where(c => c["resources"]?[field]?[compute] is null)
                .Select(c => c["name"]?.GetValue<string>() ?? string.Empty)
                .ToList();
            if (names.Count > 0)
            {
                missing.Add($"{key} for: {string.Join(",", names)}");
            }
        }

        return missing;
    }

    /// <summary>A pod's effective amount: the larger of the sum over its containers and its largest init container.</summary>
    private static decimal Effective(JsonObject pod, string field, string compute)
    {
        decimal Of(JsonNode? c) => Quantities.Parse(c?["resources"]?[field]?[compute]) ?? 0m;
        var containers = (pod["spec"]?["containers"]?.AsArray() ?? []).Sum(Of);
        var init = (pod["spec"]?["initContainers"]?.AsArray() ?? []).Select(Of).DefaultIfEmpty(0m).Max();
        return Math.Max(containers, init);
    }
}

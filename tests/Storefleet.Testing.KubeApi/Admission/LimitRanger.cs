using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Validation;

namespace Storefleet.Testing.KubeApi.Admission;

/// <summary>
/// The LimitRanger admission plugin for the limit types the store chart uses: Container (defaults for
/// requests and limits, a request defaulting to its limit, minima and maxima) and PersistentVolumeClaim
/// (storage minima and maxima). Messages are the plugin's own.
/// </summary>
public static class LimitRanger
{
    /// <summary>Fills container defaults into <paramref name="pod"/>; returns the refusal, or null.</summary>
    public static string? DefaultAndCheckPod(JsonObject pod, IReadOnlyList<JsonObject> limitRanges)
    {
        var containers = Containers(pod).ToList();
        foreach (var range in Limits(limitRanges, "Container"))
        {
            foreach (var container in containers)
            {
                var resources = container["resources"] as JsonObject ?? new JsonObject();
                container["resources"] = resources;
                Fill(resources, "limits", range["default"] as JsonObject);
                Fill(resources, "requests", range["defaultRequest"] as JsonObject);
            }
        }

        // The API server's own defaulting: a container with a limit and no request requests its limit.
        foreach (var container in containers)
        {
            if (container["resources"]?["limits"] is JsonObject limits)
            {
                var requests = container["resources"]!["requests"] as JsonObject ?? new JsonObject();
                container["resources"]!["requests"] = requests;
                Fill(requests, limits);
            }
        }

        var errors = new List<string>();
        foreach (var range in Limits(limitRanges, "Container"))
        {
            foreach (var container in containers)
            {
                foreach (var (resource, max) in range["max"] as JsonObject ?? [])
                {
                    var limit = Quantities.Parse(container["resources"]?["limits"]?[resource]);
                    var maximum = Quantities.Parse(max)!.Value;
                    if (limit is null)
                    {
                        errors.Add($"maximum {resource} usage per Container is {Quantities.Format(resource, maximum)}.  No limit is specified");
                    }
                    else if (limit > maximum)
                    {
                        errors.Add($"maximum {resource} usage per Container is {Quantities.Format(resource, maximum)}, but limit is {Quantities.Format(resource, limit.Value)}");
                    }
                }

                foreach (var (resource, min) in range["min"] as JsonObject ?? [])
                {
                    var request = Quantities.Parse(container["resources"]?["requests"]?[resource]);
                    var minimum = Quantities.Parse(min)!.Value;
                    if (request is null || request < minimum)
                    {
                        errors.Add($"minimum {resource} usage per Container is {Quantities.Format(resource, minimum)}, but request is {(request is null ? "0" : Quantities.Format(resource, request.Value))}");
                    }
                }
            }
        }

        return Joined(errors);
    }

    public static string? CheckClaim(JsonObject claim, IReadOnlyList<JsonObject> limitRanges)
    {
        var errors = new List<string>();
        var requested = Quantities.Parse(claim["spec"]?["resources"]?["requests"]?["storage"]) ?? 0m;
        foreach (var range in Limits(limitRanges, "PersistentVolumeClaim"))
        {
            if (Quantities.Parse(range["max"]?["storage"]) is { } max && requested > max)
            {
                errors.Add($"maximum storage usage per PersistentVolumeClaim is {Quantities.Format("storage", max)}, but request is {Quantities.Format("storage", requested)}");
            }

            if (Quantities.Parse(range["min"]?["storage"]) is { } min && requested < min)
            {
                errors.Add($"minimum storage usage per PersistentVolumeClaim is {Quantities.Format("storage", min)}, but request is {Quantities.Format("storage", requested)}");
            }
        }

        return Joined(errors);
    }

    public static IEnumerable<JsonObject> Containers(JsonObject pod) =>
        (pod["spec"]?["initContainers"]?.AsArray() ?? []).Concat(pod["spec"]?["containers"]?.AsArray() ?? []).OfType<JsonObject>();

    private static IEnumerable<JsonObject> Limits(IReadOnlyList<JsonObject> limitRanges, string type) =>
        limitRanges.SelectMany(r => r["spec"]?["limits"]?.AsArray() ?? []).OfType<JsonObject>().Where(l => l["type"]?.GetValue<string>() == type);

    private static void Fill(JsonObject resources, string field, JsonObject? defaults)
    {
        if (defaults is null)
        {
            return;
        }

        var target = resources[field] as JsonObject ?? new JsonObject();
        resources[field] = target;
        Fill(target, defaults);
    }

    private static void Fill(JsonObject target, JsonObject defaults)
    {
        foreach (var (resource, value) in defaults)
        {
            target[resource] ??= value?.DeepClone();
        }
    }

    private static string? Joined(List<string> errors) => errors.Count switch
    {
        0 => null,
        1 => errors[0],
        _ => $"[{string.Join(", ", errors)}]",
    };
}

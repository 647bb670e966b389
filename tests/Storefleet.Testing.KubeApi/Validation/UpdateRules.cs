using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Schema;

namespace Storefleet.Testing.KubeApi.Validation;

/// <summary>
/// The update validation of the kinds the product writes, as the API server's registry strategies do
/// it: immutable fields answer 422 Invalid naming the field, with the real server's words.
/// </summary>
public static class UpdateRules
{
    /// <summary>Fields of a StatefulSet's spec that may change; everything else is forbidden.</summary>
    private static readonly string[] StatefulSetMutable =
        ["replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

    private static readonly string[] PvcMutable = ["resources", "volumeAttributesClassName"];

    /// <summary>Errors that refuse replacing <paramref name="current"/> with <paramref name="next"/> (empty: allowed).</summary>
    public static IReadOnlyList<FieldError> Check(ApiResource resource, JsonObject current, JsonObject next)
    {
        var errors = new List<FieldError>();
        var spec = current["spec"] as JsonObject;
        var nextSpec = next["spec"] as JsonObject;
        switch (resource.GroupResource)
        {
            case "jobs.batch":
                Immutable(errors, "spec.selector", spec?["selector"], nextSpec?["selector"], "v1.LabelSelector");
                Immutable(errors, "spec.template", spec?["template"], nextSpec?["template"], "core.PodTemplateSpec");
                Immutable(errors, "spec.completionMode", spec?["completionMode"], nextSpec?["completionMode"], null);
                Immutable(errors, "spec.podFailurePolicy", spec?["podFailurePolicy"], nextSpec?["podFailurePolicy"], "batch.PodFailurePolicy");
                break;
            case "deployments.apps" or "replicasets.apps" or "daemonsets.apps":
                Immutable(errors, "spec.selector", spec?["selector"], nextSpec?["selector"], "v1.LabelSelector");
                break;
            case "statefulsets.apps":
                if (!SameExcept(spec, nextSpec, StatefulSetMutable))
                {
                    errors.Add(FieldError.Forbidden("spec",
                        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
                }

                break;
            case "secrets" or "configmaps" when current["immutable"]?.GetValue<bool>() == true:
                foreach (var field in new[] { "data", "stringData", "binaryData" })
                {
                    if (!JsonNode.DeepEquals(current[field], next[field]) && next[field] is not null)
                    {
                        errors.Add(FieldError.Forbidden(field, "field is immutable when `immutable` is set"));
                    }
                }

                if (next["immutable"]?.GetValue<bool>() != true)
                {
                    errors.Add(FieldError.Forbidden("immutable", "field is immutable when `immutable` is set"));
                }

                break;
            case "services":
                if (spec?["clusterIP"]?.GetValue<string>() is { Length: > 0 } ip && nextSpec?["clusterIP"]?.GetValue<string>() is { } nextIp && nextIp != ip)
                {
                    errors.Add(FieldError.Invalid("spec.clusterIPs[0]", $"[]string{{\"{nextIp}\"}}", "may not change once set"));
                }

                if (spec?["clusterIPs"] is JsonArray ips && nextSpec?["clusterIPs"] is JsonArray nextIps && !JsonNode.DeepEquals(ips, nextIps))
                {
                    errors.Add(FieldError.Invalid("spec.clusterIPs[0]", $"[]string{{{string.Join(", ", nextIps.Select(i => $"\"{i}\""))}}}", "may not change once set"));
                }

                break;
            case "persistentvolumeclaims":
                CheckClaim(errors, current, next);
                break;
        }

        return errors;
    }

    private static void CheckClaim(List<FieldError> errors, JsonObject current, JsonObject next)
    {
        var spec = current["spec"] as JsonObject;
        var nextSpec = next["spec"] as JsonObject;
        var bound = current["status"]?["phase"]?.GetValue<string>() == "Bound";
        if (!SameExcept(spec, nextSpec, bound ? PvcMutable : ["volumeAttributesClassName"]) || (!bound && !JsonNode.DeepEquals(spec?["resources"], nextSpec?["resources"])))
        {
            errors.Add(FieldError.Forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
            return;
        }

        var capacity = Quantities.Parse(current["status"]?["capacity"]?["storage"]);
        var requested = Quantities.Parse(nextSpec?["resources"]?["requests"]?["storage"]);
        if (bound && capacity is { } c && requested is { } r && r < c)
        {
            errors.Add(FieldError.Forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"));
        }
    }

    private static void Immutable(List<FieldError> errors, string field, JsonNode? before, JsonNode? after, string? goType)
    {
        if (!JsonNode.DeepEquals(before, after))
        {
            var shown = after is null ? "null" : goType is null ? after.ToJsonString() : $"{goType}{after.ToJsonString()}";
            errors.Add(FieldError.Invalid(field, shown, "field is immutable"));
        }
    }

    private static bool SameExcept(JsonObject? a, JsonObject? b, IReadOnlyCollection<string> mutable)
    {
        var keys = (a?.Select(kv => kv.Key) ?? []).Union(b?.Select(kv => kv.Key) ?? []).Where(k => !mutable.Contains(k));
        return keys.All(k => JsonNode.DeepEquals(a?[k], b?[k]));
    }
}

using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Http;
using Storefleet.Testing.KubeApi.Storage;
using Storefleet.Testing.KubeApi.Validation;

namespace Storefleet.Testing.KubeApi.Admission;

/// <summary>
/// The admission plugins of a default kube-apiserver that the product's objects meet, in their order:
/// ServiceAccount (a pod's service account must exist), LimitRanger (container defaults, maxima),
/// DefaultStorageClass (a claim without a class gets the cluster's default), PersistentVolumeClaimResize (growth only where the storage class allows expansion) and ResourceQuota
/// (counts and compute resources, with the real "exceeded quota" and "must specify" messages).
/// Refusals are 403 Forbidden, as a real server answers.
/// </summary>
public sealed class AdmissionChain(ObjectStore store, ApiCatalog catalog)
{
    private readonly ApiResource _serviceAccounts = catalog.Find(string.Empty, "v1", "serviceaccounts")!;
    private readonly ApiResource _limitRanges = catalog.Find(string.Empty, "v1", "limitranges")!;
    private readonly ApiResource _quotas = catalog.Find(string.Empty, "v1", "resourcequotas")!;
    private readonly ApiResource _storageClasses = catalog.Find("storage.k8s.io", "v1", "storageclasses")!;
    private readonly ResourceQuotaUsage _usage = new(store, catalog);

    /// <summary>Admits a create (<paramref name="current"/> null) or an update; may default fields of <paramref name="obj"/>. Null: admitted.</summary>
    public (int Status, JsonObject Body)? Admit(ApiResource resource, string ns, JsonObject obj, JsonObject? current)
    {
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;
        var refusal = resource.GroupResource switch
        {
            "pods" when current is null => ServiceAccountMissing(ns, obj) ?? LimitRanger.DefaultAndCheckPod(obj, LimitRanges(ns)),
            "persistentvolumeclaims" when current is null => DefaultStorageClass(obj) ?? LimitRanger.CheckClaim(obj, LimitRanges(ns)),
            "persistentvolumeclaims" => ResizeRefused(current, obj),
            _ => null,
        };
        refusal ??= Quota(resource, ns, obj, current);
        return refusal is null ? null : (403, StatusBodies.Forbidden(resource.Plural, name, refusal));
    }

    private string? ServiceAccountMissing(string ns, JsonObject pod)
    {
        var account = pod["spec"]?["serviceAccountName"]?.GetValue<string>() is { Length: > 0 } named ? named : "default";
        return store.Get(_serviceAccounts, ns, account) is null
            ? $"error looking up service account {ns}/{account}: serviceaccount \"{account}\" not found"
            : null;
    }

    /// <summary>The DefaultStorageClass plugin: a claim that names no class gets the one annotated as the default (none: left unset).</summary>
    private string? DefaultStorageClass(JsonObject claim)
    {
        if (claim["spec"] is not JsonObject spec || spec.ContainsKey("storageClassName"))
        {
            return null;
        }

        var defaults = store.List(_storageClasses, null).Items
            .Where(c => c["metadata"]?["annotations"]?["storageclass.kubernetes.io/is-default-class"]?.GetValue<string>() == "true")
            .Select(c => c["metadata"]!["name"]!.GetValue<string>())
            .Order(StringComparer.Ordinal)
            .ToList();
        if (defaults.Count > 0)
        {
            spec["storageClassName"] = defaults[0];
        }

        return null;
    }

    private string? ResizeRefused(JsonObject current, JsonObject next)
    {
        var before = Quantities.Parse(current["spec"]?["resources"]?["requests"]?["storage"]);
        var after = Quantities.Parse(next["spec"]?["resources"]?["requests"]?["storage"]);
        if (before is null || after is null || after <= before)
        {
            return null;
        }

        var className = current["spec"]?["storageClassName"]?.GetValue<string>();
        var storageClass = className is null ? null : store.Get(_storageClasses, null, className);
        return storageClass?["allowVolumeExpansion"]?.GetValue<bool>() == true
            ? null
            : "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";
    }

    private string? Quota(ApiResource resource, string ns, JsonObject obj, JsonObject? current)
    {
        var requested = ResourceQuotaUsage.Of(resource, obj);
        if (requested.Count == 0)
        {
            return null;
        }

        if (current is not null)
        {
            // An update only needs room for what it adds.
            var before = ResourceQuotaUsage.Of(resource, current);
            requested = requested.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
            if (requested.Values.All(v => v <= 0))
            {
                return null;
            }
        }

        foreach (var quota in store.List(_quotas, ns).Items.OrderBy(q => q["metadata"]!["name"]!.GetValue<string>(), StringComparer.Ordinal))
        {
            var quotaName = quota["metadata"]!["name"]!.GetValue<string>();
            var hard = (quota["spec"]?["hard"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => Quantities.Parse(kv.Value) ?? 0m);
            if (resource.GroupResource == "pods" && ResourceQuotaUsage.Unspecified(obj, hard.Keys) is { Count: > 0 } missing)
            {
                return $"failed quota: {quotaName}: must specify {string.Join("; ", missing)}";
            }

            var used = _usage.InNamespace(ns, hard.Keys);
            var exceeded = hard.Keys
                .Where(key => requested.TryGetValue(key, out var amount) && amount > 0 && used.GetValueOrDefault(key) + amount > hard[key])
                .Order(StringComparer.Ordinal)
                .ToList();
            if (exceeded.Count > 0)
            {
                string Print(Func<string, decimal> value) => string.Join(",", exceeded.Select(k => $"{k}={Quantities.Format(k, value(k))}"));
                return $"exceeded quota: {quotaName}, requested: {Print(k => requested[k])}, used: {Print(k => used.GetValueOrDefault(k))}, limited: {Print(k => hard[k])}";
            }
        }

        return null;
    }

    private IReadOnlyList<JsonObject> LimitRanges(string ns) => store.List(_limitRanges, ns).Items;
}

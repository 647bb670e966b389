using k8s;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Kubernetes;

/// <summary>Whether a plan change can be carried out, decided before anything is changed.</summary>
public abstract record PlanChangeVerdict
{
    private PlanChangeVerdict()
    {
    }

    /// <summary>Possible: these volumes will grow once the upgraded release is healthy.</summary>
    public sealed record Possible(IReadOnlyList<VolumeGrowth> Growths) : PlanChangeVerdict;

    /// <summary>Impossible as asked: <paramref name="Reason"/> (volume-shrink, volume-expansion) and what to do instead.</summary>
    public sealed record Impossible(string Reason, string Detail) : PlanChangeVerdict;

    /// <summary>The cluster could not be asked; nothing was changed.</summary>
    public sealed record Unknown(string Detail) : PlanChangeVerdict;
}

/// <summary>
/// Checks a plan change against the store's live volumes: a volume never shrinks (Kubernetes refuses it), and a volume
/// grows only where its StorageClass allows expansion. Reads the store's claims and their classes (a request each —
/// a person's action, not steady state).
/// </summary>
public sealed class PlanChangeCheck(ClusterConnection cluster, IOptions<EngineOptions> options)
{
    public async Task<PlanChangeVerdict> CheckAsync(Store store, StorePlan to, CancellationToken cancellationToken)
    {
        var client = cluster.TryGetClient(out var noCluster);
        if (client is null)
        {
            return new PlanChangeVerdict.Unknown(noCluster);
        }

        var names = StoreClusterNames.For(store, options.Value.NamespacePrefix);
        try
        {
            var claims = await client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(names.Namespace, labelSelector: $"app.kubernetes.io/instance={names.Release}", cancellationToken: cancellationToken);
            var volumes = claims.Items
                .Where(c => c.Metadata.Labels?.TryGetValue("app.kubernetes.io/component", out var component) == true && component is "mysql" or "wordpress")
                .Where(c => c.Spec?.Resources?.Requests?.ContainsKey("storage") == true)
                .Select(c => new VolumeState(c.Metadata.Name, c.Metadata.Labels!["app.kubernetes.io/component"] == "mysql" ? "database" : "files",
                    c.Spec!.Resources!.Requests!["storage"].ToString(), c.Spec.StorageClassName))
                .ToList();

            var shrinks = PlanChange.Shrinks(to, volumes);
            if (shrinks.Count > 0)
            {
                return new PlanChangeVerdict.Impossible("volume-shrink",
                    $"Plan {to.Id} has smaller volumes than store '{store.Name}' has ({string.Join(", ", shrinks)}); Kubernetes cannot shrink a volume. " +
                    "Choose a plan at least as large, or move the store's data to a new store on the smaller plan.");
            }

            var growths = PlanChange.Growths(to, volumes);
            foreach (var className in growths.Select(g => g.Volume.StorageClass).Distinct())
            {
                if (className is null)
                {
                    return new PlanChangeVerdict.Impossible("volume-expansion",
                        $"Plan {to.Id} needs larger volumes ({string.Join(", ", growths)}), but they have no storage class, so they cannot be expanded. Keep the current plan.");
                }

                var storageClass = await client.StorageV1.ReadStorageClassAsync(className, cancellationToken: cancellationToken);
                if (storageClass.AllowVolumeExpansion != true)
                {
                    return new PlanChangeVerdict.Impossible("volume-expansion",
                        $"Plan {to.Id} needs larger volumes ({string.Join(", ", growths.Where(g => g.Volume.StorageClass == className))}), but storage class '{className}' " +
                        "does not allow volume expansion (allowVolumeExpansion is not true). Ask an operator to enable it on the class (if its provisioner supports it), or keep the current plan.");
                }
            }

            return new PlanChangeVerdict.Possible(growths);
        }
        catch (Exception e) when (KubeErrors.IsUnreachable(e) || KubeErrors.IsRetryable(e))
        {
            return new PlanChangeVerdict.Unknown(KubeErrors.Describe(e));
        }
    }
}

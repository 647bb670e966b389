using k8s.Models;

namespace Storefleet.Testing.Charts.Quota;

/// <summary>
/// What a pod counts against a ResourceQuota: per resource, the larger of the sum over its containers
/// and the largest init container (the scheduler's and quota's "effective" request or limit).
/// </summary>
public static class PodResources
{
    public static decimal Requests(V1PodSpec pod, string resource) => Effective(pod, resource, r => r?.Requests);

    public static decimal Limits(V1PodSpec pod, string resource) => Effective(pod, resource, r => r?.Limits);

    public static decimal Of(IDictionary<string, ResourceQuantity>? amounts, string resource) =>
        amounts is not null && amounts.TryGetValue(resource, out var quantity) ? quantity.ToDecimal() : 0m;

    private static decimal Effective(V1PodSpec pod, string resource, Func<V1ResourceRequirements?, IDictionary<string, ResourceQuantity>?> pick)
    {
        var containers = (pod.Containers ?? []).Sum(c => Of(pick(c.Resources), resource));
        var init = (pod.InitContainers ?? []).Select(c => Of(pick(c.Resources), resource)).DefaultIfEmpty(0m).Max();
        return Math.Max(containers, init);
    }
}

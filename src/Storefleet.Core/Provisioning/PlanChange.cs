using Storefleet.Core.Stores;

namespace Storefleet.Core.Provisioning;

/// <summary>
/// What moving a store's volumes to another plan's sizes means: which grow, and which would have to shrink — which
/// Kubernetes cannot do, so such a change is refused before anything is touched.
/// </summary>
public static class PlanChange
{
    /// <summary>The volumes whose requested size is below what <paramref name="plan"/> gives them.</summary>
    public static IReadOnlyList<VolumeGrowth> Growths(StorePlan plan, IReadOnlyList<VolumeState> volumes) =>
        Compare(plan, volumes, (current, wanted) => wanted > current);

    /// <summary>The volumes larger than <paramref name="plan"/> gives them (a change to that plan would shrink them).</summary>
    public static IReadOnlyList<VolumeGrowth> Shrinks(StorePlan plan, IReadOnlyList<VolumeState> volumes) =>
        Compare(plan, volumes, (current, wanted) => wanted < current);

    private static List<VolumeGrowth> Compare(StorePlan plan, IReadOnlyList<VolumeState> volumes, Func<decimal, decimal, bool> keep)
    {
        var sizes = plan.Volumes.All.ToDictionary(v => v.Volume, v => v.Size);
        return [.. volumes
            .Where(v => sizes.ContainsKey(v.Volume)
                && StorageSize.TryParse(v.Requested) is { } current
                && StorageSize.TryParse(sizes[v.Volume]) is { } wanted
                && keep(current, wanted))
            .Select(v => new VolumeGrowth(v, sizes[v.Volume]))];
    }
}

namespace Storefleet.Core.Stores;

/// <summary>
/// A store's size. Each plan maps to the ResourceQuota of the store namespace; the store chart
/// receives the plan name and sizes its quota and limits from it.
/// </summary>
public sealed record StorePlan(string Id, PlanQuota Quota, PlanVolumes Volumes)
{
    public static readonly StorePlan Small = new("small", new PlanQuota(
        CpuRequests: "1", CpuLimits: "3", MemoryRequests: "1536Mi", MemoryLimits: "3584Mi", Storage: "10Gi", Pods: 8, PersistentVolumeClaims: 3),
        new PlanVolumes(Database: "4Gi", Files: "2Gi"));

    public static readonly StorePlan Medium = new("medium", new PlanQuota(
        CpuRequests: "2", CpuLimits: "5", MemoryRequests: "3Gi", MemoryLimits: "6Gi", Storage: "30Gi", Pods: 10, PersistentVolumeClaims: 3),
        new PlanVolumes(Database: "15Gi", Files: "8Gi"));

    public static readonly StorePlan Large = new("large", new PlanQuota(
        CpuRequests: "4", CpuLimits: "8", MemoryRequests: "6Gi", MemoryLimits: "12Gi", Storage: "100Gi", Pods: 12, PersistentVolumeClaims: 4),
        new PlanVolumes(Database: "50Gi", Files: "20Gi"));

    public static readonly IReadOnlyList<StorePlan> All = [Small, Medium, Large];

    public static StorePlan? Find(string? id) =>
        All.FirstOrDefault(p => string.Equals(p.Id, id, StringComparison.Ordinal));

    public static string AcceptedIds => string.Join(", ", All.Select(p => p.Id));

    public override string ToString() => Id;
}

/// <summary>Namespace-wide limits for one store (Kubernetes quantity strings).</summary>
public sealed record PlanQuota(
    string CpuRequests,
    string CpuLimits,
    string MemoryRequests,
    string MemoryLimits,
    string Storage,
    int Pods,
    int PersistentVolumeClaims);

/// <summary>The sizes of a store's volumes on a plan (Kubernetes quantities): the MySQL data and the WordPress files.</summary>
public sealed record PlanVolumes(string Database, string Files)
{
    public IEnumerable<(string Volume, string Size)> All => [("database", Database), ("files", Files)];
}

/// <summary>Binary and decimal storage quantities ("4Gi", "500M", "1T") in bytes, for comparing volume sizes.</summary>
public static class StorageSize
{
    private static readonly (string Suffix, decimal Factor)[] Suffixes =
    [
        ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024), ("Ti", 1024m * 1024 * 1024 * 1024), ("Pi", 1024m * 1024 * 1024 * 1024 * 1024),
        ("k", 1e3m), ("M", 1e6m), ("G", 1e9m), ("T", 1e12m), ("P", 1e15m),
    ];

    public static decimal? TryParse(string? quantity)
    {
        if (string.IsNullOrWhiteSpace(quantity))
        {
            return null;
        }

        foreach (var (suffix, factor) in Suffixes)
        {
            if (quantity.EndsWith(suffix, StringComparison.Ordinal)
                && decimal.TryParse(quantity[..^suffix.Length], System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                return value * factor;
            }
        }

        return decimal.TryParse(quantity, System.Globalization.NumberStyles.AllowDecimalPoint | System.Globalization.NumberStyles.AllowExponent, System.Globalization.CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
    }
}

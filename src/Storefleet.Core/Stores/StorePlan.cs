namespace Storefleet.Core.Stores;

/// <summary>
/// A store's size. Each plan maps to the ResourceQuota of the store namespace; the store chart
/// receives the plan name and sizes its quota and limits from it.
/// </summary>
public sealed record StorePlan(string Id, PlanQuota Quota)
{
    public static readonly StorePlan Small = new("small", new PlanQuota(
        CpuRequests: "1", CpuLimits: "2", MemoryRequests: "1536Mi", MemoryLimits: "3Gi", Storage: "10Gi", Pods: 6, PersistentVolumeClaims: 3));

    public static readonly StorePlan Medium = new("medium", new PlanQuota(
        CpuRequests: "2", CpuLimits: "4", MemoryRequests: "3Gi", MemoryLimits: "6Gi", Storage: "30Gi", Pods: 8, PersistentVolumeClaims: 3));

    public static readonly StorePlan Large = new("large", new PlanQuota(
        CpuRequests: "4", CpuLimits: "8", MemoryRequests: "6Gi", MemoryLimits: "12Gi", Storage: "100Gi", Pods: 12, PersistentVolumeClaims: 4));

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

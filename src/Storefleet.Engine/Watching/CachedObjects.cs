using k8s.Models;

namespace Storefleet.Engine.Watching;

/// <summary>
/// What the watch caches keep of each object: only the fields health and drift are judged by — never a Secret's
/// data (Secrets are watched as metadata only) — so a thousand stores fit in a few megabytes.
/// </summary>
public interface ICachedObject
{
    string Namespace { get; }

    string Name { get; }
}

/// <summary>
/// One write recorded in an object's managedFields (not its status): who, how (Apply or Update), through which
/// subresource (scale...) and when, by the API server's clock.
/// </summary>
public sealed record FieldWrite(string Manager, string Operation, string? Subresource, DateTimeOffset? Time);

/// <summary>Any object of a store's release: identity, labels and the writes recorded on it.</summary>
public sealed record CachedObject(string Kind, string Namespace, string Name, string Uid, IReadOnlyList<FieldWrite> Writes) : ICachedObject
{
    public static CachedObject From(string kind, V1ObjectMeta metadata) =>
        new(kind, metadata.NamespaceProperty ?? string.Empty, metadata.Name, metadata.Uid ?? string.Empty, WritesOf(metadata));

    /// <summary>The managedFields entries other than status updates (status is the controllers' business, never drift).</summary>
    public static IReadOnlyList<FieldWrite> WritesOf(V1ObjectMeta metadata) =>
        [.. (metadata.ManagedFields ?? [])
            .Where(f => f.Subresource != "status")
            .Select(f => new FieldWrite(f.Manager ?? string.Empty, f.Operation ?? string.Empty, string.IsNullOrEmpty(f.Subresource) ? null : f.Subresource, Utc(f.Time)))];

    public static DateTimeOffset? Utc(DateTime? time) =>
        time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null;
}

/// <summary>A Deployment or StatefulSet: what readiness is judged by.</summary>
public sealed record CachedWorkload(
    CachedObject Identity,
    int Replicas,
    int ReadyReplicas,
    int UpdatedReplicas,
    long Generation,
    long ObservedGeneration,
    string? ReplicaFailure,
    DateTimeOffset? UnavailableSince) : ICachedObject
{
    public string Namespace => Identity.Namespace;

    public string Name => Identity.Name;

    public bool Ready => ObservedGeneration >= Generation && ReadyReplicas >= Replicas && UpdatedReplicas >= Replicas;

    public static CachedWorkload From(V1Deployment d)
    {
        var available = d.Status?.Conditions?.FirstOrDefault(c => c.Type == "Available");
        var failure = d.Status?.Conditions?.FirstOrDefault(c => c.Type == "ReplicaFailure" && c.Status == "True");
        return new CachedWorkload(
            CachedObject.From("Deployment", d.Metadata),
            d.Spec?.Replicas ?? 1,
            d.Status?.ReadyReplicas ?? 0,
            d.Status?.UpdatedReplicas ?? 0,
            d.Metadata.Generation ?? 0,
            d.Status?.ObservedGeneration ?? 0,
            failure is null ? null : $"{failure.Reason}: {failure.Message}",
            available is { Status: "False" } ? CachedObject.Utc(available.LastTransitionTime) : null);
    }

    public static CachedWorkload From(V1StatefulSet s) => new(
        CachedObject.From("StatefulSet", s.Metadata),
        s.Spec?.Replicas ?? 1,
        s.Status?.ReadyReplicas ?? 0,
        s.Status?.UpdatedReplicas ?? s.Status?.ReadyReplicas ?? 0,
        s.Metadata.Generation ?? 0,
        s.Status?.ObservedGeneration ?? 0,
        null,
        null);
}

/// <summary>One container of a pod: image, why it waits, how it last ended, its memory limit (for OOMKilled messages).</summary>
public sealed record CachedContainer(string Name, string? Image, string? WaitingReason, string? WaitingMessage, string? LastTerminatedReason, int RestartCount, string? MemoryLimit, bool Ready);

/// <summary>A pod: scheduling, its containers' states, and since when it is not ready.</summary>
public sealed record CachedPod(
    string Namespace,
    string Name,
    string? Owner,
    string? Phase,
    string? UnschedulableReason,
    string? UnschedulableMessage,
    IReadOnlyList<CachedContainer> Containers,
    DateTimeOffset? NotReadySince) : ICachedObject
{
    public static CachedPod From(V1Pod pod)
    {
        var specs = (pod.Spec?.InitContainers ?? []).Concat(pod.Spec?.Containers ?? []).GroupBy(c => c.Name).ToDictionary(g => g.Key, g => g.First());
        var statuses = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []);
        var containers = statuses.Select(s =>
        {
            var spec = specs.GetValueOrDefault(s.Name);
            var limit = spec?.Resources?.Limits is { } limits && limits.TryGetValue("memory", out var memory) ? memory.ToString() : null;
            return new CachedContainer(s.Name, spec?.Image ?? s.Image, s.State?.Waiting?.Reason, s.State?.Waiting?.Message,
                s.LastState?.Terminated?.Reason ?? s.State?.Terminated?.Reason, s.RestartCount, limit, s.Ready);
        }).ToList();
        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        var ready = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        return new CachedPod(
            pod.Metadata.NamespaceProperty ?? string.Empty,
            pod.Metadata.Name,
            pod.Metadata.OwnerReferences?.FirstOrDefault()?.Kind,
            pod.Status?.Phase,
            scheduled is { Status: "False" } ? scheduled.Reason ?? "Unschedulable" : null,
            scheduled is { Status: "False" } ? scheduled.Message : null,
            containers,
            ready is { Status: "False" } ? CachedObject.Utc(ready.LastTransitionTime) : null);
    }
}

/// <summary>A PersistentVolumeClaim: its component (mysql, wordpress), bound or not, its class and sizes.</summary>
public sealed record CachedClaim(CachedObject Identity, string? Component, string? Phase, string? StorageClass, string? Requested, string? Capacity) : ICachedObject
{
    public string Namespace => Identity.Namespace;

    public string Name => Identity.Name;

    public static CachedClaim From(V1PersistentVolumeClaim claim) => new(
        CachedObject.From("PersistentVolumeClaim", claim.Metadata),
        claim.Metadata.Labels?.TryGetValue("app.kubernetes.io/component", out var component) == true ? component : null,
        claim.Status?.Phase,
        claim.Spec?.StorageClassName,
        claim.Spec?.Resources?.Requests is { } requests && requests.TryGetValue("storage", out var requested) ? requested.ToString() : null,
        claim.Status?.Capacity is { } capacity && capacity.TryGetValue("storage", out var size) ? size.ToString() : null);
}

/// <summary>A store namespace: its labels and whether it is being deleted. Indexed under its own name.</summary>
public sealed record CachedNamespace(string Name, IReadOnlyDictionary<string, string> Labels, DateTimeOffset? DeletionTimestamp, IReadOnlyList<string> TerminationConditions) : ICachedObject
{
    public string Namespace => Name;

    public static CachedNamespace From(V1Namespace ns) => new(
        ns.Metadata.Name,
        ns.Metadata.Labels is { } labels ? new Dictionary<string, string>(labels) : new Dictionary<string, string>(),
        CachedObject.Utc(ns.Metadata.DeletionTimestamp) ?? (ns.Status?.Phase == "Terminating" ? DateTimeOffset.MinValue : null),
        [.. (ns.Status?.Conditions ?? []).Where(c => c.Status == "True" && c.Type.StartsWith("Namespace", StringComparison.Ordinal)).Select(c => $"{c.Type}: {c.Message}")]);
}

/// <summary>A Secret's metadata: helm's release records (name, version, status, values digest) and the credentials Secret.</summary>
public sealed record CachedSecret(string Namespace, string Name, string Uid, IReadOnlyDictionary<string, string> Labels, DateTimeOffset? Created) : ICachedObject
{
    public static CachedSecret From(V1Secret secret) => new(
        secret.Metadata.NamespaceProperty ?? string.Empty,
        secret.Metadata.Name,
        secret.Metadata.Uid ?? string.Empty,
        secret.Metadata.Labels is { } labels ? new Dictionary<string, string>(labels) : new Dictionary<string, string>(),
        CachedObject.Utc(secret.Metadata.CreationTimestamp));
}

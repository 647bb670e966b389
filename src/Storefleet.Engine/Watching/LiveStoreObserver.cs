using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Watching;

/// <summary>
/// Observes a live store (Ready, Degraded — and the volumes of one Updating) from the watch caches alone, without a
/// request to the API server: its namespace and Pod Security labels, its release record, its health (pods
/// crash-looping or OOM-killed, images that cannot be pulled, volumes lost or pending, workloads unavailable, the
/// credentials Secret gone) and its drift (objects of the release deleted, or written by another field manager
/// since Storefleet last applied them).
/// </summary>
public sealed class LiveStoreObserver(StoreCaches caches, TimeProvider clock, IOptions<EngineOptions> options)
{
    private static readonly HashSet<string> WaitingProblems =
        ["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "RunContainerError"];

    /// <summary>When this replica first saw a problem that has no start time of its own (a StatefulSet not ready, a claim Pending).</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _firstSeen = new(StringComparer.Ordinal);

    /// <summary>The caches hold a complete picture (every resource listed at least once).</summary>
    public bool Ready => caches.Synced;

    /// <summary>
    /// The live store as the caches show it. <paramref name="confirmed"/>: the namespace as read from the API server when
    /// the cache does not show it (the cache selects namespaces by Storefleet's label, which someone may have removed).
    /// </summary>
    public StoreObservation Observe(Store store, StoreClusterNames names, ReleaseActivity helm, CachedNamespace? confirmed = null)
    {
        var ns = names.Namespace;
        var cached = confirmed ?? caches.Namespaces.Get(ns, ns);
        if (cached is null)
        {
            return new StoreObservation(NamespaceState.Absent, false, ReleaseState.Absent, WorkloadState.NotObserved, BootstrapJobState.Absent, null);
        }

        if (cached.DeletionTimestamp is not null)
        {
            return new StoreObservation(NamespaceState.Terminating, false, ReleaseState.Absent, WorkloadState.NotObserved, BootstrapJobState.Absent, null,
                new NamespaceTermination(cached.DeletionTimestamp == DateTimeOffset.MinValue ? null : cached.DeletionTimestamp, cached.TerminationConditions));
        }

        // Ours when it carries this store's uid — or, with the uid label gone, this store's name label (labels are restored as drift).
        var uid = cached.Labels.TryGetValue(StoreClusterNames.StoreUidLabel, out var value) ? value : null;
        var named = cached.Labels.TryGetValue(StoreClusterNames.StoreLabel, out var owner) && owner == store.Name;
        if ((store.Uid.Length > 0 && uid is not null && uid != store.Uid) || (uid is null && !named))
        {
            return new StoreObservation(NamespaceState.Foreign, false, ReleaseState.Absent, WorkloadState.NotObserved, BootstrapJobState.Absent, null, ForeignUid: uid);
        }

        var release = Release(names);
        var credentials = caches.Credentials.Get(ns, names.CredentialsSecret) is not null;
        var health = Health(store, names, credentials);
        var drift = new DriftReport(DriftedObjects(store, ns), NamespaceLabelDrift(store, cached));
        return new StoreObservation(NamespaceState.Ours, credentials, release, WorkloadState.NotObserved, BootstrapJobState.Absent, store.Urls,
            HelmRunningHere: helm.Running, AbandonedHere: helm.Abandoned(release), Health: health, Drift: drift, Volumes: Volumes(ns));
    }

    /// <summary>The store's volumes (database: the MySQL claim; files: the WordPress claim) with their requested sizes and classes.</summary>
    public IReadOnlyList<VolumeState> Volumes(string ns) =>
        [.. caches.Claims.InNamespace(ns)
            .Where(c => c.Component is "mysql" or "wordpress" && c.Requested is not null)
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => new VolumeState(c.Name, c.Component == "mysql" ? "database" : "files", c.Requested!, c.StorageClass))];

    /// <summary>The labels the store's namespace must carry (ownership and Pod Security), as the engine created it.</summary>
    public IReadOnlyDictionary<string, string> ExpectedNamespaceLabels(Store store) =>
        StoreClusterNames.NamespaceLabels(store, options.Value.PodSecurityLevel);

    private List<string> NamespaceLabelDrift(Store store, CachedNamespace ns) =>
        [.. ExpectedNamespaceLabels(store).Where(kv => !ns.Labels.TryGetValue(kv.Key, out var actual) || actual != kv.Value).Select(kv => kv.Key).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Objects of the release (its recorded inventory) that are gone, or that a field manager other than Storefleet's
    /// own and the cluster's controllers wrote since the release was last applied.
    /// </summary>
    private List<DriftedObject> DriftedObjects(Store store, string ns)
    {
        var drifted = new List<DriftedObject>();
        if (store.Inventory is not { } inventory)
        {
            return drifted;
        }

        var ignored = options.Value.Drift.IgnoredFieldManagers;
        foreach (var entry in inventory.Objects)
        {
            var slash = entry.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !caches.Objects.TryGetValue(entry[..slash], out var inNamespace))
            {
                continue; // a kind the engine does not watch (e.g. a Secret the chart makes when no credentials are given)
            }

            var name = entry[(slash + 1)..];
            var found = inNamespace(ns).FirstOrDefault(o => o.Name == name);
            if (found is null)
            {
                drifted.Add(new DriftedObject(entry, "deleted"));
                continue;
            }

            var writers = found.Writes
                .Where(w => w.Manager is not ("helm" or EngineFieldManager.Name) && !ignored.Contains(w.Manager) && w.Time is { } t && t >= inventory.AppliedAt)
                .Select(w => w.Subresource is { } sub ? $"{w.Manager} via {sub}" : w.Manager)
                .Distinct(StringComparer.Ordinal)
                .ToList();
            if (writers.Count > 0)
            {
                drifted.Add(new DriftedObject(entry, $"changed by {string.Join(", ", writers)}"));
            }
        }

        return drifted;
    }

    private ReleaseState Release(StoreClusterNames names)
    {
        var latest = caches.ReleaseRecords.InNamespace(names.Namespace)
            .Where(r => r.Labels.TryGetValue("name", out var name) && name == names.Release)
            .Select(r => (Record: r, Version: int.TryParse(r.Labels.TryGetValue("version", out var v) ? v : null, out var n) ? n : 0))
            .OrderByDescending(r => r.Version)
            .FirstOrDefault();
        if (latest.Record is null)
        {
            return ReleaseState.Absent;
        }

        var labels = latest.Record.Labels;
        var status = (labels.TryGetValue("status", out var text) ? text : null) switch
        {
            "deployed" => ReleaseStatus.Deployed,
            "pending-install" => ReleaseStatus.PendingInstall,
            "pending-upgrade" => ReleaseStatus.PendingUpgrade,
            "pending-rollback" => ReleaseStatus.PendingRollback,
            "uninstalling" => ReleaseStatus.Uninstalling,
            _ => ReleaseStatus.Failed,
        };
        var age = latest.Record.Created is { } created ? clock.GetUtcNow() - created : (TimeSpan?)null;
        return new ReleaseState(status, latest.Version, labels.TryGetValue(StoreClusterNames.ValuesDigestLabel, out var digest) ? digest : null, age, latest.Record.Uid);
    }

    /// <summary>What keeps the store from being healthy, most severe first; problems that may pass (a rollout) carry their start.</summary>
    private List<WorkloadProblem> Health(Store store, StoreClusterNames names, bool credentialsPresent)
    {
        var ns = names.Namespace;
        var problems = new List<WorkloadProblem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in caches.Claims.InNamespace(ns))
        {
            if (claim.Phase == "Lost")
            {
                problems.Add(new WorkloadProblem("VolumeLost", $"PersistentVolumeClaim {claim.Name} is Lost: its volume is gone. Restore the store's data from a backup."));
            }
            else if (claim.Phase == "Pending")
            {
                problems.Add(new WorkloadProblem("PersistentVolumeClaimPending", $"PersistentVolumeClaim {claim.Name} is Pending (storage class {claim.StorageClass ?? "default"}): no volume is bound.", FirstSeen(store, $"claim/{claim.Name}", seen)));
            }
        }

        if (!credentialsPresent)
        {
            problems.Add(new WorkloadProblem("CredentialsMissing",
                $"The credentials Secret {names.CredentialsSecret} is gone: pods that restart cannot start, and new passwords would not match the database. Restore the Secret (from a backup of the namespace) with the same keys."));
        }

        foreach (var pod in caches.Pods.InNamespace(ns).Where(p => p.Owner != "Job" && p.Phase is not ("Succeeded" or "Failed")).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            foreach (var container in pod.Containers)
            {
                if (container.LastTerminatedReason == "OOMKilled" && !container.Ready)
                {
                    problems.Add(new WorkloadProblem("OOMKilled",
                        $"Pod {pod.Name} container {container.Name} was OOMKilled (memory limit {container.MemoryLimit ?? "none"}; restarted {container.RestartCount} times). Move the store to a larger plan, or find what uses the memory."));
                }
                else if (container.WaitingReason is { } reason && WaitingProblems.Contains(reason))
                {
                    problems.Add(new WorkloadProblem(reason,
                        $"Pod {pod.Name} container {container.Name} (image {container.Image}): {reason}{(string.IsNullOrEmpty(container.WaitingMessage) ? "" : $" — {container.WaitingMessage}")}."));
                }
            }

            if (pod.UnschedulableReason is { } unschedulable)
            {
                problems.Add(new WorkloadProblem(unschedulable, $"Pod {pod.Name} cannot be scheduled: {pod.UnschedulableMessage}", pod.NotReadySince ?? FirstSeen(store, $"pod/{pod.Name}", seen)));
            }
        }

        foreach (var workload in caches.Deployments.InNamespace(ns).Concat(caches.StatefulSets.InNamespace(ns)).OrderBy(w => w.Name, StringComparer.Ordinal))
        {
            if (workload.ReplicaFailure is { } failure)
            {
                problems.Add(new WorkloadProblem("FailedCreate", $"{workload.Identity.Kind} {workload.Name} cannot create pods: {failure}"));
            }
            else if (!workload.Ready)
            {
                problems.Add(new WorkloadProblem("Unavailable",
                    $"{workload.Identity.Kind} {workload.Name} has {workload.ReadyReplicas} of {workload.Replicas} replicas ready.",
                    workload.UnavailableSince ?? FirstSeen(store, $"{workload.Identity.Kind}/{workload.Name}", seen)));
            }
        }

        foreach (var key in _firstSeen.Keys.Where(k => k.StartsWith(store.Name + "|", StringComparison.Ordinal) && !seen.Contains(k)))
        {
            _firstSeen.TryRemove(key, out _);
        }

        var order = new[] { "VolumeLost", "CredentialsMissing", "OOMKilled", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "FailedCreate" };
        return [.. problems.OrderBy(p => Array.IndexOf(order, p.Reason) is var i && i >= 0 ? i : order.Length)];
    }

    private DateTimeOffset FirstSeen(Store store, string what, HashSet<string> seen)
    {
        var key = $"{store.Name}|{what}";
        seen.Add(key);
        return _firstSeen.GetOrAdd(key, _ => clock.GetUtcNow());
    }
}

/// <summary>The field manager the engine's own writes use (namespace labels, volume growth), so drift never counts them.</summary>
public static class EngineFieldManager
{
    public const string Name = "storefleet";
}

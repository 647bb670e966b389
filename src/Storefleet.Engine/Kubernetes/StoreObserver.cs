using k8s;
using k8s.Models;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Kubernetes;

/// <summary>
/// Reads what the cluster says about one store — namespace, credentials Secret, Helm release (from helm's
/// own release Secrets), workloads and pod problems, the bootstrap Job, the Ingress — into a
/// <see cref="StoreObservation"/>. Only reads; only what the store's phase needs.
/// </summary>
public static class StoreObserver
{
    private static readonly HashSet<string> WaitingProblems =
        ["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "RunContainerError"];

    private static readonly HashSet<string> TerminationConditions =
        ["NamespaceContentRemaining", "NamespaceFinalizersRemaining", "NamespaceDeletionContentFailure", "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure"];

    public static async Task<StoreObservation> ObserveAsync(IKubernetes client, Store store, StoreClusterNames names, ReleaseActivity helm, CancellationToken cancellationToken)
    {
        var (state, termination, foreignUid) = await NamespaceAsync(client, store, names.Namespace, cancellationToken);
        if (state is NamespaceState.Absent or NamespaceState.Foreign)
        {
            return new StoreObservation(state, false, ReleaseState.Absent, WorkloadState.NotObserved, BootstrapJobState.Absent, null, termination, foreignUid);
        }

        var release = await ReleaseAsync(client, names, cancellationToken);
        if (store.Phase == StorePhase.Deleting || state == NamespaceState.Terminating)
        {
            return new StoreObservation(state, false, release, WorkloadState.NotObserved, BootstrapJobState.Absent, null, termination,
                HelmRunningHere: helm.Running, AbandonedHere: helm.Abandoned(release));
        }

        var credentials = await ExistsAsync(() => client.CoreV1.ReadNamespacedSecretAsync(names.CredentialsSecret, names.Namespace, cancellationToken: cancellationToken));
        var workloads = store.Phase is StorePhase.Provisioning or StorePhase.Updating or StorePhase.Restoring ? await WorkloadsAsync(client, names, cancellationToken) : WorkloadState.NotObserved;
        var job = store.Phase == StorePhase.Bootstrapping ? await BootstrapAsync(client, names, store.BootstrapGeneration, cancellationToken) : BootstrapJobState.Absent;
        var urls = job.Status == BootstrapJobStatus.Succeeded ? await UrlsAsync(client, names, cancellationToken) : null;
        var (upgradeJob, restore) = store.IsUpgradeWithJob ? await UpgradeJobsAsync(client, names, store.Generation, cancellationToken) : (null, null);
        var restoreStep = store is { Phase: StorePhase.Restoring, Restore: { } run } ? await RestoreStepAsync(client, names, run, cancellationToken) : null;
        return new StoreObservation(state, credentials, release, workloads, job, urls, termination, HelmRunningHere: helm.Running, AbandonedHere: helm.Abandoned(release),
            UpgradeJob: upgradeJob, Restore: restore, RestoreStep: restoreStep);
    }

    /// <summary>The Job of a restore's current stage: its safety backup, or its restore Job (null while WordPress restarts).</summary>
    private static async Task<BootstrapJobState?> RestoreStepAsync(IKubernetes client, StoreClusterNames names, RestoreRun run, CancellationToken cancellationToken)
    {
        var name = run.Stage switch
        {
            RestoreStage.SafetyBackup => run.SafetyBackup,
            RestoreStage.Restore => names.RestoreJob(run.Id),
            _ => null,
        };
        if (name is null)
        {
            return null;
        }

        V1Job job;
        try
        {
            job = await client.BatchV1.ReadNamespacedJobAsync(name, names.Namespace, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return BootstrapJobState.Absent with { Name = name };
        }

        var state = await JobStateAsync(client, names, job, cancellationToken);
        if (state.Status != BootstrapJobStatus.Failed)
        {
            return state;
        }

        // The scripts say why in words (a wrong password, an unreachable repository, no space): better than the Job's condition.
        var result = await Backups.BackupPodResults.ReadAsync(client, names.Namespace, name, cancellationToken);
        return result is { Ok: false, Reason: { Length: > 0 } reason } ? state with { Reason = reason } : state;
    }

    /// <summary>The last lines of a pod's log (the bootstrap Job's, on failure).</summary>
    public static async Task<IReadOnlyList<string>> LogTailAsync(IKubernetes client, string ns, string pod, int lines, CancellationToken cancellationToken)
    {
        await using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod, ns, tailLines: lines, cancellationToken: cancellationToken);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync(cancellationToken);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines)];
    }

    /// <summary>
    /// Whose the namespace is: ours when it carries our labels for this store and this store's uid (a record
    /// from before uids existed is judged by the labels alone); a namespace labelled for this name with another
    /// uid belongs to an earlier store of the same name and is foreign — its uid is reported.
    /// </summary>
    private static async Task<(NamespaceState, NamespaceTermination?, string? ForeignUid)> NamespaceAsync(IKubernetes client, Store store, string ns, CancellationToken cancellationToken)
    {
        V1Namespace found;
        try
        {
            found = await client.CoreV1.ReadNamespaceAsync(ns, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return (NamespaceState.Absent, null, null);
        }

        var labels = found.Metadata.Labels ?? new Dictionary<string, string>();
        var labelled = labels.TryGetValue(StoreClusterNames.ManagedByLabel, out var managedBy) && managedBy == StoreClusterNames.ManagedByValue
            && labels.TryGetValue(StoreClusterNames.StoreLabel, out var owner) && owner == store.Name;
        var uid = labels.TryGetValue(StoreClusterNames.StoreUidLabel, out var value) ? value : null;
        var sameStore = store.Uid.Length == 0 ? uid is null : uid == store.Uid;
        var ours = labelled && sameStore;
        var foreignUid = labelled && !sameStore ? uid ?? "none recorded" : null;
        if (found.Metadata.DeletionTimestamp is not null || found.Status?.Phase == "Terminating")
        {
            var conditions = (found.Status?.Conditions ?? [])
                .Where(c => c.Status == "True" && TerminationConditions.Contains(c.Type))
                .Select(c => $"{c.Type}: {c.Message}")
                .ToList();
            var since = found.Metadata.DeletionTimestamp is { } deleted ? new DateTimeOffset(DateTime.SpecifyKind(deleted, DateTimeKind.Utc)) : (DateTimeOffset?)null;
            return (NamespaceState.Terminating, new NamespaceTermination(since, conditions), null);
        }

        return (ours ? NamespaceState.Ours : NamespaceState.Foreign, null, ours ? null : foreignUid);
    }

    /// <summary>
    /// The latest revision of the release from helm's own records, with its age by the API server's clock (the
    /// record's creation time against the response's Date header), so no replica's clock decides whether a
    /// pending helm may still be alive.
    /// </summary>
    public static async Task<ReleaseState> ReleaseAsync(IKubernetes client, StoreClusterNames names, CancellationToken cancellationToken)
    {
        using var response = await client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(names.Namespace, labelSelector: $"owner=helm,name={names.Release}", cancellationToken: cancellationToken);
        // Every API server sends Date; without it this machine's clock is the best there is.
        var serverNow = response.Response.Headers.Date ?? DateTimeOffset.UtcNow;
        var latest = response.Body.Items
            .Select(s => (Labels: s.Metadata.Labels ?? new Dictionary<string, string>(), Created: s.Metadata.CreationTimestamp, s.Metadata.Uid))
            .Select(r => (Version: Helm.ReleaseManifest.Revision(r.Labels), r.Labels, r.Created, r.Uid))
            .OrderByDescending(r => r.Version)
            .FirstOrDefault();
        if (latest.Labels is null)
        {
            return ReleaseState.Absent;
        }

        var age = latest.Created is { } created ? serverNow - new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) : (TimeSpan?)null;

        var status = (latest.Labels.TryGetValue("status", out var statusText) ? statusText : null) switch
        {
            "deployed" => ReleaseStatus.Deployed,
            "pending-install" => ReleaseStatus.PendingInstall,
            "pending-upgrade" => ReleaseStatus.PendingUpgrade,
            "pending-rollback" => ReleaseStatus.PendingRollback,
            "uninstalling" => ReleaseStatus.Uninstalling,
            _ => ReleaseStatus.Failed,
        };
        return new ReleaseState(status, latest.Version, latest.Labels.TryGetValue(StoreClusterNames.ValuesDigestLabel, out var digest) ? digest : null, age, latest.Uid);
    }

    private static async Task<WorkloadState> WorkloadsAsync(IKubernetes client, StoreClusterNames names, CancellationToken cancellationToken)
    {
        var selector = $"app.kubernetes.io/instance={names.Release}";
        var deployments = client.AppsV1.ListNamespacedDeploymentAsync(names.Namespace, labelSelector: selector, cancellationToken: cancellationToken);
        var statefulSets = client.AppsV1.ListNamespacedStatefulSetAsync(names.Namespace, labelSelector: selector, cancellationToken: cancellationToken);
        var pods = client.CoreV1.ListNamespacedPodAsync(names.Namespace, cancellationToken: cancellationToken);
        var claims = client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(names.Namespace, cancellationToken: cancellationToken);
        await Task.WhenAll(deployments, statefulSets, pods, claims);

        var problems = new List<WorkloadProblem>();
        foreach (var pod in (await pods).Items)
        {
            problems.AddRange(PodProblems(pod));
        }

        foreach (var deployment in (await deployments).Items)
        {
            foreach (var condition in deployment.Status?.Conditions ?? [])
            {
                if (condition.Type == "ReplicaFailure" && condition.Status == "True")
                {
                    problems.Add(new WorkloadProblem(condition.Reason ?? "FailedCreate", $"Deployment {deployment.Metadata.Name} cannot create pods: {condition.Message}"));
                }
            }
        }

        foreach (var claim in (await claims).Items.Where(c => c.Status?.Phase == "Pending"))
        {
            problems.Add(new WorkloadProblem("PersistentVolumeClaimPending", $"PersistentVolumeClaim {claim.Metadata.Name} is Pending (storage class {claim.Spec?.StorageClassName ?? "default"}): no volume is bound yet."));
        }

        var notReady = new List<string>();
        var deploymentItems = (await deployments).Items;
        var statefulSetItems = (await statefulSets).Items;
        foreach (var d in deploymentItems)
        {
            var wanted = d.Spec?.Replicas ?? 1;
            if ((d.Status?.ObservedGeneration ?? 0) < (d.Metadata.Generation ?? 0) || (d.Status?.ReadyReplicas ?? 0) < wanted || (d.Status?.UpdatedReplicas ?? 0) < wanted)
            {
                notReady.Add($"Deployment {d.Metadata.Name} {d.Status?.ReadyReplicas ?? 0}/{wanted} ready");
            }
        }

        foreach (var s in statefulSetItems)
        {
            var wanted = s.Spec?.Replicas ?? 1;
            if ((s.Status?.ObservedGeneration ?? 0) < (s.Metadata.Generation ?? 0) || (s.Status?.ReadyReplicas ?? 0) < wanted)
            {
                notReady.Add($"StatefulSet {s.Metadata.Name} {s.Status?.ReadyReplicas ?? 0}/{wanted} ready");
            }
        }

        if (deploymentItems.Count == 0 || statefulSetItems.Count == 0)
        {
            notReady.Add("workloads not created yet");
        }

        var ready = notReady.Count == 0;
        return new WorkloadState(ready, ready ? [] : problems, ready ? "all ready" : string.Join("; ", notReady));
    }

    /// <summary>What keeps one pod from running, naming the pod, the container and its image.</summary>
    public static IEnumerable<WorkloadProblem> PodProblems(V1Pod pod)
    {
        var name = pod.Metadata.Name;
        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled is { Status: "False" })
        {
            yield return new WorkloadProblem(scheduled.Reason ?? "Unschedulable", $"Pod {name} cannot be scheduled: {scheduled.Message}");
        }

        var images = (pod.Spec?.InitContainers ?? []).Concat(pod.Spec?.Containers ?? []).ToDictionary(c => c.Name, c => c.Image);
        foreach (var status in (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []))
        {
            if (status.State?.Waiting is { } waiting && waiting.Reason is { } reason && WaitingProblems.Contains(reason))
            {
                var image = images.GetValueOrDefault(status.Name) ?? status.Image;
                yield return new WorkloadProblem(reason, $"Pod {name} container {status.Name} (image {image}): {reason}{(string.IsNullOrEmpty(waiting.Message) ? "" : $" — {waiting.Message}")}.");
            }
        }
    }

    private static Task<BootstrapJobState> BootstrapAsync(IKubernetes client, StoreClusterNames names, long generation, CancellationToken cancellationToken) =>
        JobAsync(client, names, $"app.kubernetes.io/instance={names.Release},app.kubernetes.io/component=bootstrap,{StoreClusterNames.BootstrapGenerationLabel}={generation}", cancellationToken);

    /// <summary>The upgrade Job of <paramref name="generation"/>, and its restore Job when the upgrade snapshots (null: none).</summary>
    private static async Task<(BootstrapJobState Upgrade, RestoreJobState? Restore)> UpgradeJobsAsync(IKubernetes client, StoreClusterNames names, long generation, CancellationToken cancellationToken)
    {
        var upgrade = await JobAsync(client, names, $"app.kubernetes.io/instance={names.Release},app.kubernetes.io/component=upgrade,{StoreClusterNames.UpgradeGenerationLabel}={generation}", cancellationToken);
        var restores = await client.BatchV1.ListNamespacedJobAsync(names.Namespace,
            labelSelector: $"app.kubernetes.io/instance={names.Release},app.kubernetes.io/component=upgrade,{StoreClusterNames.RestoreGenerationLabel}={generation}", cancellationToken: cancellationToken);
        if (restores.Items.OrderByDescending(j => j.Metadata.CreationTimestamp).FirstOrDefault() is not { } restore)
        {
            return (upgrade, null);
        }

        var state = await JobStateAsync(client, names, restore, cancellationToken);
        return (upgrade, new RestoreJobState(restore.Metadata.Name, restore.Spec?.Suspend != true, state.Status, state.Reason, state.LastLogLines));
    }

    private static async Task<BootstrapJobState> JobAsync(IKubernetes client, StoreClusterNames names, string selector, CancellationToken cancellationToken)
    {
        var jobs = await client.BatchV1.ListNamespacedJobAsync(names.Namespace, labelSelector: selector, cancellationToken: cancellationToken);
        var job = jobs.Items.OrderByDescending(j => j.Metadata.CreationTimestamp).FirstOrDefault();
        return job is null ? BootstrapJobState.Absent : await JobStateAsync(client, names, job, cancellationToken);
    }

    /// <summary>How a Job stands; a failed one with the last lines of its last pod's log.</summary>
    private static async Task<BootstrapJobState> JobStateAsync(IKubernetes client, StoreClusterNames names, V1Job job, CancellationToken cancellationToken)
    {
        var conditions = job.Status?.Conditions ?? [];
        if (conditions.Any(c => c.Type == "Complete" && c.Status == "True"))
        {
            return new BootstrapJobState(BootstrapJobStatus.Succeeded, job.Metadata.Name);
        }

        var failed = conditions.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True");
        if (failed is null)
        {
            return new BootstrapJobState(BootstrapJobStatus.Running, job.Metadata.Name);
        }

        var pods = await client.CoreV1.ListNamespacedPodAsync(names.Namespace, labelSelector: $"job-name={job.Metadata.Name}", cancellationToken: cancellationToken);
        var lastPod = pods.Items.OrderByDescending(p => p.Metadata.CreationTimestamp).FirstOrDefault();
        var lines = lastPod is null ? [] : await FailedContainerLogAsync(client, names.Namespace, lastPod, cancellationToken);
        return new BootstrapJobState(BootstrapJobStatus.Failed, job.Metadata.Name, $"{failed.Reason}: {failed.Message}", lines);
    }

    /// <summary>
    /// The last log lines of the container that failed (an init container's when one did: the others never started), or
    /// none when the log cannot be read — the failure is decided by the Job's condition, never by its log.
    /// </summary>
    private static async Task<IReadOnlyList<string>> FailedContainerLogAsync(IKubernetes client, string ns, V1Pod pod, CancellationToken cancellationToken)
    {
        var statuses = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []).ToList();
        var container = statuses.FirstOrDefault(s => s.State?.Terminated is { ExitCode: not 0 })?.Name ?? (statuses.Count > 1 ? statuses[^1].Name : null);
        try
        {
            await using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, ns, container: container, tailLines: 15, cancellationToken: cancellationToken);
            using var reader = new StreamReader(stream);
            var text = await reader.ReadToEndAsync(cancellationToken);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15).ToList();
            return container is null || statuses.Count <= 1 ? lines : [$"(container {container})", .. lines];
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return [$"(its log could not be read: {e.Message})"];
        }
    }

    private static async Task<StoreUrls?> UrlsAsync(IKubernetes client, StoreClusterNames names, CancellationToken cancellationToken)
    {
        V1Ingress ingress;
        try
        {
            ingress = await client.NetworkingV1.ReadNamespacedIngressAsync(names.Release, names.Namespace, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return null;
        }

        var host = ingress.Spec?.Rules?.FirstOrDefault()?.Host;
        if (host is null)
        {
            return null;
        }

        var scheme = ingress.Spec!.Tls?.Any(t => t.Hosts?.Contains(host) == true) == true ? "https" : "http";
        return new StoreUrls($"{scheme}://{host}/", $"{scheme}://{host}/wp-admin/");
    }

    private static async Task<bool> ExistsAsync<T>(Func<Task<T>> read)
    {
        try
        {
            await read();
            return true;
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return false;
        }
    }
}

/// <summary>What this replica knows of its own helm runs on one release: one is running; records its ended runs left pending.</summary>
public sealed record ReleaseActivity(bool Running, IReadOnlyCollection<string> AbandonedRecords)
{
    public static ReleaseActivity None { get; } = new(false, []);

    /// <summary>The release's latest revision is a pending record one of our ended helm runs left behind.</summary>
    public bool Abandoned(ReleaseState release) => release.IsPending && release.RecordUid is { } uid && AbandonedRecords.Contains(uid);
}

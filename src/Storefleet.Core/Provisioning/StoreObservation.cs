using Storefleet.Core.Stores;

namespace Storefleet.Core.Provisioning;

/// <summary>What the cluster says about one store's namespace.</summary>
public enum NamespaceState
{
    Absent,

    /// <summary>Exists and carries our labels for this store.</summary>
    Ours,

    /// <summary>Exists without our labels, or with another store's uid (a lost or earlier store of the same name): never adopted, never deleted.</summary>
    Foreign,

    /// <summary>Being deleted (ours or a previous store's).</summary>
    Terminating,
}

/// <summary>The Helm release's status, read from helm's own release records (Flux helm-controller's model).</summary>
public enum ReleaseStatus
{
    Absent,
    Deployed,
    Failed,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
    Uninstalling,
}

/// <summary>
/// The latest release revision: its status and the values digest it was installed with. <paramref name="Age"/>:
/// how long ago that revision was written, by the API server's clock (its record's creation time against the
/// server's <c>Date</c>), so a pending revision's age never depends on this replica's clock.
/// </summary>
public sealed record ReleaseState(ReleaseStatus Status, int Revision = 0, string? Digest = null, TimeSpan? Age = null, string? RecordUid = null)
{
    public static ReleaseState Absent { get; } = new(ReleaseStatus.Absent);

    public bool IsPending => Status is ReleaseStatus.PendingInstall or ReleaseStatus.PendingUpgrade or ReleaseStatus.PendingRollback;
}

/// <summary>
/// A problem that keeps workloads from becoming ready, in words a person can act on:
/// <paramref name="Reason"/> as Kubernetes says it (ImagePullBackOff, CrashLoopBackOff, Unschedulable,
/// FailedCreate, PersistentVolumeClaimPending...), <paramref name="Message"/> naming pod, container and image.
/// </summary>
public sealed record WorkloadProblem(string Reason, string Message);

/// <summary>Readiness of the store's Deployments, StatefulSets, PVCs and Pods.</summary>
public sealed record WorkloadState(bool Ready, IReadOnlyList<WorkloadProblem> Problems, string Summary)
{
    public static WorkloadState NotObserved { get; } = new(false, [], "not observed");
}

public enum BootstrapJobStatus
{
    Absent,
    Running,
    Succeeded,
    Failed,
}

/// <summary>The bootstrap Job of the store's current bootstrap generation.</summary>
public sealed record BootstrapJobState(BootstrapJobStatus Status, string? Name = null, string? Reason = null, IReadOnlyList<string>? LastLogLines = null)
{
    public static BootstrapJobState Absent { get; } = new(BootstrapJobStatus.Absent);
}

/// <summary>Why a namespace has stayed Terminating: its NamespaceContentRemaining / finalizer conditions.</summary>
public sealed record NamespaceTermination(DateTimeOffset? Since, IReadOnlyList<string> Conditions);

/// <summary>
/// Everything the engine observed about one store before deciding what to do. <paramref name="ForeignUid"/>:
/// when the namespace carries our labels for this store name but another store's uid, that uid.
/// <paramref name="HelmRunningHere"/>: a helm process of this replica is acting on the release right now.
/// <paramref name="AbandonedHere"/>: the latest (pending) revision is the very record a helm of this replica left
/// behind when it ended without finishing (seen right after it exited, under the lease): its writer is dead.
/// </summary>
public sealed record StoreObservation(
    NamespaceState Namespace,
    bool CredentialsPresent,
    ReleaseState Release,
    WorkloadState Workloads,
    BootstrapJobState Bootstrap,
    StoreUrls? Urls,
    NamespaceTermination? Termination = null,
    string? ForeignUid = null,
    bool HelmRunningHere = false,
    bool AbandonedHere = false);

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

    /// <summary>
    /// A helm operation is (or was, if it died) under way: pending-install/upgrade/rollback, or uninstalling (an uninstall
    /// that failed part-way stays so, and blocks every upgrade: "has no deployed releases").
    /// </summary>
    public bool IsPending => Status is ReleaseStatus.PendingInstall or ReleaseStatus.PendingUpgrade or ReleaseStatus.PendingRollback or ReleaseStatus.Uninstalling;
}

/// <summary>
/// A problem that keeps workloads from becoming ready, in words a person can act on:
/// <paramref name="Reason"/> as Kubernetes says it (ImagePullBackOff, CrashLoopBackOff, Unschedulable,
/// FailedCreate, PersistentVolumeClaimPending...), <paramref name="Message"/> naming pod, container and image.
/// </summary>
/// <para><paramref name="Since"/>: when the problem began (by the cluster's clock), for problems that count only once
/// they last (workloads unavailable during a rollout are not yet a degradation); null: counts at once.</para>
public sealed record WorkloadProblem(string Reason, string Message, DateTimeOffset? Since = null);

/// <summary>
/// An object of the release that is not as Storefleet applied it: <paramref name="Change"/> says how
/// ("deleted", "changed by kubectl-edit", "scaled by kubectl").
/// </summary>
public sealed record DriftedObject(string Target, string Change)
{
    public override string ToString() => $"{Target} ({Change})";
}

/// <summary>
/// How a live store differs from what Storefleet applied: release objects deleted or written by another field
/// manager since the last apply, Pod Security labels missing from the namespace, or a release that is no longer
/// the deployed revision with our values (rolled back or failed by hand).
/// </summary>
public sealed record DriftReport(IReadOnlyList<DriftedObject> Objects, IReadOnlyList<string> NamespaceLabels, string? Release = null)
{
    public static DriftReport None { get; } = new([], []);

    public bool IsEmpty => Objects.Count == 0 && NamespaceLabels.Count == 0 && Release is null;

    /// <summary>The drift in one line for events: what, and how.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Objects.Count > 0)
        {
            parts.Add(string.Join(", ", Objects));
        }

        if (NamespaceLabels.Count > 0)
        {
            parts.Add($"namespace labels {string.Join(", ", NamespaceLabels)} (removed or changed)");
        }

        if (Release is not null)
        {
            parts.Add(Release);
        }

        return string.Join("; ", parts);
    }
}

/// <summary>One of the store's volumes: its claim, which plan volume it is (database or files), its requested size and storage class.</summary>
public sealed record VolumeState(string Claim, string Volume, string Requested, string? StorageClass);

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
/// <para><paramref name="RestoreStep"/>: while Restoring, the Job of the restore's current stage (its safety backup, or
/// the restore Job); null in other phases.</para>
/// <para>For live stores (from the engine's watch caches): <paramref name="Health"/>, what keeps it from being healthy;
/// <paramref name="Drift"/>, how it differs from what was applied; <paramref name="Volumes"/>, its claims (also read while updating).</para>
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
    bool AbandonedHere = false,
    IReadOnlyList<WorkloadProblem>? Health = null,
    DriftReport? Drift = null,
    IReadOnlyList<VolumeState>? Volumes = null,
    BootstrapJobState? UpgradeJob = null,
    RestoreJobState? Restore = null,
    BootstrapJobState? RestoreStep = null);

/// <summary>
/// The restore Job of an upgrade with a snapshot (rendered suspended; started by the engine when the upgrade fails).
/// <paramref name="Started"/>: it is no longer suspended — a rollback is under way and must be finished.
/// </summary>
public sealed record RestoreJobState(string Name, bool Started, BootstrapJobStatus Status, string? Reason = null, IReadOnlyList<string>? LastLogLines = null);

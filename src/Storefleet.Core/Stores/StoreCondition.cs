namespace Storefleet.Core.Stores;

/// <summary>
/// One observed fact about a store, Kubernetes-style: a type, whether it holds, a machine-readable
/// reason and a message a person can act on (e.g. Type=WorkloadsReady, Status=false,
/// Reason=ImagePullBackOff, Message="pod wordpress-7d… cannot pull image wordpress:6.8…").
/// </summary>
public sealed record StoreCondition(
    string Type,
    bool Status,
    string Reason,
    string Message,
    DateTimeOffset LastTransitionTime);

/// <summary>Condition types and reasons used across the product, as constants.</summary>
public static class ConditionTypes
{
    /// <summary>Why a store is in phase Failed.</summary>
    public const string Failed = "Failed";

    public const string Ready = "Ready";

    /// <summary>Deployments, StatefulSets, PVCs and Pods of the store are ready (false: why not).</summary>
    public const string WorkloadsReady = "WorkloadsReady";

    /// <summary>The bootstrap Job of the current generation finished (false: still running or why it failed).</summary>
    public const string BootstrapComplete = "BootstrapComplete";

    /// <summary>The cluster is reachable (false: the store waits; nothing is lost).</summary>
    public const string ClusterReachable = "ClusterReachable";

    /// <summary>The last attempt of a step failed and will be retried after a backoff.</summary>
    public const string Retrying = "Retrying";

    /// <summary>The store's namespace cannot be used yet or at all (terminating, foreign, stuck).</summary>
    public const string Namespace = "Namespace";

    /// <summary>Why a live store is Degraded (reason: CrashLoopBackOff, OOMKilled, ImagePullBackOff, VolumeLost, Unavailable, UpdateFailed...).</summary>
    public const string Degraded = "Degraded";

    /// <summary>The store kept drifting: automatic repair is paused until a person retries.</summary>
    public const string DriftPersistent = "DriftPersistent";

    /// <summary>The last plan change failed and was rolled back (the message says why and what serves).</summary>
    public const string UpdateFailed = "UpdateFailed";

    /// <summary>A failed upgrade is being undone: its snapshot is restored, then the release rolled back (reason and message: why it failed).</summary>
    public const string RollingBack = "RollingBack";

    /// <summary>The upgrade Job (pre-upgrade snapshot and migrations) has not finished yet.</summary>
    public const string Migrated = "Migrated";

    /// <summary>Drift was seen but cannot be repaired by this control plane (e.g. the release is pinned to another chart version).</summary>
    public const string DriftNotRepaired = "DriftNotRepaired";

    /// <summary>A restore in place is under way: which of its steps waits, and on what.</summary>
    public const string Restore = "Restore";
}

/// <summary>URLs of a live store.</summary>
public sealed record StoreUrls(string Storefront, string Admin);

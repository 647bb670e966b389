namespace Storefleet.Core.Stores;

/// <summary>Where a store is in its lifecycle. See <see cref="StoreLifecycle"/> for the allowed moves.</summary>
public enum StorePhase
{
    /// <summary>Recorded; no cluster work has started.</summary>
    Requested,

    /// <summary>Namespace, credentials and Helm release are being created; workloads are starting.</summary>
    Provisioning,

    /// <summary>Infrastructure is ready; the bootstrap Job installs WordPress and WooCommerce.</summary>
    Bootstrapping,

    /// <summary>The storefront is live and healthy; the engine keeps watching it (health, drift, spec changes).</summary>
    Ready,

    /// <summary>
    /// Live but unhealthy (a pod crash-looping or OOM-killed, an image that cannot be pulled, a volume lost, workloads
    /// unavailable) or a plan change that failed and was rolled back: condition Degraded names the cause. Still served,
    /// still deletable; back to Ready by itself when the cause clears.
    /// </summary>
    Degraded,

    /// <summary>The spec changed (a new plan): the release is being upgraded in place; the old plan serves meanwhile.</summary>
    Updating,

    /// <summary>A step failed; <see cref="Store.FailedPhase"/> says which, and a retry resumes there.</summary>
    Failed,

    /// <summary>
    /// A backup is being restored into the store (see <see cref="Store.Restore"/>): a safety backup first, then WordPress
    /// stopped while the restore Job replaces the database and files, WordPress back and the smoke test; Ready after.
    /// </summary>
    Restoring,

    /// <summary>Deletion was requested; release and namespace are being removed.</summary>
    Deleting,
}

public static class StorePhaseExtensions
{
    /// <summary>Phases in which work is under way (the dashboard animates them).</summary>
    public static bool IsInProgress(this StorePhase phase) =>
        phase is StorePhase.Requested or StorePhase.Provisioning or StorePhase.Bootstrapping or StorePhase.Updating or StorePhase.Restoring or StorePhase.Deleting;

    /// <summary>Phases of a live store the engine watches in steady state (health, drift, spec changes).</summary>
    public static bool IsLive(this StorePhase phase) => phase is StorePhase.Ready or StorePhase.Degraded;

    public static string ToWire(this StorePhase phase) => phase switch
    {
        StorePhase.Requested => "requested",
        StorePhase.Provisioning => "provisioning",
        StorePhase.Bootstrapping => "bootstrapping",
        StorePhase.Ready => "ready",
        StorePhase.Degraded => "degraded",
        StorePhase.Updating => "updating",
        StorePhase.Failed => "failed",
        StorePhase.Deleting => "deleting",
        StorePhase.Restoring => "restoring",
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, null),
    };

    public static bool TryParseWire(string? value, out StorePhase phase)
    {
        foreach (var candidate in Enum.GetValues<StorePhase>())
        {
            if (string.Equals(candidate.ToWire(), value, StringComparison.Ordinal))
            {
                phase = candidate;
                return true;
            }
        }

        phase = default;
        return false;
    }

    public static string AcceptedWireValues => string.Join(", ", Enum.GetValues<StorePhase>().Select(p => p.ToWire()));
}

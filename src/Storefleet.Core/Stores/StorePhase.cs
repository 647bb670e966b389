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

    /// <summary>The storefront is live.</summary>
    Ready,

    /// <summary>A step failed; <see cref="Store.FailedPhase"/> says which, and a retry resumes there.</summary>
    Failed,

    /// <summary>Deletion was requested; release and namespace are being removed.</summary>
    Deleting,
}

public static class StorePhaseExtensions
{
    /// <summary>Phases in which work is under way (the dashboard animates them).</summary>
    public static bool IsInProgress(this StorePhase phase) =>
        phase is StorePhase.Requested or StorePhase.Provisioning or StorePhase.Bootstrapping or StorePhase.Deleting;

    public static string ToWire(this StorePhase phase) => phase switch
    {
        StorePhase.Requested => "requested",
        StorePhase.Provisioning => "provisioning",
        StorePhase.Bootstrapping => "bootstrapping",
        StorePhase.Ready => "ready",
        StorePhase.Failed => "failed",
        StorePhase.Deleting => "deleting",
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

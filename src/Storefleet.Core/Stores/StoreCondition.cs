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
}

/// <summary>URLs of a live store.</summary>
public sealed record StoreUrls(string Storefront, string Admin);

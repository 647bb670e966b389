using System.Security.Cryptography;
using Storefleet.Core.Stores;

namespace Storefleet.Core.Pool;

/// <summary>
/// The warm pool: per plan, a few fully provisioned, unclaimed stores (members) that a create takes over and personalises
/// instead of building a store from nothing. Members are store records of their own (provisioned, watched and deleted by
/// the same engine, counted against the platform's store limit) owned by <see cref="Owner"/>, named
/// <see cref="MemberPrefix"/> plus random hex: that name is their release's and namespace's for life, also once claimed.
/// </summary>
public static class WarmPool
{
    /// <summary>The owner of every pool member (a subject no identity provider issues: it contains a colon).</summary>
    public const string Owner = "storefleet:warm-pool";

    /// <summary>Member names start with this; people's store names may not (see <see cref="StoreName"/>).</summary>
    public const string MemberPrefix = "pool-";

    /// <summary>A fresh member name: opaque, so nothing about the store that will claim it is in its namespace's name.</summary>
    public static string NewMemberName() => MemberPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    public static bool IsMember(Store store) => store.Owner == Owner;

    /// <summary>The key a member is filed under for claims: engine and plan, as a create asks for them.</summary>
    public static string Kind(StoreSpec spec) => $"{spec.Engine.Id}/{spec.Plan.Id}";
}

/// <summary>How far taking over a claimed member has come (see <see cref="PoolClaim"/>).</summary>
public enum PoolClaimStage
{
    /// <summary>Claimed: the member's record goes, its namespace is relabelled for the store and its credentials replaced.</summary>
    Adopt,

    /// <summary>The release is upgraded with the store's values and the bootstrap Job personalises WordPress.</summary>
    Personalise,

    /// <summary>Personalised: the store is live on what was the member.</summary>
    Done,

    /// <summary>Personalising failed: the member is uninstalled and deleted, then the store is provisioned from scratch.</summary>
    Discard,
}

/// <summary>
/// A store that took over a warm-pool member: which (<paramref name="Member"/>, whose name its namespace and release keep),
/// when it was claimed, how far it is, and why it was given up (<paramref name="Reason"/>, only when discarded).
/// </summary>
public sealed record PoolClaim(string Member, DateTimeOffset ClaimedAt, PoolClaimStage Stage, string? Reason = null)
{
    /// <summary>The claim still decides the store's steps (adopting, personalising or discarding the member).</summary>
    public bool InProgress => Stage is not PoolClaimStage.Done;
}

namespace Storefleet.Server.Access;

/// <summary>
/// The three roles. <c>admin</c>: everything, tokens, orphans, audit. <c>member</c>: create, list, read,
/// retry, delete and read credentials of their own stores. <c>viewer</c>: read their own stores.
/// </summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Member = "member";
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [Admin, Member, Viewer];

    public static bool IsKnown(string? role) => role is Admin or Member or Viewer;
}

/// <summary>Authorization policies, one per minimum role.</summary>
public static class AccessPolicies
{
    public const string Read = "read";
    public const string Write = "write";
    public const string Administer = "administer";
}

/// <summary>Claim types the control plane puts on its principals.</summary>
public static class AccessClaims
{
    public const string Subject = "sub";
    public const string Role = "role";
    public const string MaxStores = "storefleet:max_stores";
    public const string TokenId = "storefleet:token_id";
}

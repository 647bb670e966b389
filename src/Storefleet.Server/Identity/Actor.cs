namespace Storefleet.Server.Identity;

/// <summary>Who is making a request: the subject that owns what they create, and their role.</summary>
public sealed record Actor(string Subject, string Role)
{
    public const string AdminRole = "admin";

    /// <summary>The identity every request has while the server runs without authentication on loopback.</summary>
    public static readonly Actor LocalAdmin = new("local", AdminRole);
}

/// <summary>Resolves the <see cref="Actor"/> of the current request.</summary>
public interface IActorAccessor
{
    Actor Current(HttpContext context);
}

/// <summary>
/// Authentication mode <c>none</c>: every request acts as the local admin. Access control (tokens,
/// roles, OIDC) replaces this accessor; nothing else in the API assumes everyone is an admin.
/// </summary>
internal sealed class LocalAdminActorAccessor : IActorAccessor
{
    public Actor Current(HttpContext context) => Actor.LocalAdmin;
}

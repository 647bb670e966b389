namespace Storefleet.Server.Identity;

/// <summary>Who is making a request: the subject that owns what they create, their role, and their store limit override.</summary>
public sealed record Actor(string Subject, string Role, int? MaxStores = null)
{
    public const string AdminRole = "admin";

    /// <summary>The identity every request has while the server runs without authentication on loopback.</summary>
    public static readonly Actor LocalAdmin = new("local", AdminRole);

    /// <summary>A request that carries no (valid) credentials.</summary>
    public static readonly Actor Anonymous = new("anonymous", "none");

    public bool IsAdmin => Role == AdminRole;

    /// <summary>Admins see every store; everyone else only their own (others' are 404, so names do not leak).</summary>
    public bool CanSee(string owner) => IsAdmin || owner == Subject;
}

/// <summary>Resolves the <see cref="Actor"/> of the current request.</summary>
public interface IActorAccessor
{
    Actor Current(HttpContext context);
}

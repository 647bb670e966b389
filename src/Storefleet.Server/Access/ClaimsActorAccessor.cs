using System.Globalization;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Access;

/// <summary>The <see cref="Actor"/> of a request, from its authenticated principal (the local admin in mode none).</summary>
internal sealed class ClaimsActorAccessor : IActorAccessor
{
    public Actor Current(HttpContext context) => From(context.User);

    /// <summary>The actor a principal stands for (the API and the dashboard use the same rules).</summary>
    public static Actor From(System.Security.Claims.ClaimsPrincipal user)
    {
        var subject = user.FindFirst(AccessClaims.Subject)?.Value;
        if (subject is null)
        {
            return Actor.Anonymous;
        }

        var role = user.FindFirst(AccessClaims.Role)?.Value ?? Roles.Viewer;
        var maxStores = user.FindFirst(AccessClaims.MaxStores)?.Value is { } max ? int.Parse(max, CultureInfo.InvariantCulture) : (int?)null;
        return new Actor(subject, Roles.IsKnown(role) ? role : Roles.Viewer, maxStores);
    }
}

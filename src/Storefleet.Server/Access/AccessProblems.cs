using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Storefleet.Server.Api;

namespace Storefleet.Server.Access;

/// <summary>401 and 403 as problem+json saying what to do, each recorded in the audit trail.</summary>
internal sealed class AccessProblems(AuditTrail audit) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            if (IsMachineFacing(context.Request.Path))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"storefleet\"";
                await audit.RecordAsync(context, AuditActions.Authorize, context.Request.Path, "refused", "no credentials");
                await Problems.Unauthenticated().ExecuteAsync(context);
                return;
            }
        }
        else if (authorizeResult.Forbidden)
        {
            await audit.RecordAsync(context, AuditActions.Authorize, $"{context.Request.Method} {context.Request.Path}", "refused", "role not allowed");
            if (IsMachineFacing(context.Request.Path))
            {
                await Problems.Forbidden(context.User.FindFirst(AccessClaims.Role)?.Value ?? "none").ExecuteAsync(context);
                return;
            }
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }

    /// <summary>The API and the metrics endpoint answer 401/403 problems; pages send a person to sign in.</summary>
    internal static bool IsMachineFacing(PathString path) => path.StartsWithSegments("/api") || path.StartsWithSegments("/metrics");
}

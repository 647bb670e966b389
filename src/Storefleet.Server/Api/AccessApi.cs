using Storefleet.Server.Access;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>Token management and the audit trail (admin only).</summary>
public static class AccessApi
{
    public static IEndpointRouteBuilder MapAccessApi(this IEndpointRouteBuilder app)
    {
        var tokens = app.MapGroup("/api/v1/tokens").WithTags("Access").RequireAuthorization(AccessPolicies.Administer);
        tokens.MapPost("/", CreateToken).WithName("CreateToken").WithSummary("Create an API token; the token is shown once, in this answer only");
        tokens.MapGet("/", ListTokens).WithName("ListTokens").WithSummary("List tokens (never their secrets)");
        tokens.MapDelete("/{id}", RevokeToken).WithName("RevokeToken").WithSummary("Revoke a token; it stops working on the next request");

        app.MapGet("/api/v1/auth", SignInMethods).WithTags("Access").WithName("SignInMethods")
            .WithSummary("How to sign in here: API tokens, and the identity provider's device flow for the command line when configured")
            .AllowAnonymous();

        app.MapGet("/api/v1/audit", QueryAudit).WithTags("Access").WithName("QueryAudit")
            .WithSummary("The audit trail, newest first; filter by ?actor= and ?store=")
            .RequireAuthorization(AccessPolicies.Administer);
        return app;
    }

    internal static async Task<IResult> CreateToken(HttpContext http, ApiTokenStore store, AuditTrail audit, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var (request, problem) = await JsonRequestBody.ReadAsync<CreateTokenRequest>(http.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>();
        if (request!.Subject is not { Length: >= 1 and <= 64 } subject || !subject.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@'))
        {
            errors["subject"] = ["subject must be 1–64 characters: letters, digits, '-', '_', '.', '@'."];
        }

        if (!Roles.IsKnown(request.Role))
        {
            errors["role"] = [$"role must be one of: {string.Join(", ", Roles.All)}."];
        }

        if (request.MaxStores is < 0 or > 10_000)
        {
            errors["maxStores"] = ["maxStores must be between 0 and 10000."];
        }

        if (request.Name is { Length: > 100 })
        {
            errors["name"] = ["name must be at most 100 characters."];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var (record, token) = await store.CreateAsync(request.Name ?? request.Subject!, request.Subject!, request.Role!, request.MaxStores, actors.Current(http).Subject);
        await audit.RecordAsync(http, AuditActions.TokenCreate, $"token/{record.Id}", "ok", $"subject {record.Subject}, role {record.Role}");
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created($"/api/v1/tokens/{record.Id}", new CreatedTokenResource(TokenResource.From(record), token));
    }

    internal static async Task<IResult> ListTokens(ApiTokenStore store) =>
        TypedResults.Ok(new TokenListResource([.. (await store.ListAsync()).Select(TokenResource.From)]));

    internal static async Task<IResult> RevokeToken(string id, HttpContext http, ApiTokenStore store, AuditTrail audit)
    {
        var revoked = await store.RevokeAsync(id);
        await audit.RecordAsync(http, AuditActions.TokenRevoke, $"token/{id}", revoked is null ? "refused" : "ok", revoked is null ? "unknown or already revoked" : null);
        return revoked is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Token not found.", detail: $"There is no live token '{id}'. List tokens with GET /api/v1/tokens.", type: Problems.TypeBase + "token-not-found")
            : TypedResults.Ok(TokenResource.From(revoked));
    }

    internal static IResult SignInMethods(AccessMode mode, Microsoft.Extensions.Options.IOptions<AccessOptions> options)
    {
        var oidc = options.Value.Oidc;
        var deviceFlow = mode.OidcEnabled && !string.IsNullOrWhiteSpace(oidc.CliClientId)
            ? new DeviceFlowResource(oidc.Authority!.TrimEnd('/'), oidc.CliClientId!, oidc.Audience, [.. DeviceFlowScopes.Concat(oidc.Scopes).Distinct(StringComparer.Ordinal)])
            : null;
        return TypedResults.Ok(new SignInMethodsResource(mode.Name, mode.RequiresCredentials, deviceFlow));
    }

    private static readonly string[] DeviceFlowScopes = ["openid", "profile", "offline_access"];

    internal static async Task<IResult> QueryAudit(AuditTrail audit, string? actor, string? store, int? limit)
    {
        if (limit is < 1 or > 1000)
        {
            return Problems.Validation("limit", "limit must be between 1 and 1000.");
        }

        return TypedResults.Ok(new AuditListResource(await audit.QueryAsync(actor, store, limit ?? 100)));
    }
}

public sealed record CreateTokenRequest(string? Subject, string? Role, int? MaxStores, string? Name);

public sealed record TokenResource(string Id, string Name, string Subject, string Role, int? MaxStores, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? RevokedAt)
{
    public static TokenResource From(ApiTokenRecord r) => new(r.Id, r.Name, r.Subject, r.Role, r.MaxStores, r.CreatedAt, r.CreatedBy, r.RevokedAt);
}

/// <summary>The only answer that ever contains a token.</summary>
public sealed record CreatedTokenResource(TokenResource Token, string Secret);

/// <summary>How a client signs in: <c>mode</c> none (no credentials needed) or tokens; the device flow when offered.</summary>
public sealed record SignInMethodsResource(string Mode, bool ApiTokens, DeviceFlowResource? DeviceFlow);

/// <summary>
/// The OAuth 2.0 device authorization grant (RFC 8628) at the identity provider: the issuer's discovery document
/// names the endpoints; the access token it issues for <see cref="Audience"/> is accepted as a bearer token here.
/// </summary>
public sealed record DeviceFlowResource(string Issuer, string ClientId, string? Audience, IReadOnlyList<string> Scopes);

public sealed record TokenListResource(IReadOnlyList<TokenResource> Items);

public sealed record AuditListResource(IReadOnlyList<AuditEntry> Items);

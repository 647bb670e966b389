using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Storefleet.Server.Api;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Access;

public static class AccessServiceCollectionExtensions
{
    public const string CreatePolicy = "create";
    public const string SignInPolicy = "sign-in";
    public const string OidcScheme = "oidc";
    private static readonly string[] BaseScopes = ["openid", "profile"];
    private const string Selector = "Storefleet";

    /// <summary>Authentication (mode none, API tokens, cookie sessions, optional JWT), roles, rate limits, audit.</summary>
    public static WebApplicationBuilder AddStorefleetAccess(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AccessOptions>().Bind(builder.Configuration.GetSection(AccessOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AccessMode>();
        services.AddSingleton<ApiTokenStore>();
        services.AddSingleton<TokenVerifier>();
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<SharedLimits>();
        services.AddSingleton<IActorAccessor, ClaimsActorAccessor>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AccessProblems>();
        services.AddHostedService<AccessStartupCheck>();
        services.AddAntiforgery(options => options.Cookie.Name = "storefleet.antiforgery");

        var access = builder.Configuration.GetSection(AccessOptions.SectionName).Get<AccessOptions>() ?? new AccessOptions();
        var secured = AccessMode.CredentialsConfigured(access);
        var authentication = services.AddAuthentication(options =>
        {
            options.DefaultScheme = secured ? Selector : LocalAdminAuthenticationHandler.SchemeName;
            options.DefaultChallengeScheme = secured ? Selector : LocalAdminAuthenticationHandler.SchemeName;
        });
        authentication.AddScheme<AuthenticationSchemeOptions, LocalAdminAuthenticationHandler>(LocalAdminAuthenticationHandler.SchemeName, null);
        authentication.AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
        authentication.AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, options =>
        {
            options.Cookie.Name = "storefleet.session";
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.LoginPath = "/sign-in";
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
            options.SlidingExpiration = true;
            options.Events.OnValidatePrincipal = ValidateSessionAsync;
            options.Events.OnRedirectToLogin = context =>
            {
                if (AccessProblems.IsMachineFacing(context.Request.Path))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return Task.CompletedTask;
                }

                context.Response.Redirect(context.RedirectUri);
                return Task.CompletedTask;
            };
        });
        if (!string.IsNullOrWhiteSpace(access.Oidc.Authority))
        {
            authentication.AddJwtBearer(JwtBearerDefaults.AuthenticationScheme, options =>
            {
                options.Authority = access.Oidc.Authority;
                options.Audience = access.Oidc.Audience;
                options.RequireHttpsMetadata = access.Oidc.Authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
                options.MapInboundClaims = false;
                options.TokenValidationParameters.NameClaimType = access.Oidc.SubjectClaim;
                options.TokenValidationParameters.RoleClaimType = access.Oidc.RoleClaim;
                options.Events = new JwtBearerEvents { OnTokenValidated = context => MapOidcClaims(context, access.Oidc) };
            });
        }

        if (!string.IsNullOrWhiteSpace(access.Oidc.Authority) && !string.IsNullOrWhiteSpace(access.Oidc.ClientId))
        {
            // Dashboard sign-in with the identity provider: authorization code + PKCE, into the same cookie session.
            authentication.AddOpenIdConnect(OidcScheme, options =>
            {
                options.Authority = access.Oidc.Authority;
                options.ClientId = access.Oidc.ClientId;
                options.ClientSecret = access.Oidc.ClientSecret;
                options.ResponseType = "code";
                options.UsePkce = true;
                options.SaveTokens = false;
                options.MapInboundClaims = false;
                options.CallbackPath = "/auth/oidc/callback";
                options.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                options.RequireHttpsMetadata = access.Oidc.Authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
                options.Scope.Clear();
                foreach (var scope in BaseScopes.Concat(access.Oidc.Scopes))
                {
                    options.Scope.Add(scope);
                }

                options.Events = new Microsoft.AspNetCore.Authentication.OpenIdConnect.OpenIdConnectEvents
                {
                    OnTokenValidated = async context =>
                    {
                        var mapped = OidcPrincipal(context.Principal!, access.Oidc);
                        var audit = context.HttpContext.RequestServices.GetRequiredService<AuditTrail>();
                        if (mapped is null)
                        {
                            await audit.RecordAsync(new AuditEntry(DateTimeOffset.UtcNow, "anonymous", "none", AuditTrail.ClientAddress(context.HttpContext), AuditActions.SignIn, "dashboard (oidc)", "refused", "missing subject or role claim"));
                            context.Fail($"The identity provider's token needs a '{access.Oidc.SubjectClaim}' claim and a '{access.Oidc.RoleClaim}' claim of admin, member or viewer.");
                            return;
                        }

                        context.Principal = mapped;
                        await audit.RecordAsync(new AuditEntry(DateTimeOffset.UtcNow, mapped.FindFirst(AccessClaims.Subject)!.Value, mapped.FindFirst(AccessClaims.Role)!.Value,
                            AuditTrail.ClientAddress(context.HttpContext), AuditActions.SignIn, "dashboard (oidc)", "ok"));
                    },
                };
            });
        }

        // One selector: sfat_/bootstrap bearer tokens, other bearer tokens (JWT, when configured), else the dashboard cookie.
        authentication.AddPolicyScheme(Selector, "Storefleet", options => options.ForwardDefaultSelector = context =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                var token = header["Bearer ".Length..].Trim();
                return token.Count(c => c == '.') == 2 && !string.IsNullOrWhiteSpace(access.Oidc.Authority) && !ApiTokenStore.LooksLikeToken(token)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : TokenAuthenticationHandler.SchemeName;
            }

            return CookieAuthenticationDefaults.AuthenticationScheme;
        });

        services.AddAuthorizationBuilder()
            .AddPolicy(AccessPolicies.Read, p => p.RequireClaim(AccessClaims.Role, Roles.Viewer, Roles.Member, Roles.Admin))
            .AddPolicy(AccessPolicies.Write, p => p.RequireClaim(AccessClaims.Role, Roles.Member, Roles.Admin))
            .AddPolicy(AccessPolicies.Administer, p => p.RequireClaim(AccessClaims.Role, Roles.Admin));

        // Only the configured proxies are believed. (With both lists empty ASP.NET Core would believe anyone,
        // so the middleware is not used at all unless proxies are configured: see UseStorefleetAccess.)
        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.KnownIPNetworks.Clear();
            options.KnownProxies.Clear();
            foreach (var proxy in access.TrustedProxies)
            {
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });

        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<AccessOptions>>().Value.RateLimits;
                var buckets = context.RequestServices.GetRequiredService<SharedLimits>();
                var (key, authenticated) = Partition(context);
                if (IsLocalAdmin(context))
                {
                    return RateLimitPartition.GetNoLimiter("local-admin");
                }

                if (!authenticated)
                {
                    return buckets.Bucket(key, limits.AnonymousRequestsPerMinute);
                }

                var read = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
                return read ? buckets.Bucket(key + ":read", limits.ReadsPerMinute) : buckets.Bucket(key + ":write", limits.RequestsPerMinute);
            });
            options.AddPolicy(CreatePolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<AccessOptions>>().Value.RateLimits;
                return context.RequestServices.GetRequiredService<SharedLimits>().Bucket("create:" + Partition(context).Key, limits.CreatesPerMinute);
            });
            options.AddPolicy(SignInPolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<AccessOptions>>().Value.RateLimits;
                return context.RequestServices.GetRequiredService<SharedLimits>().Bucket("sign-in:" + AuditTrail.ClientAddress(context), limits.FailedSignInsPerMinute);
            });
            options.OnRejected = async (rejected, cancellationToken) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                rejected.HttpContext.RequestServices.GetRequiredService<Storefleet.Engine.Telemetry.StorefleetMetrics>().RateLimitRefused();
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await rejected.HttpContext.RequestServices.GetRequiredService<AuditTrail>()
                    .RecordAsync(rejected.HttpContext, AuditActions.RateLimit, $"{rejected.HttpContext.Request.Method} {rejected.HttpContext.Request.Path}", "refused", "rate limit");
                await Problems.RateLimited(retryAfter).ExecuteAsync(rejected.HttpContext);
            };
        });

        return builder;
    }

    /// <summary>Forwarded headers (trusted proxies only), failed sign-in throttle, authentication, authorization, rate limits.</summary>
    public static WebApplication UseStorefleetAccess(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<AccessOptions>>().Value.TrustedProxies.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        app.Use(async (context, next) =>
        {
            // A client that kept presenting bad tokens is turned away before its next guess is even checked.
            var throttle = context.RequestServices.GetRequiredService<SharedLimits>();
            var presentsCredentials = context.Request.Headers.Authorization.Count > 0 || context.Request.Path.StartsWithSegments("/auth/sign-in");
            if (presentsCredentials && await throttle.RetryAfterAsync(AuditTrail.ClientAddress(context)) is { } wait)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Problems.RateLimited(wait).ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        app.UseAuthentication();
        app.UseRateLimiter(); // after authentication (partitions by token), before authorization (refusals count too)
        app.UseAuthorization();
        return app;
    }

    /// <summary>Auth mode none, from this machine: the person running the control plane locally; not rate limited.</summary>
    private static bool IsLocalAdmin(HttpContext context) =>
        context.User.FindFirst(AccessClaims.TokenId)?.Value == "none"
        && context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address);

    /// <summary>The rate-limit partition: the token's subject when authenticated, else the client address.</summary>
    internal static (string Key, bool Authenticated) Partition(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true && context.User.FindFirst(AccessClaims.TokenId)?.Value is { } token and not "none"
            ? ("sub:" + context.User.FindFirst(AccessClaims.Subject)!.Value, true)
            : ("ip:" + AuditTrail.ClientAddress(context), false);

    /// <summary>Cookie sessions carry the token id they were opened with: a revoked token ends its sessions on the next request.</summary>
    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var tokenId = context.Principal?.FindFirst(AccessClaims.TokenId)?.Value;
        if (tokenId is null or "bootstrap" or "none")
        {
            return;
        }

        var tokens = context.HttpContext.RequestServices.GetRequiredService<ApiTokenStore>();
        if (await tokens.FindByIdAsync(tokenId) is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }

    private static Task MapOidcClaims(TokenValidatedContext context, OidcOptions oidc)
    {
        if (OidcPrincipal(context.Principal!, oidc, JwtBearerDefaults.AuthenticationScheme) is { } mapped)
        {
            context.Principal = mapped;
        }
        else
        {
            context.Fail($"The token needs a '{oidc.SubjectClaim}' claim and a '{oidc.RoleClaim}' claim of admin, member or viewer.");
        }

        return Task.CompletedTask;
    }

    /// <summary>An identity provider's principal as Storefleet's (subject and role from the configured claims), or null when it lacks them.</summary>
    public static System.Security.Claims.ClaimsPrincipal? OidcPrincipal(System.Security.Claims.ClaimsPrincipal principal, OidcOptions oidc, string scheme = CookieAuthenticationDefaults.AuthenticationScheme)
    {
        var subject = principal.FindFirst(oidc.SubjectClaim)?.Value;
        var role = principal.FindFirst(oidc.RoleClaim)?.Value;
        return subject is null || !Roles.IsKnown(role) ? null : TokenAuthenticationHandler.Principal(subject, role!, null, "oidc", scheme);
    }
}

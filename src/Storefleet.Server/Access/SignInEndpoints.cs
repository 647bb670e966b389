using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;

namespace Storefleet.Server.Access;

/// <summary>
/// Dashboard sign-in: a token (or, with OIDC, the identity provider) opens a cookie session; every form
/// is protected by antiforgery; sign-out ends the session. In auth mode none there is nothing to sign in to.
/// </summary>
public static class SignInEndpoints
{
    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder app)
    {
        app.MapGet("/sign-in", SignInPage).ExcludeFromDescription().AllowAnonymous();
        app.MapPost("/auth/sign-in", SignInAsync).ExcludeFromDescription().AllowAnonymous().RequireRateLimiting(AccessServiceCollectionExtensions.SignInPolicy);
        app.MapPost("/auth/sign-out", SignOutAsync).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/auth/sign-in/oidc", SignInWithProvider).ExcludeFromDescription().AllowAnonymous().RequireRateLimiting(AccessServiceCollectionExtensions.SignInPolicy);
        return app;
    }

    /// <summary>Starts the identity provider's sign-in (404 when OIDC sign-in is not configured).</summary>
    private static async Task<IResult> SignInWithProvider(HttpContext http, IAuthenticationSchemeProvider schemes, string? returnUrl) =>
        await schemes.GetSchemeAsync(AccessServiceCollectionExtensions.OidcScheme) is null
            ? Results.NotFound()
            : Results.Challenge(new AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) }, [AccessServiceCollectionExtensions.OidcScheme]);

    private static async Task<IResult> SignInPage(HttpContext http, IAntiforgery antiforgery, AccessMode mode, IAuthenticationSchemeProvider schemes, string? returnUrl, string? error)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var oidc = await schemes.GetSchemeAsync(AccessServiceCollectionExtensions.OidcScheme) is null
            ? ""
            : $"<p><a href=\"/auth/sign-in/oidc?returnUrl={Uri.EscapeDataString(SafeReturnUrl(returnUrl))}\">Sign in with your identity provider</a></p><p>or with an API token:</p>";
        var message = error is null ? "" : $"<p role=\"alert\" class=\"error\">{WebUtility.HtmlEncode(error)}</p>";
        var body = mode.RequiresCredentials
            ? oidc + $"""
                <form method="post" action="/auth/sign-in">
                  <input type="hidden" name="{tokens.FormFieldName}" value="{tokens.RequestToken}">
                  <input type="hidden" name="returnUrl" value="{WebUtility.HtmlEncode(SafeReturnUrl(returnUrl))}">
                  <label for="token">API token</label>
                  <input id="token" name="token" type="password" autocomplete="off" required autofocus>
                  <button type="submit">Sign in</button>
                </form>
                """
            : "<p>This server runs without authentication (auth mode none, loopback only). <a href=\"/\">Open the dashboard</a>.</p>";
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Sign in · Storefleet</title>
            <style>body{"{"}font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color-scheme:light dark{"}"}
            input,button{"{"}display:block;width:100%;margin:.5rem 0;padding:.5rem;font:inherit{"}"}.error{"{"}color:#c50f1f{"}"}</style></head>
            <body><main><h1>Storefleet</h1>{message}{body}</main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private static async Task<IResult> SignInAsync(HttpContext http, [FromForm] string? token, [FromForm] string? returnUrl, TokenVerifier verifier, AuditTrail audit, SharedLimits throttle)
    {
        var target = SafeReturnUrl(returnUrl);
        if (string.IsNullOrWhiteSpace(token))
        {
            return Results.Redirect($"/sign-in?error={Uri.EscapeDataString("Enter an API token.")}&returnUrl={Uri.EscapeDataString(target)}");
        }

        var principal = await verifier.VerifyAsync(token.Trim(), CookieAuthenticationDefaults.AuthenticationScheme);
        if (principal is null)
        {
            await throttle.RecordFailureAsync(AuditTrail.ClientAddress(http), "sign-in");
            await audit.RecordAsync(new AuditEntry(DateTimeOffset.UtcNow, "anonymous", "none", AuditTrail.ClientAddress(http), AuditActions.SignIn, "dashboard", "refused", "invalid or revoked token"));
            return Results.Redirect($"/sign-in?error={Uri.EscapeDataString("That token is not valid (or was revoked).")}&returnUrl={Uri.EscapeDataString(target)}");
        }

        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
        http.User = principal;
        await audit.RecordAsync(http, AuditActions.SignIn, "dashboard", "ok");
        return Results.Redirect(target);
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, AuditTrail audit)
    {
        await audit.RecordAsync(http, AuditActions.SignOut, "dashboard", "ok");
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.Redirect("/sign-in");
    }

    /// <summary>Only local paths: a sign-in link can never send a person to another site.</summary>
    private static string SafeReturnUrl(string? url) =>
        url is { Length: > 0 } && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";
}

using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Storefleet.Server.Access;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// OIDC is configuration only: with an authority and a client id, the dashboard offers the identity
/// provider's sign-in (authorization code with PKCE) and the API accepts its JWTs; their subject and role
/// come from the configured claims. A stand-in provider serves the discovery document.
/// </summary>
public sealed class OidcTests : IAsyncLifetime
{
    private WebApplication _provider = null!;
    private RedisServerProcess _redis = null!;
    private StorefleetApiFactory _factory = null!;
    private string _authority = null!;

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        _authority = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(_authority);
        _provider = builder.Build();
        _provider.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = _authority,
            ["authorization_endpoint"] = $"{_authority}/authorize",
            ["token_endpoint"] = $"{_authority}/token",
            ["jwks_uri"] = $"{_authority}/jwks",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        _provider.MapGet("/jwks", () => Results.Json(new { keys = Array.Empty<object>() }));
        await _provider.StartAsync();

        _redis = await RedisServerProcess.StartAsync();
        _factory = new StorefleetApiFactory(_redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Storefleet:Access:Oidc:Authority"] = _authority,
            ["Storefleet:Access:Oidc:ClientId"] = "storefleet-dashboard",
            ["Storefleet:Access:Oidc:Audience"] = "storefleet",
        });
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task TheDashboard_SendsThePersonToTheProvider_WithPkce()
    {
        var client = _factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var page = await client.GetStringAsync("/sign-in");
        var challenge = await client.GetAsync("/auth/sign-in/oidc?returnUrl=/stores/x");

        Assert.Contains("Sign in with your identity provider", page);
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var location = challenge.Headers.Location!.ToString();
        Assert.StartsWith($"{_authority}/authorize?", location);
        Assert.Contains("client_id=storefleet-dashboard", location);
        Assert.Contains("code_challenge_method=S256", location);
        Assert.Contains("response_type=code", location);
        Assert.Contains(Uri.EscapeDataString("/auth/oidc/callback"), location);
    }

    [Fact]
    public async Task TheApi_ChecksJwtsAgainstTheProvidersKeys_AndRefusesAForgedOne()
    {
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl");

        var forged = await client.GetAsync("/api/v1/stores");

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
    }

    [Fact]
    public void TheProvidersClaims_BecomeSubjectAndRole_OrNothing()
    {
        var options = new OidcOptions { SubjectClaim = "sub", RoleClaim = "storefleet_role" };
        ClaimsPrincipal With(params Claim[] claims) => new(new ClaimsIdentity(claims, "oidc"));

        var member = AccessServiceCollectionExtensions.OidcPrincipal(With(new Claim("sub", "mallory"), new Claim("storefleet_role", "member")), options);
        var noRole = AccessServiceCollectionExtensions.OidcPrincipal(With(new Claim("sub", "mallory")), options);
        var unknownRole = AccessServiceCollectionExtensions.OidcPrincipal(With(new Claim("sub", "mallory"), new Claim("storefleet_role", "root")), options);

        Assert.Equal("mallory", member!.FindFirst(AccessClaims.Subject)!.Value);
        Assert.Equal("member", member.FindFirst(AccessClaims.Role)!.Value);
        Assert.Null(noRole);
        Assert.Null(unknownRole);
    }
}

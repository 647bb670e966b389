using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Storefleet.Server.Access;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// OIDC is configuration only: with an authority and a client id, the dashboard offers the identity
/// provider's sign-in (authorization code with PKCE) and the API accepts its JWTs; their subject and role
/// come from the configured claims. A stand-in provider serves the discovery document and a real RSA
/// signing key (JWKS); tokens signed with it are accepted, every kind of bad token is refused.
/// </summary>
public sealed class OidcTests : IAsyncLifetime
{
    private readonly RSA _otherKey = RSA.Create(2048);
    private StandInIdentityProvider _provider = null!;
    private RedisServerProcess _redis = null!;
    private StorefleetApiFactory _factory = null!;
    private string _authority = null!;

    public async Task InitializeAsync()
    {
        _provider = await StandInIdentityProvider.StartAsync();
        _authority = _provider.Authority;
        _redis = await RedisServerProcess.StartAsync();
        _factory = new StorefleetApiFactory(_redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Storefleet:Access:Oidc:Authority"] = _authority,
            ["Storefleet:Access:Oidc:ClientId"] = "storefleet-dashboard",
            ["Storefleet:Access:Oidc:CliClientId"] = "storefleet-cli",
            ["Storefleet:Access:Oidc:Audience"] = "storefleet",
            ["Storefleet:Access:Oidc:Scopes:0"] = "storefleet",
        });
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
        await _provider.DisposeAsync();
        _otherKey.Dispose();
    }

    [Fact]
    public async Task TheServer_TellsClientsHowToSignIn_WithoutCredentials()
    {
        var answer = await _factory.CreateClient().GetAsync("/api/v1/auth");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var methods = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal("tokens", methods["mode"]!.GetValue<string>());
        Assert.True(methods["apiTokens"]!.GetValue<bool>());
        Assert.Equal(_authority, methods["deviceFlow"]!["issuer"]!.GetValue<string>());
        Assert.Equal("storefleet-cli", methods["deviceFlow"]!["clientId"]!.GetValue<string>());
        Assert.Equal("storefleet", methods["deviceFlow"]!["audience"]!.GetValue<string>());
        Assert.Equal(["openid", "profile", "offline_access", "storefleet"], methods["deviceFlow"]!["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
    }

    [Fact]
    public async Task AValidProviderToken_IsAccepted_AndItsSubjectOwnsWhatItCreates()
    {
        var client = ClientWith(Token());

        var list = await client.GetAsync("/api/v1/stores");
        var created = await client.PostAsJsonAsync("/api/v1/stores", new { name = $"oidc-{Guid.NewGuid():N}"[..12] });

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("alice@example.com", JsonNode.Parse(await created.Content.ReadAsStringAsync())!["owner"]!.GetValue<string>());
    }

    public static TheoryData<string> BadTokens => ["other-key", "wrong-audience", "wrong-issuer", "expired", "no-role", "unknown-role", "no-subject", "unsigned"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task ABadProviderToken_IsRefused(string kind)
    {
        var token = kind switch
        {
            "other-key" => Token(key: _otherKey),
            "wrong-audience" => Token(audience: "someone-else"),
            "wrong-issuer" => Token(issuer: "http://127.0.0.1:1/"),
            "expired" => Token(expires: DateTime.UtcNow.AddMinutes(-10)),
            "no-role" => Token(role: null),
            "unknown-role" => Token(role: "root"),
            "no-subject" => Token(subject: null),
            _ => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = _authority, Audience = "storefleet", Expires = DateTime.UtcNow.AddMinutes(5),
                Claims = new Dictionary<string, object> { ["sub"] = "alice@example.com", ["storefleet_role"] = "admin" },
            }),
        };

        var answer = await ClientWith(token).GetAsync("/api/v1/stores");

        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
    }

    private HttpClient ClientWith(string token)
    {
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private string Token(RSA? key = null, string audience = "storefleet", string? issuer = null, DateTime? expires = null, string? subject = "alice@example.com", string? role = "member") =>
        _provider.Token(subject, role, key, audience, issuer, expires);

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

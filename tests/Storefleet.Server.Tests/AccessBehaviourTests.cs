using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>Quotas, rate limits, the audit trail, dashboard sessions, security headers, secrets hygiene.</summary>
public sealed partial class AccessBehaviourTests(AccessFixture access) : IClassFixture<AccessFixture>
{
    [Fact]
    public async Task SignInMethods_AreReadableWithoutCredentials_AndOfferNoDeviceFlowWithoutAnIdentityProvider()
    {
        var answer = await access.Factory.CreateClient().GetAsync("/api/v1/auth");

        Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
        var methods = System.Text.Json.Nodes.JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal("tokens", methods["mode"]!.GetValue<string>());
        Assert.True(methods["apiTokens"]!.GetValue<bool>());
        Assert.Null(methods["deviceFlow"]);
    }

    [Fact]
    public async Task FiftyParallelCreatesByOneOwner_WithAQuotaOfFive_MakeExactlyFive()
    {
        var token = await access.CreateTokenAsync($"q{Guid.NewGuid():N}"[..10], "member", maxStores: 5);

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            access.Client(token).PostAsJsonAsync("/api/v1/stores", new { name = $"q{i}-{Guid.NewGuid():N}"[..12] })));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        var refused = responses.Where(r => r.StatusCode != HttpStatusCode.Created).ToList();
        Assert.Equal(45, refused.Count);
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        var problem = JsonNode.Parse(await refused[0].Content.ReadAsStringAsync())!;
        Assert.Equal("stores-per-owner", problem["limit"]!.GetValue<string>());
        Assert.Equal(5, problem["value"]!.GetValue<int>());
    }

    [Fact]
    public async Task APlanQuota_LimitsStoresOnThatPlanPerOwner_AndSaysWhichPlan()
    {
        var token = await access.CreateTokenAsync($"p{Guid.NewGuid():N}"[..10], "member");
        var other = await access.CreateTokenAsync($"o{Guid.NewGuid():N}"[..10], "member");

        var first = await access.Client(token).PostAsJsonAsync("/api/v1/stores", new { name = $"big-{Guid.NewGuid():N}"[..12], plan = "large" });
        var second = await access.Client(token).PostAsJsonAsync("/api/v1/stores", new { name = $"big-{Guid.NewGuid():N}"[..12], plan = "large" });
        var small = await access.Client(token).PostAsJsonAsync("/api/v1/stores", new { name = $"sml-{Guid.NewGuid():N}"[..12], plan = "small" });
        var someoneElse = await access.Client(other).PostAsJsonAsync("/api/v1/stores", new { name = $"big-{Guid.NewGuid():N}"[..12], plan = "large" });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        var problem = JsonNode.Parse(await second.Content.ReadAsStringAsync())!;
        Assert.Equal("stores-per-plan", problem["limit"]!.GetValue<string>());
        Assert.Equal("large", problem["plan"]!.GetValue<string>());
        Assert.Contains("MaxStoresPerPlan", problem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Created, small.StatusCode);
        Assert.Equal(HttpStatusCode.Created, someoneElse.StatusCode);
    }

    [Fact]
    public async Task TwoOwnersInterleaved_EachGetTheirOwnFive()
    {
        var first = await access.CreateTokenAsync($"x{Guid.NewGuid():N}"[..10], "member", maxStores: 5);
        var second = await access.CreateTokenAsync($"y{Guid.NewGuid():N}"[..10], "member", maxStores: 5);

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            access.Client(i % 2 == 0 ? first : second).PostAsJsonAsync("/api/v1/stores", new { name = $"i{i}-{Guid.NewGuid():N}"[..12] })));

        Assert.Equal(5, responses.Where((_, i) => i % 2 == 0).Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(5, responses.Where((_, i) => i % 2 == 1).Count(r => r.StatusCode == HttpStatusCode.Created));
    }

    [Fact]
    public async Task TheAuditTrail_RecordsActionsAndRefusals_WithActorClientAndResult()
    {
        var name = $"au{Guid.NewGuid():N}"[..12];
        await access.CreateStoreAsync(access.AliceMember, name);
        await access.Client(access.AliceMember).PostAsync($"/api/v1/stores/{name}/retry", null);
        await access.Client(access.BobMember).DeleteAsync($"/api/v1/stores/{name}");
        await access.Client(access.AliceViewer).DeleteAsync($"/api/v1/stores/{name}");
        await access.Client(access.AliceMember).GetAsync($"/api/v1/stores/{name}/credentials");
        await access.Client(access.AliceMember).DeleteAsync($"/api/v1/stores/{name}");
        await access.Client("sfat_" + new string('z', 40)).GetAsync("/api/v1/stores");

        var entries = JsonNode.Parse(await access.Client(access.AdminToken).GetStringAsync($"/api/v1/audit?store={name}&limit=100"))!["items"]!.AsArray();
        var all = JsonNode.Parse(await access.Client(access.AdminToken).GetStringAsync("/api/v1/audit?limit=1000"))!["items"]!.AsArray();

        string[] Seen(JsonArray items) => [.. items.Select(e => $"{e!["action"]}|{e["actor"]}|{e["result"]}")];
        var seen = Seen(entries);
        Assert.Contains("store.create|alice|ok", seen);
        Assert.Contains("store.retry|alice|refused: conflict", seen);
        Assert.Contains("store.delete|bob|refused: not found", seen);
        Assert.Contains("store.credentials|alice|refused: NoCluster", seen);
        Assert.Contains("store.delete|alice|ok", seen);
        Assert.Contains(Seen(all), e => e.StartsWith("auth.authorize|alice|refused", StringComparison.Ordinal));
        Assert.Contains(Seen(all), e => e.StartsWith("auth.token|anonymous|refused", StringComparison.Ordinal));
        Assert.Contains(Seen(all), e => e.StartsWith("token.create|admin|ok", StringComparison.Ordinal));
        Assert.Contains(Seen(all), e => e.StartsWith("token.revoke|admin|ok", StringComparison.Ordinal));
        Assert.All(entries, e => Assert.Equal("192.0.2.10", e!["client"]!.GetValue<string>()));
        var byActor = JsonNode.Parse(await access.Client(access.AdminToken).GetStringAsync("/api/v1/audit?actor=bob&limit=1000"))!["items"]!.AsArray();
        Assert.All(byActor, e => Assert.Equal("bob", e!["actor"]!.GetValue<string>()));
    }

    [Fact]
    public async Task TheDashboardSession_SignsInWithAToken_IsProtectedByAntiforgery_AndSignsOut()
    {
        var browser = access.Client(null);
        var page = await browser.GetAsync("/sign-in?returnUrl=/api/v1/stores");
        var html = await page.Content.ReadAsStringAsync();
        var antiforgery = AntiforgeryField().Match(html);
        Assert.True(antiforgery.Success, html);
        var cookies = page.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]).ToList();

        HttpRequestMessage Form(string token, bool withAntiforgery, IEnumerable<string> cookieHeader)
        {
            var fields = new Dictionary<string, string> { ["token"] = token, ["returnUrl"] = "/api/v1/stores" };
            if (withAntiforgery)
            {
                fields[antiforgery.Groups[1].Value] = antiforgery.Groups[2].Value;
            }

            var request = new HttpRequestMessage(HttpMethod.Post, "/auth/sign-in") { Content = new FormUrlEncodedContent(fields) };
            request.Headers.Add("Cookie", string.Join("; ", cookieHeader));
            return request;
        }

        var forged = await browser.SendAsync(Form(access.AliceMember, withAntiforgery: false, cookies));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

        var wrong = await browser.SendAsync(Form("sfat_" + new string('w', 40), withAntiforgery: true, cookies));
        Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
        Assert.StartsWith("/sign-in?error=", wrong.Headers.Location!.OriginalString);

        var signedIn = await browser.SendAsync(Form(access.AliceMember, withAntiforgery: true, cookies));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/api/v1/stores", signedIn.Headers.Location!.OriginalString);
        var session = signedIn.Headers.GetValues("Set-Cookie").First(c => c.StartsWith("storefleet.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);
        var sessionCookie = session.Split(';')[0];

        var withSession = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stores");
        withSession.Headers.Add("Cookie", sessionCookie);
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(withSession)).StatusCode);

        var signOut = new HttpRequestMessage(HttpMethod.Post, "/auth/sign-out")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { [antiforgery.Groups[1].Value] = antiforgery.Groups[2].Value }),
        };
        signOut.Headers.Add("Cookie", string.Join("; ", cookies.Append(sessionCookie)));
        var signedOut = await browser.SendAsync(signOut);
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Contains(signedOut.Headers.GetValues("Set-Cookie"), c => c.StartsWith("storefleet.session=;", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARevokedToken_EndsItsDashboardSessions()
    {
        var token = await access.CreateTokenAsync("erin", "member");
        var browser = access.Client(null);
        var session = await SignInAsync(token);
        var id = JsonNode.Parse(await access.Client(access.AdminToken).GetStringAsync("/api/v1/tokens"))!["items"]!.AsArray()
            .Last(t => t!["subject"]!.GetValue<string>() == "erin")!["id"]!.GetValue<string>();

        (await access.Client(access.AdminToken).DeleteAsync($"/api/v1/tokens/{id}")).EnsureSuccessStatusCode();

        var after = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stores");
        after.Headers.Add("Cookie", session);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.SendAsync(after)).StatusCode);
    }

    [Fact]
    public async Task EveryResponse_CarriesSecurityHeaders()
    {
        var response = await access.Client(access.AdminToken).GetAsync("/api/v1/stores");

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("connect-src 'self' ws: wss:", csp);
        Assert.DoesNotContain("'unsafe-eval'", csp);
    }

    [Fact]
    public async Task NoTokenOrPassword_IsEverStoredInRedis_OrWrittenToTheLogs()
    {
        // Everything that handles a secret, done here (whatever other tests ran before): a token created,
        // used, used for a dashboard sign-in, revoked and tried again; a bad token; the bootstrap token.
        var token = await access.CreateTokenAsync("scan", "member");
        await access.Client(token).GetAsync("/api/v1/stores");
        await access.Client(access.AdminToken).GetAsync("/api/v1/tokens");
        await SignInAsync(token);
        var id = JsonNode.Parse(await access.Client(access.AdminToken).GetStringAsync("/api/v1/tokens"))!["items"]!.AsArray()
            .Single(t => t!["subject"]!.GetValue<string>() == "scan")!["id"]!.GetValue<string>();
        (await access.Client(access.AdminToken).DeleteAsync($"/api/v1/tokens/{id}")).EnsureSuccessStatusCode();
        await access.Client(token).GetAsync("/api/v1/stores");
        await access.Client("sfat_" + new string('q', 40)).GetAsync("/api/v1/stores");

        var everything = await RedisDump.AllAsync(access.Factory.Redis, access.Factory.KeyPrefix);
        var logs = string.Join('\n', access.Factory.Logs.Lines);
        Assert.NotEmpty(access.Factory.Logs.Lines);
        Assert.True(access.Secrets.Count >= 5);
        foreach (var secret in access.Secrets)
        {
            Assert.DoesNotContain(everything, value => value.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(everything, value => value.Contains("sfat_", StringComparison.Ordinal));
    }

    /// <summary>Signs in on the dashboard with <paramref name="token"/> (antiforgery and all); returns the session cookie.</summary>
    private async Task<string> SignInAsync(string token)
    {
        var browser = access.Client(null);
        var page = await browser.GetAsync("/sign-in");
        var antiforgery = AntiforgeryField().Match(await page.Content.ReadAsStringAsync());
        var cookies = page.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]).ToList();
        var request = new HttpRequestMessage(HttpMethod.Post, "/auth/sign-in")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token, [antiforgery.Groups[1].Value] = antiforgery.Groups[2].Value }),
        };
        request.Headers.Add("Cookie", string.Join("; ", cookies));
        return (await browser.SendAsync(request)).Headers.GetValues("Set-Cookie").First(c => c.StartsWith("storefleet.session=", StringComparison.Ordinal)).Split(';')[0];
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

/// <summary>Rate limits on a server of their own (tight limits), partitioned by token or client address.</summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private RedisServerProcess _redis = null!;
    private StorefleetApiFactory _factory = null!;
    private readonly string _admin = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.StartAsync();
        _factory = new StorefleetApiFactory(_redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Storefleet:Access:BootstrapAdminToken"] = _admin,
            ["Storefleet:Access:RateLimits:RequestsPerMinute"] = "10",
            ["Storefleet:Access:RateLimits:ReadsPerMinute"] = "10",
            ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "5",
            ["Storefleet:Access:RateLimits:CreatesPerMinute"] = "2",
            ["Storefleet:Access:RateLimits:FailedSignInsPerMinute"] = "3",
        });
        _ = _factory.Server;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task ABurstBeyondTheLimit_Gets429WithRetryAfter()
    {
        var client = Client(_admin);

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 15; i++)
        {
            responses.Add(await client.GetAsync("/api/v1/stores"));
        }

        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.InRange(responses.Count(r => r.StatusCode == HttpStatusCode.OK), 10, 11);
        Assert.NotEmpty(limited);
        Assert.True(limited[0].Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("application/problem+json", limited[0].Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ReadsAndWrites_HaveSeparateBudgets_SoPollingNeverUsesUpTheRoomToAct()
    {
        var bob = await TokenAsync("bob-" + Guid.NewGuid().ToString("N")[..6]);
        var client = Client(bob);

        var reads = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            reads.Add((await client.GetAsync("/api/v1/stores")).StatusCode);
        }

        // The read budget (10) is spent; writes still have theirs.
        Assert.Contains(HttpStatusCode.TooManyRequests, reads);
        var write = await client.DeleteAsync("/api/v1/stores/not-there");
        Assert.Equal(HttpStatusCode.NotFound, write.StatusCode);
    }

    private async Task<string> TokenAsync(string subject)
    {
        var response = await Client(_admin).PostAsJsonAsync("/api/v1/tokens", new { subject, role = "member" });
        response.EnsureSuccessStatusCode();
        return System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
    }

    [Fact]
    public async Task CreatesHaveAStricterLimit()
    {
        var client = Client(_admin);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add((await client.PostAsJsonAsync("/api/v1/stores", new { name = $"r{i}-{Guid.NewGuid():N}"[..12] })).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task ASpoofedForwardedFor_FromAnUntrustedPeer_DoesNotChangeThePartition()
    {
        _factory.RemoteAddress = IPAddress.Parse("198.51.100.7");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            statuses.Add((await Client(null).SendAsync(request)).StatusCode);
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task AForwardedFor_FromATrustedProxy_IsTheClient()
    {
        await using var proxied = new StorefleetApiFactory(_redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Storefleet:Access:BootstrapAdminToken"] = _admin,
            ["Storefleet:Access:TrustedProxies:0"] = "198.51.100.1",
            ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "2",
        }) { RemoteAddress = IPAddress.Parse("198.51.100.1") };

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            statuses.Add((await proxied.CreateClient().SendAsync(request)).StatusCode);
        }

        // Six different clients behind one trusted proxy: each has its own budget.
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task RepeatedInvalidTokens_TurnTheClientAway()
    {
        _factory.RemoteAddress = IPAddress.Parse("198.51.100.99");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await Client("sfat_" + new string((char)('a' + i), 40)).GetAsync("/api/v1/stores")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    private HttpClient Client(string? token)
    {
        var client = _factory.CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}

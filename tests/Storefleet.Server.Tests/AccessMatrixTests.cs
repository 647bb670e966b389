using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Storefleet.Server.Tests;

/// <summary>
/// Every endpoint × every kind of caller × own or another owner's store: the status the server must
/// answer. Another owner's store is a 404 (names do not leak); a role that may not act is a 403; no,
/// invalid or revoked credentials are a 401.
/// </summary>
public sealed class AccessMatrixTests(AccessFixture access) : IClassFixture<AccessFixture>
{
    public enum Caller
    {
        Admin,
        OwnerMember,
        OwnerViewer,
        OtherMember,
        NoToken,
        InvalidToken,
        RevokedToken,
    }

    // Expected statuses in Caller order: Admin, OwnerMember, OwnerViewer, OtherMember, NoToken, InvalidToken, RevokedToken.
    public static TheoryData<string, string, string, int[]> Matrix => new()
    {
        { "list stores", "GET", "/api/v1/stores", [200, 200, 200, 200, 401, 401, 401] },
        { "get a store", "GET", "/api/v1/stores/{store}", [200, 200, 200, 404, 401, 401, 401] },
        { "store events", "GET", "/api/v1/stores/{store}/events", [200, 200, 200, 404, 401, 401, 401] },
        { "create a store", "POST", "/api/v1/stores", [201, 201, 403, 201, 401, 401, 401] },
        { "delete a store", "DELETE", "/api/v1/stores/{store}", [202, 202, 403, 404, 401, 401, 401] },
        { "delete a store with its backups", "DELETE", "/api/v1/stores/{store}?purgeBackups=true", [202, 403, 403, 403, 401, 401, 401] },
        { "retry a store (not failed)", "POST", "/api/v1/stores/{store}/retry", [409, 409, 403, 404, 401, 401, 401] },
        { "upgrade a store (not ready yet)", "POST", "/api/v1/stores/{store}/upgrade", [409, 409, 403, 404, 401, 401, 401] },
        { "read credentials (no cluster here)", "GET", "/api/v1/stores/{store}/credentials", [503, 503, 403, 404, 401, 401, 401] },
        { "list a store's backups", "GET", "/api/v1/stores/{store}/backups", [200, 200, 200, 404, 401, 401, 401] },
        { "get a backup (unknown)", "GET", "/api/v1/stores/{store}/backups/bk-unknown", [404, 404, 404, 404, 401, 401, 401] },
        { "back a store up (not live yet)", "POST", "/api/v1/stores/{store}/backups", [409, 409, 403, 404, 401, 401, 401] },
        { "set a store's backup schedule (backups not configured here)", "PUT", "/api/v1/stores/{store}/backups/schedule", [409, 409, 403, 404, 401, 401, 401] },
        { "restore a store (backups not configured here)", "POST", "/api/v1/stores/{store}/restore", [409, 409, 403, 404, 401, 401, 401] },
        { "read the fleet's backup coverage", "GET", "/api/v1/fleet/backups", [200, 403, 403, 403, 401, 401, 401] },
        { "list tokens", "GET", "/api/v1/tokens", [200, 403, 403, 403, 401, 401, 401] },
        { "create a token", "POST", "/api/v1/tokens", [201, 403, 403, 403, 401, 401, 401] },
        { "revoke a token", "DELETE", "/api/v1/tokens/tok_unknown", [404, 403, 403, 403, 401, 401, 401] },
        { "read the audit trail", "GET", "/api/v1/audit", [200, 403, 403, 403, 401, 401, 401] },
        { "list orphan namespaces", "GET", "/api/v1/orphans", [200, 403, 403, 403, 401, 401, 401] },
        { "read the warm pool", "GET", "/api/v1/pool", [200, 403, 403, 403, 401, 401, 401] },
        { "read the fleet's versions", "GET", "/api/v1/fleet", [200, 403, 403, 403, 401, 401, 401] },
        { "create a rollout (nothing outdated)", "POST", "/api/v1/rollouts", [422, 403, 403, 403, 401, 401, 401] },
        { "list rollouts", "GET", "/api/v1/rollouts", [200, 403, 403, 403, 401, 401, 401] },
        { "get a rollout (unknown)", "GET", "/api/v1/rollouts/ro-0123456789ab", [404, 403, 403, 403, 401, 401, 401] },
        { "pause a rollout (unknown)", "POST", "/api/v1/rollouts/ro-0123456789ab/pause", [404, 403, 403, 403, 401, 401, 401] },
        { "resume a rollout (unknown)", "POST", "/api/v1/rollouts/ro-0123456789ab/resume", [404, 403, 403, 403, 401, 401, 401] },
        { "abort a rollout (unknown)", "POST", "/api/v1/rollouts/ro-0123456789ab/abort", [404, 403, 403, 403, 401, 401, 401] },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task EveryEndpoint_AnswersEveryCaller_AsTheRolesSay(string what, string method, string path, int[] expected)
    {
        foreach (var caller in Enum.GetValues<Caller>())
        {
            // A fresh store owned by alice for every call, so deletes and creates never depend on order.
            var store = $"a{Guid.NewGuid():N}"[..12];
            await access.CreateStoreAsync(access.AliceMember, store);
            var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{store}", store, StringComparison.Ordinal));
            if (method == "POST" && path == "/api/v1/stores")
            {
                request.Content = JsonContent.Create(new { name = $"n{Guid.NewGuid():N}"[..12] });
            }
            else if (method == "POST" && path == "/api/v1/rollouts")
            {
                request.Content = JsonContent.Create(new { selection = new { owner = "alice" } });
            }
            else if (method == "PUT" && path.EndsWith("/backups/schedule", StringComparison.Ordinal))
            {
                request.Content = JsonContent.Create(new { schedule = "hourly" });
            }
            else if (method == "POST" && path.EndsWith("/restore", StringComparison.Ordinal))
            {
                request.Content = JsonContent.Create(new { backup = "bk-unknown" });
            }
            else if (method == "POST" && path == "/api/v1/tokens")
            {
                request.Content = JsonContent.Create(new { subject = "carol", role = "viewer" });
            }

            var response = await access.Client(TokenOf(caller)).SendAsync(request);

            var want = expected[(int)caller];
            Assert.True((int)response.StatusCode == want, $"{what} as {caller}: expected {want}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            if (want >= 400)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }

            if (want == 401)
            {
                Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            }

            if (method == "POST" && path == "/api/v1/tokens" && want == 201)
            {
                access.Secrets.Add(System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>());
            }
        }
    }

    [Fact]
    public async Task Listing_ShowsMembersAndViewersOnlyTheirOwnStores_WhateverOwnerTheyAskFor()
    {
        var bobs = $"b{Guid.NewGuid():N}"[..12];
        await access.CreateStoreAsync(access.BobMember, bobs);

        var asAlice = await access.Client(access.AliceViewer).GetStringAsync("/api/v1/stores?limit=500&owner=bob");
        var asAdmin = await access.Client(access.AdminToken).GetStringAsync("/api/v1/stores?limit=500&owner=bob");

        Assert.DoesNotContain(bobs, asAlice);
        Assert.DoesNotContain("\"owner\":\"bob\"", asAlice);
        Assert.Contains(bobs, asAdmin);
    }

    [Fact]
    public async Task TheOwnerOfANewStore_ComesFromTheIdentity_NeverTheBody()
    {
        var name = $"o{Guid.NewGuid():N}"[..12];
        var response = await access.Client(access.AliceMember).PostAsync("/api/v1/stores",
            new StringContent($$"""{"name":"{{name}}","owner":"bob"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        await access.CreateStoreAsync(access.AliceMember, name);
        var store = await access.Client(access.AdminToken).GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/api/v1/stores/{name}");
        Assert.Equal("alice", store!["owner"]!.GetValue<string>());
    }

    [Fact]
    public async Task ARevokedToken_StopsWorkingOnTheNextRequest()
    {
        var token = await access.CreateTokenAsync("dora", "member");
        var client = access.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/stores")).StatusCode);
        var id = System.Text.Json.Nodes.JsonNode.Parse(await access.Client(access.AdminToken).GetStringAsync("/api/v1/tokens"))!["items"]!.AsArray()
            .Last(t => t!["subject"]!.GetValue<string>() == "dora")!["id"]!.GetValue<string>();

        (await access.Client(access.AdminToken).DeleteAsync($"/api/v1/tokens/{id}")).EnsureSuccessStatusCode();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/stores")).StatusCode);
    }

    [Fact]
    public async Task TokenListings_NeverContainSecrets()
    {
        var listing = await access.Client(access.AdminToken).GetStringAsync("/api/v1/tokens");

        Assert.DoesNotContain("sfat_", listing, StringComparison.Ordinal);
        Assert.All(access.Secrets, secret => Assert.DoesNotContain(secret, listing, StringComparison.Ordinal));
    }

    private string? TokenOf(Caller caller) => caller switch
    {
        Caller.Admin => access.AdminToken,
        Caller.OwnerMember => access.AliceMember,
        Caller.OwnerViewer => access.AliceViewer,
        Caller.OtherMember => access.BobMember,
        Caller.InvalidToken => "sfat_" + new string('x', 40),
        Caller.RevokedToken => access.Revoked,
        _ => null,
    };
}

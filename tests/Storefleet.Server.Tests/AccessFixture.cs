using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// A control plane with access control on (a bootstrap admin token), on redis-server, with members
/// alice and bob, a viewer with alice's subject, and a revoked token. Every secret handed out is kept
/// so the suite can prove none of them reached Redis or the logs.
/// </summary>
public sealed class AccessFixture : IAsyncLifetime
{
    private RedisServerProcess _redis = null!;

    public StorefleetApiFactory Factory { get; private set; } = null!;

    public string AdminToken { get; } = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";

    public string AliceMember { get; private set; } = null!;

    public string AliceViewer { get; private set; } = null!;

    public string BobMember { get; private set; } = null!;

    public string Revoked { get; private set; } = null!;

    public List<string> Secrets { get; } = [];

    public async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.StartAsync();
        Factory = new StorefleetApiFactory(_redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Storefleet:Access:BootstrapAdminToken"] = AdminToken,
            ["Storefleet:Access:MaxStoresPerOwner"] = "10000",
            ["Storefleet:Access:MaxConcurrentProvisioningPerOwner"] = "0",
            ["Storefleet:Access:MaxStoresPerPlan:large"] = "1",
            ["Storefleet:Access:RateLimits:FailedSignInsPerMinute"] = "1000",
        });
        Secrets.Add(AdminToken);
        AliceMember = await CreateTokenAsync("alice", "member");
        AliceViewer = await CreateTokenAsync("alice", "viewer");
        BobMember = await CreateTokenAsync("bob", "member");
        Revoked = await CreateTokenAsync("alice", "member");
        var list = JsonNode.Parse(await Client(AdminToken).GetStringAsync("/api/v1/tokens"))!["items"]!.AsArray();
        var revokedId = list.Last()!["id"]!.GetValue<string>();
        (await Client(AdminToken).DeleteAsync($"/api/v1/tokens/{revokedId}")).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public HttpClient Client(string? token)
    {
        var client = Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public async Task<string> CreateTokenAsync(string subject, string role, int? maxStores = null)
    {
        var response = await Client(AdminToken).PostAsJsonAsync("/api/v1/tokens", new { subject, role, maxStores });
        response.EnsureSuccessStatusCode();
        var secret = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
        Secrets.Add(secret);
        return secret;
    }

    public async Task CreateStoreAsync(string token, string name)
    {
        var response = await Client(token).PostAsJsonAsync("/api/v1/stores", new { name });
        Assert.True(response.IsSuccessStatusCode, $"create {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

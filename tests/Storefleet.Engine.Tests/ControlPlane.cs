using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Storefleet.Core.Stores;
using Storefleet.Engine.Helm;
using Storefleet.Engine.Reconciling;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// A control plane in-process (API + engine) on a real Redis and the Kubernetes API test double, with
/// the real helm and the store chart, and fast timings. Several may share one Redis key prefix (replicas).
/// </summary>
public sealed class ControlPlane : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    /// <param name="services">Replaces services after the product registered its own (a gate, a clock).</param>
    public ControlPlane(string redis, string keyPrefix, string kubeconfig, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        KeyPrefix = keyPrefix;
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis,
            ["Storefleet:State:KeyPrefix"] = keyPrefix,
            ["Storefleet:Engine:Kubeconfig"] = kubeconfig,
            ["Storefleet:Engine:HelmPath"] = RepositoryPaths.Helm,
            ["Storefleet:Engine:ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            // Short enough for takeover tests, long enough that a loaded CI machine rarely stalls renewals past it.
            ["Storefleet:Engine:LeaseTtl"] = "00:00:05",
            ["Storefleet:Engine:ResyncInterval"] = "00:00:05",
            ["Storefleet:Engine:RetryBaseDelay"] = "00:00:00.100",
            ["Storefleet:Engine:RetryMaxDelay"] = "00:00:01",
            ["Storefleet:Engine:ClusterRetryDelay"] = "00:00:00.200",
            ["Storefleet:Engine:HelmTimeout"] = "00:01:00",
            ["Storefleet:Engine:PhaseTimeout"] = "00:01:00",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "1000000",
            ["Storefleet:Access:RateLimits:CreatesPerMinute"] = "100000",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string KeyPrefix { get; }

    public IStoreRepository Repository => Services.GetRequiredService<IStoreRepository>();

    public EngineActivity Activity => Services.GetRequiredService<EngineActivity>();

    public HelmRunner Helm => Services.GetRequiredService<HelmRunner>();

    public IConnectionMultiplexer Redis => Services.GetRequiredService<IConnectionMultiplexer>();

    public async Task<JsonObject> CreateStoreAsync(string name, string plan = "small")
    {
        var response = await CreateClient().PostAsJsonAsync("/api/v1/stores", new { name, plan });
        Assert.True(response.IsSuccessStatusCode, $"create {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    public async Task DeleteStoreAsync(string name)
    {
        var response = await CreateClient().DeleteAsync($"/api/v1/stores/{name}");
        Assert.True(response.IsSuccessStatusCode, $"delete {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task RetryStoreAsync(string name)
    {
        var response = await CreateClient().PostAsync($"/api/v1/stores/{name}/retry", null);
        Assert.True(response.IsSuccessStatusCode, $"retry {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task<JsonObject?> GetStoreAsync(string name)
    {
        var response = await CreateClient().GetAsync($"/api/v1/stores/{name}");
        return response.StatusCode == System.Net.HttpStatusCode.NotFound ? null : JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    public async Task<JsonArray> EventsAsync(string name)
    {
        var response = await CreateClient().GetAsync($"/api/v1/stores/{name}/events");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["items"]!.AsArray();
    }

    /// <summary>Waits (on the record, not a timer) until the store is in <paramref name="phase"/>; fails fast on an unexpected failure.</summary>
    public async Task<Store> WaitForPhaseAsync(string name, StorePhase phase, TimeSpan timeout)
    {
        try
        {
            return await Eventually.WaitForAsync(async () =>
            {
                var store = await Repository.GetAsync(name);
                if (store?.Phase == StorePhase.Failed && phase != StorePhase.Failed)
                {
                    throw new GiveUpException($"store {name} failed: {store.Condition(ConditionTypes.Failed)?.Message}");
                }

                return store?.Phase == phase ? store : null;
            }, timeout, $"store {name} to be {phase}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nevents:\n{await DescribeAsync(name)}", e);
        }
    }

    public async Task WaitForGoneAsync(string name, TimeSpan timeout)
    {
        try
        {
            await Eventually.WaitUntilAsync(async () => await Repository.GetAsync(name) is null, timeout, $"store {name} to be removed");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nevents:\n{await DescribeAsync(name)}", e);
        }
    }

    public async Task<string> DescribeAsync(string name)
    {
        var store = await Repository.GetAsync(name);
        var events = await Repository.GetEventsAsync(name);
        return $"phase {store?.Phase} conditions [{string.Join("; ", store?.Conditions.Select(c => $"{c.Type}={c.Status} {c.Reason}: {c.Message}") ?? [])}]\n"
            + string.Join('\n', events.Select(e => $"  {e.Time:HH:mm:ss.fff} {e.Type} {e.Step} {e.Message} {e.Duration?.TotalMilliseconds:0}ms"));
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        if (_services is not null)
        {
            builder.ConfigureTestServices(_services);
        }

        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

/// <summary>JSON helpers for API answers.</summary>
internal static class JsonAnswers
{
    public static string Text(this JsonNode node, string property) => node[property]!.GetValue<string>();

    public static string Pretty(this JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Dashboard.Tests;

/// <summary>The control plane's services, hosted in-process on a real Redis, for components to use.</summary>
public sealed class ServerHost : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public ServerHost(string redis, IDictionary<string, string?>? settings = null)
    {
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis,
            ["Storefleet:State:KeyPrefix"] = $"dash{Guid.NewGuid():N}:",
            ["Storefleet:Engine:Enabled"] = "false",
            ["Storefleet:Engine:Kubeconfig"] = "/nonexistent/kubeconfig",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public IStoreRepository Repository => Services.GetRequiredService<IStoreRepository>();

    /// <summary>Writes a store in <paramref name="phase"/> with one event (as the engine would have).</summary>
    public async Task<Store> SeedAsync(string name, string owner, StorePhase phase, string message, StoreCondition? failure = null, StoreUrls? urls = null)
    {
        var now = DateTimeOffset.UtcNow;
        var store = Store.Request(name, new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), owner, now.AddMinutes(-3));
        await Repository.CreateAsync(store, new StoreEvent(now.AddMinutes(-3), StoreEventType.Created, StorePhase.Requested, "Store requested."));
        var current = (await Repository.GetAsync(name))!;
        if (phase == StorePhase.Requested)
        {
            return current;
        }

        var moved = current with { Phase = phase, FailedPhase = failure is null ? null : StorePhase.Provisioning, Urls = urls, Conditions = failure is null ? [] : [failure] };
        var result = await Repository.UpdateAsync(moved, [new StoreEvent(now, StoreEventType.PhaseChanged, phase, message, TimeSpan.FromMilliseconds(420), "step")]);
        return ((UpdateStoreResult.Updated)result).Store;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

/// <summary>One redis-server and one host for the component tests of a class.</summary>
public sealed class ComponentFixture : IAsyncLifetime
{
    private RedisServerProcess _redis = null!;

    public ServerHost Host { get; private set; } = null!;

    /// <summary>The redis-server's connection string (for a host of one's own, under its own key prefix).</summary>
    public string Redis => _redis.ConnectionString;

    public async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.StartAsync();
        Host = new ServerHost(_redis.ConnectionString);
        _ = Host.Services;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await _redis.DisposeAsync();
    }
}

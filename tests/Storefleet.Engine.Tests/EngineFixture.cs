using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Engine.Tests;

/// <summary>One redis-server and one Kubernetes API test double per test class; each test gets its own key prefix and store names.</summary>
public sealed class EngineFixture : IAsyncLifetime
{
    public RedisServerProcess Redis { get; private set; } = null!;

    public KubeApiTestServer Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServerProcess.StartAsync();
        Api = await KubeApiTestServer.StartAsync();
        Api.Simulation.ReadyDelay = TimeSpan.Zero;
        Api.Simulation.NamespaceDeletionDelay = TimeSpan.FromMilliseconds(50);
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Redis.DisposeAsync();
    }

    public ControlPlane StartControlPlane(IDictionary<string, string?>? overrides = null, string? keyPrefix = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var plane = new ControlPlane(Redis.ConnectionString, keyPrefix ?? NewPrefix(), Api.KubeconfigPath, overrides, services);
        _ = plane.Server; // start now: the engine's background services run from here
        return plane;
    }

    public static string NewPrefix() => $"eng{Guid.NewGuid():N}"[..15] + ":";

    public static string NewStoreName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 7)];
}

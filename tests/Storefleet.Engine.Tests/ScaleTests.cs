using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Engine.Tests;

/// <summary>Many stores at once, a bounded number of helm processes, and watch-driven status.</summary>
[Collection(TimingCollection.Name)]
public sealed class ScaleTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    [Fact]
    public async Task TwentyStoresAtOnce_AllBecomeReady_WithNeverMoreHelmProcessesThanTheLimit()
    {
        using var helm = HelmWrapper.Create();
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?>
        {
            ["Storefleet:Engine:HelmPath"] = helm.Path,
            ["Storefleet:Engine:MaxConcurrentHelm"] = "3",
        });
        var names = Enumerable.Range(0, 20).Select(i => EngineFixture.NewStoreName($"many{i}")).ToList();

        await Task.WhenAll(names.Select(n => plane.CreateStoreAsync(n)));
        foreach (var name in names)
        {
            await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(90));
        }

        var peak = helm.PeakConcurrency();
        var calls = helm.Invocations().Count;
        Console.WriteLine($"20 stores: {calls} helm calls, at most {peak} at once (limit 3)");
        Assert.True(peak <= 3, $"{peak} helm processes ran at once (limit 3)");
        Assert.True(peak >= 2, $"helm never ran in parallel (peak {peak})");
        Assert.True(calls >= 20, $"only {calls} helm calls recorded");
        Assert.True(plane.Helm.Peak <= 3);
    }

    [Fact]
    public async Task AWorkloadTurningReady_ReachesTheApiByWatch_NotByPolling()
    {
        // Resync far away: only watch events can move the store on time.
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ResyncInterval"] = "00:05:00" });
        var name = EngineFixture.NewStoreName("watch");
        var ns = $"store-{name}";
        var readyAt = new Dictionary<string, DateTimeOffset>();
        // On the control plane's clock (this machine's, corrected to Redis's), which stamps its events.
        var clock = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<TimeProvider>(plane.Services);
        void OnChanged(WatchEvent e)
        {
            if (e.Namespace == ns && e.Resource.GroupResource is "deployments.apps" or "statefulsets.apps"
                && JsonNumbers.Long(e.Object["status"]?["readyReplicas"]) >= 1)
            {
                lock (readyAt)
                {
                    // The watcher may see the change before this handler runs: time it from the commit, on the control plane's clock.
                    readyAt.TryAdd(e.Resource.GroupResource, e.CommittedAt + (clock.GetUtcNow() - DateTimeOffset.UtcNow));
                }
            }
        }

        fixture.Api.Store.Changed += OnChanged;
        fixture.Api.Simulation.ReadyDelay = TimeSpan.FromSeconds(1.5);
        try
        {
            await plane.CreateStoreAsync(name);
            await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));
        }
        finally
        {
            fixture.Api.Simulation.ReadyDelay = TimeSpan.Zero;
            fixture.Api.Store.Changed -= OnChanged;
        }

        var infrastructureReady = readyAt.Values.Max();
        var bootstrapping = (await plane.Repository.GetEventsAsync(name)).Single(e => e.Type == StoreEventType.PhaseChanged && e.Phase == StorePhase.Bootstrapping).Time;
        var latency = bootstrapping - infrastructureReady;
        Console.WriteLine($"watch latency: workloads ready → phase recorded in {latency.TotalMilliseconds:0} ms");
        // Expected well under half a second; the resync is five minutes away, so anything near that bound is a watch at work.
        Assert.True(latency < TimeSpan.FromSeconds(5), $"workloads ready at {infrastructureReady:HH:mm:ss.fff}, recorded at {bootstrapping:HH:mm:ss.fff} ({latency.TotalMilliseconds:0} ms)");
        Assert.True(latency > TimeSpan.Zero);
    }
}

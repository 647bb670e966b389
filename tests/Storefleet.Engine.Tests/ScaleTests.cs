using System.Globalization;
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
        var log = Path.Combine(Directory.CreateTempSubdirectory("helm-calls-").FullName, "calls.log");
        var wrapper = HelmWrapper(log);
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?>
        {
            ["Storefleet:Engine:HelmPath"] = wrapper,
            ["Storefleet:Engine:MaxConcurrentHelm"] = "3",
        });
        var names = Enumerable.Range(0, 20).Select(i => EngineFixture.NewStoreName($"many{i}")).ToList();

        await Task.WhenAll(names.Select(n => plane.CreateStoreAsync(n)));
        foreach (var name in names)
        {
            await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(90));
        }

        var (peak, calls) = PeakConcurrency(log);
        Console.WriteLine($"20 stores: {calls} helm calls, at most {peak} at once (limit 3)");
        Assert.True(peak <= 3, $"{peak} helm processes ran at once (limit 3)");
        Assert.True(peak >= 2, $"helm never ran in parallel (peak {peak})");
        Assert.True(calls >= 20, $"only {calls} helm calls recorded");
        Assert.True(plane.Helm.Peak <= 3);
    }

    [Fact]
    public async Task AWorkloadTurningReady_ReachesTheApiWithinHalfASecond_ByWatchNotPolling()
    {
        // Resync far away: only watch events can move the store on time.
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ResyncInterval"] = "00:05:00" });
        var name = EngineFixture.NewStoreName("watch");
        var ns = $"store-{name}";
        var readyAt = new Dictionary<string, DateTimeOffset>();
        void OnChanged(WatchEvent e)
        {
            if (e.Namespace == ns && e.Resource.GroupResource is "deployments.apps" or "statefulsets.apps"
                && JsonNumbers.Long(e.Object["status"]?["readyReplicas"]) >= 1)
            {
                lock (readyAt)
                {
                    readyAt.TryAdd(e.Resource.GroupResource, DateTimeOffset.UtcNow);
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
        Assert.True(latency < TimeSpan.FromMilliseconds(500), $"workloads ready at {infrastructureReady:HH:mm:ss.fff}, recorded at {bootstrapping:HH:mm:ss.fff} ({latency.TotalMilliseconds:0} ms)");
        Assert.True(latency > TimeSpan.Zero);
    }

    /// <summary>A helm that records when each call starts and ends, then runs the real one.</summary>
    private static string HelmWrapper(string log)
    {
        var path = Path.Combine(Path.GetDirectoryName(log)!, "helm");
        File.WriteAllText(path, $"""
            #!/bin/bash
            echo "start $$ $(date +%s%N)" >> '{log}'
            '{RepositoryPaths.Helm}' "$@"
            rc=$?
            echo "end $$ $(date +%s%N)" >> '{log}'
            exit $rc
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    private static (int Peak, int Calls) PeakConcurrency(string log)
    {
        var events = File.ReadAllLines(log)
            .Select(line => line.Split(' '))
            .Select(parts => (Time: long.Parse(parts[2], CultureInfo.InvariantCulture), Delta: parts[0] == "start" ? 1 : -1))
            .OrderBy(e => e.Time).ThenBy(e => e.Delta)
            .ToList();
        int running = 0, peak = 0;
        foreach (var (_, delta) in events)
        {
            running += delta;
            peak = Math.Max(peak, running);
        }

        return (peak, events.Count(e => e.Delta == 1));
    }
}

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Engine.Tests;

/// <summary>Several control planes on one Redis, restarts, an unreachable cluster, orphan namespaces.</summary>
public sealed class ReplicaTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    [Fact]
    public async Task TwoInstancesOnOneRedis_HandleEachStoreOneAtATime_AndBringAllTwentyToReady()
    {
        var prefix = EngineFixture.NewPrefix();
        using var helm = HelmWrapper.Create();
        var settings = new Dictionary<string, string?> { ["Storefleet:Engine:MaxConcurrentHelm"] = "2", ["Storefleet:Engine:HelmPath"] = helm.Path, ["Storefleet:Engine:LeaseTtl"] = "00:00:06" };
        await using var a = fixture.StartControlPlane(settings, prefix);
        await using var b = fixture.StartControlPlane(settings, prefix);
        var names = Enumerable.Range(0, 20).Select(i => EngineFixture.NewStoreName($"two{i}")).ToList();

        for (var i = 0; i < names.Count; i++)
        {
            await (i % 2 == 0 ? a : b).CreateStoreAsync(names[i]);
        }

        foreach (var name in names)
        {
            await a.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(90));
        }

        // Both instances did work...
        var steps = a.Activity.Steps.Concat(b.Activity.Steps).Where(s => names.Contains(s.Store)).ToList();
        Assert.Contains(steps, s => s.Instance == a.Services.GetService<Storefleet.Engine.Reconciling.EngineInstance>()!.Id);
        Assert.Contains(steps, s => s.Instance == b.Services.GetService<Storefleet.Engine.Reconciling.EngineInstance>()!.Id);

        // ...and, as helm itself saw it (not the product's log): never two helm processes on one release at
        // once, and every release has exactly the revisions its successful helm runs made.
        var invocations = helm.Invocations();
        foreach (var name in names)
        {
            var runs = invocations.Where(i => i.Release == name).OrderBy(i => i.Started).ToList();
            Assert.NotEmpty(runs);
            Assert.All(runs, r => Assert.NotNull(r.Ended));
            for (var i = 1; i < runs.Count; i++)
            {
                Assert.False(runs[i].Overlaps(runs[i - 1]), $"store {name}: {runs[i - 1]} and {runs[i]} ran at the same time");
            }

            Assert.Single(ReleaseNames($"store-{name}"));
            var revisions = ReleaseRevisions($"store-{name}");
            // Every successful upgrade made a revision, and every revision came from an upgrade run (one stopped by a
            // lapsed lease on a loaded machine may or may not have recorded its revision before SIGTERM).
            var upgrades = runs.Where(r => r.Command == "upgrade").ToList();
            Assert.InRange(revisions.Count, upgrades.Count(r => r.ExitCode == 0), upgrades.Count);
            Assert.Equal(Enumerable.Range(1, revisions.Count), revisions);
        }
    }

    [Fact]
    public async Task StoresWithWorkLeft_AreRecoveredOnStart_WithoutAnyQueueEntry()
    {
        var prefix = EngineFixture.NewPrefix();
        var name = EngineFixture.NewStoreName("boot");
        await using (var idle = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:Enabled"] = "false" }, prefix))
        {
            var now = DateTimeOffset.UtcNow;
            var store = Store.Request(name, new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "local", now);
            await idle.Repository.CreateAsync(store, new StoreEvent(now, StoreEventType.Created, StorePhase.Requested, "recorded before a crash"));
        }

        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ResyncInterval"] = "00:05:00" }, prefix);

        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task AnOrphanNamespace_IsReported_AndNeverDeleted()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ResyncInterval"] = "00:00:00.500" });
        var orphan = EngineFixture.NewStoreName("lost");
        var manifest = $"""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: store-{orphan}
              labels:
                app.kubernetes.io/managed-by: storefleet
                storefleet.io/store: {orphan}
            """;
        var created = await Cli.RunAsync(RepositoryPaths.Kubectl, ["apply", "-f", "-"], new Dictionary<string, string> { ["KUBECONFIG"] = fixture.Api.KubeconfigPath }, manifest);
        Assert.Equal(0, created.ExitCode);

        var report = await Eventually.WaitForAsync(async () =>
        {
            var body = JsonNode.Parse(await plane.CreateClient().GetStringAsync("/api/v1/orphans"))!["items"]!.AsArray();
            return body.FirstOrDefault(o => o!["namespace"]!.GetValue<string>() == $"store-{orphan}");
        }, TimeSpan.FromSeconds(10), "the orphan report");

        Assert.Equal(orphan, report!["store"]!.GetValue<string>());
        Assert.Contains("no record", report["message"]!.GetValue<string>());
        Assert.NotNull(fixture.Api.Store.Get(fixture.Api.State.Catalog.Find(string.Empty, "v1", "namespaces")!, null, $"store-{orphan}"));
    }

    [Fact]
    public async Task AnUnreachableCluster_MakesStoresWaitAndSaySo_AndWorkResumesWhenItReturns()
    {
        var port = FreePort.Next();
        var kubeconfig = Path.Combine(Directory.CreateTempSubdirectory("kubeconfig-").FullName, "config");
        await File.WriteAllTextAsync(kubeconfig, (await File.ReadAllTextAsync(fixture.Api.KubeconfigPath)).Replace(fixture.Api.BaseUrl.Authority, $"127.0.0.1:{port}", StringComparison.Ordinal));
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:Kubeconfig"] = kubeconfig });
        var name = EngineFixture.NewStoreName("dark");

        await plane.CreateStoreAsync(name);
        var waiting = await Eventually.WaitForAsync(
            async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.ClusterReachable),
            TimeSpan.FromSeconds(10), "the store to say it waits for the cluster");
        Assert.False(waiting.Status);
        Assert.Contains("Waiting for the Kubernetes cluster", waiting.Message);
        var ready = await plane.CreateClient().GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var health = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
        Assert.Equal("Degraded", health["checks"]!["kubernetes"]!["status"]!.GetValue<string>());
        Assert.Equal(StorePhase.Provisioning, (await plane.Repository.GetAsync(name))!.Phase);

        await using var cluster = await KubeApiTestServer.StartAsync(port, Path.Combine(Path.GetDirectoryName(kubeconfig)!, "double-config"));
        cluster.Simulation.ReadyDelay = TimeSpan.Zero;

        var store = await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(30));
        Assert.Null(store.Condition(ConditionTypes.ClusterReachable));
    }

    [Fact]
    public async Task WithNoClusterConfigured_StoresWaitAndSayWhatToConfigure()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:Kubeconfig"] = "/nonexistent/kubeconfig" });
        var name = EngineFixture.NewStoreName("nocfg");

        await plane.CreateStoreAsync(name);

        var waiting = await Eventually.WaitForAsync(
            async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.ClusterReachable),
            TimeSpan.FromSeconds(10), "the store to say no cluster is configured");
        Assert.Contains("KUBECONFIG", waiting.Message);
        Assert.Contains(await plane.Repository.GetEventsAsync(name), e => e.Type == StoreEventType.Warning && e.Message.Contains("Waiting for the Kubernetes cluster", StringComparison.Ordinal));
        var health = JsonNode.Parse(await plane.CreateClient().GetStringAsync("/readyz"))!;
        Assert.Equal("Degraded", health["checks"]!["kubernetes"]!["status"]!.GetValue<string>());
    }

    private IReadOnlyList<int> ReleaseRevisions(string ns) => [.. fixture.Api.ReleaseRecordsIn(ns).Select(r => r.Revision)];

    private IReadOnlyList<string> ReleaseNames(string ns) => [.. fixture.Api.ReleaseRecordsIn(ns).Select(r => r.Name).Distinct()];
}

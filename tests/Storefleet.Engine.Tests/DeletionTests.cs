using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>Deletion never depends on workload health: at any phase, repeated, with the namespace gone or stuck.</summary>
public sealed class DeletionTests(EngineFixture fixture) : IClassFixture<EngineFixture>, IDisposable
{
    public void Dispose()
    {
        fixture.Api.Simulation.ClearFaults();
        fixture.Api.Faults.Clear();
    }

    [Fact]
    public async Task DeleteDuringProvisioning_CancelsTheWork_AndLeavesNothing()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("mid");
        var ns = $"store-{name}";
        // Workloads never become ready: the store stays in Provisioning until deleted.
        fixture.Api.Simulation.AddPodFault(Storefleet.Testing.KubeApi.Simulation.PodFault.CrashLoopBackOff, ns);

        await plane.CreateStoreAsync(name);
        await Eventually.WaitUntilAsync(async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.WorkloadsReady)?.Reason == "CrashLoopBackOff",
            TimeSpan.FromSeconds(15), "the store to be provisioning with crashing pods");
        await plane.DeleteStoreAsync(name);

        await plane.WaitForGoneAsync(name, TimeSpan.FromSeconds(20));
        AssertNothingLeft(ns);
    }

    [Fact]
    public async Task DeleteWhileHelmIsInstalling_StopsHelm_AndLeavesNothing()
    {
        using var helm = HelmWrapper.Create();
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:HelmPath"] = helm.Path });
        var name = EngineFixture.NewStoreName("inst");
        var ns = $"store-{name}";
        // The install hangs on the API far longer than this test waits: only a stop by the engine ends it in time.
        var hang = fixture.Api.Faults.AddLatency("PATCH", $"/namespaces/{ns}/deployments/", TimeSpan.FromSeconds(120), times: 1);

        await plane.CreateStoreAsync(name);
        await Eventually.WaitUntilAsync(() => Task.FromResult(hang.Remaining == 0), TimeSpan.FromSeconds(15), "helm to be applying the Deployment");
        var deleteAt = DateTimeOffset.UtcNow;
        await plane.DeleteStoreAsync(name);

        await plane.WaitForGoneAsync(name, TimeSpan.FromSeconds(30));
        AssertNothingLeft(ns);
        var install = Assert.Single(helm.Invocations(), i => i.Command == "upgrade" && i.Release == name);
        Assert.True(install.TerminatedAt >= deleteAt, $"helm was not sent SIGTERM after the delete: {install}");
        Assert.NotNull(install.Ended);
        Assert.NotEqual(0, install.ExitCode);
        Assert.True(install.Ended - deleteAt < TimeSpan.FromSeconds(30), $"helm ran on after the delete: {install}");
        Assert.Contains(helm.Invocations(), i => i.Command == "uninstall" && i.Release == name && i.Started >= install.Ended);
    }

    [Fact]
    public async Task DeleteTwiceInARow_IsAcceptedTwice_AndDeletesOnce()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("twice");
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));

        await plane.DeleteStoreAsync(name);
        await plane.DeleteStoreAsync(name);

        await plane.WaitForGoneAsync(name, TimeSpan.FromSeconds(20));
        AssertNothingLeft($"store-{name}");
        var tombstones = (await plane.Repository.GetEventsAsync(name)).Count(e => e.Type == StoreEventType.Deleted);
        Assert.Equal(1, tombstones);
        var again = await plane.CreateClient().DeleteAsync($"/api/v1/stores/{name}");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task DeleteWithTheNamespaceAlreadyGone_RemovesTheRecord()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("gone");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));
        var kubectl = await Cli.RunAsync(RepositoryPaths.Kubectl, ["delete", "namespace", ns, "--wait=true"], new Dictionary<string, string> { ["KUBECONFIG"] = fixture.Api.KubeconfigPath });
        Assert.Equal(0, kubectl.ExitCode);

        await plane.DeleteStoreAsync(name);

        await plane.WaitForGoneAsync(name, TimeSpan.FromSeconds(20));
        AssertNothingLeft(ns);
    }

    [Fact]
    public async Task ANamespaceStuckTerminating_IsSurfaced_AndDeletionCompletesWhenItIsReleased()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:NamespaceStuckAfter"] = "00:00:01" });
        var name = EngineFixture.NewStoreName("stuck");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));
        fixture.Api.Simulation.HoldNamespace(ns);

        await plane.DeleteStoreAsync(name);
        var stuck = await Eventually.WaitForAsync(
            async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.Namespace) is { Reason: "NamespaceStuckTerminating" } c ? c : null,
            TimeSpan.FromSeconds(15), "the stuck namespace to be surfaced");
        Assert.Contains("Namespace", stuck.Message);
        Assert.Contains(await plane.Repository.GetEventsAsync(name), e => e.Type == StoreEventType.Warning && e.Message.Contains("terminating since", StringComparison.Ordinal));
        Assert.NotNull(await plane.Repository.GetAsync(name));

        fixture.Api.Simulation.ReleaseNamespace(ns);
        await plane.WaitForGoneAsync(name, TimeSpan.FromSeconds(20));
        AssertNothingLeft(ns);
    }

    [Fact]
    public async Task ANameIsReusable_OnlyOnceItsOldNamespaceIsGone()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("reuse");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));
        fixture.Api.Simulation.HoldNamespace(ns);
        await plane.DeleteStoreAsync(name);

        var conflict = await plane.CreateClient().PostAsync("/api/v1/stores", new StringContent($$"""{"name":"{{name}}"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, conflict.StatusCode);

        fixture.Api.Simulation.ReleaseNamespace(ns);
        await plane.WaitForGoneAsync(name, TimeSpan.FromSeconds(20));
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));
    }

    private void AssertNothingLeft(string ns)
    {
        Assert.Empty(fixture.Api.Store.InNamespace(ns));
        Assert.Null(fixture.Api.Store.Get(fixture.Api.State.Catalog.Find(string.Empty, "v1", "namespaces")!, null, ns));
    }
}

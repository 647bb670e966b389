using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// Crash safety: SIGKILL the control plane at random moments while stores provision, restart it, five
/// times — every store ends Ready with exactly one release, at most two revisions, no orphan namespace,
/// and no record lost or duplicated.
/// </summary>
public sealed class ChaosTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    [Fact]
    public async Task AGracefulStop_SendsSigtermToHelmAndWaits_AndTheNextStartFinishesTheStore()
    {
        using var helm = HelmWrapper.Create();
        var settings = Settings(EngineFixture.NewPrefix());
        settings["Storefleet:Engine:HelmPath"] = helm.Path;
        var name = EngineFixture.NewStoreName("term");
        // The install hangs on the API far longer than the stop may take: only the SIGTERM ends it in time.
        var hang = fixture.Api.Faults.AddLatency("PATCH", $"/namespaces/store-{name}/deployments/", TimeSpan.FromSeconds(120), times: 1);
        var plane = await ControlPlaneProcess.StartAsync(settings);
        using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
        {
            (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
        }

        await Eventually.WaitUntilAsync(() => Task.FromResult(hang.Remaining == 0), TimeSpan.FromSeconds(30), "helm to be applying the Deployment");
        var stopAt = DateTimeOffset.UtcNow;
        await plane.TerminateAsync(TimeSpan.FromSeconds(60));
        var exitedAt = DateTimeOffset.UtcNow;

        Assert.True(plane.HasExited);
        Assert.Contains("Application is shutting down", plane.Output);
        var install = Assert.Single(helm.Invocations(), i => i.Command == "upgrade" && i.Release == name);
        Assert.True(install.TerminatedAt >= stopAt, $"helm did not get SIGTERM from the stop: {install}");
        Assert.True(install.Ended is { } ended && ended <= exitedAt, $"the control plane exited before helm did: {install}");
        Assert.NotEqual(0, install.ExitCode);
        await plane.DisposeAsync();

        await using var next = await ControlPlaneProcess.StartAsync(settings);
        using var client = new HttpClient { BaseAddress = next.BaseAddress };
        await Eventually.WaitUntilAsync(async () => JsonNode.Parse(await client.GetStringAsync($"/api/v1/stores/{name}"))!["phase"]!.GetValue<string>() == "ready",
            TimeSpan.FromSeconds(60), "the store to finish after the restart");
    }

    private Dictionary<string, string> Settings(string prefix) => new()
    {
        ["ConnectionStrings:Redis"] = fixture.Redis.ConnectionString,
        ["Storefleet:State:KeyPrefix"] = prefix,
        ["Storefleet:Engine:Kubeconfig"] = fixture.Api.KubeconfigPath,
        ["Storefleet:Engine:HelmPath"] = RepositoryPaths.Helm,
        ["Storefleet:Engine:ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
        ["Storefleet:Engine:LeaseTtl"] = "00:00:02",
        ["Storefleet:Engine:RetryBaseDelay"] = "00:00:00.100",
        ["Storefleet:Engine:RetryMaxDelay"] = "00:00:01",
        ["Storefleet:Engine:HelmTimeout"] = "00:00:30",
        ["Storefleet:Engine:MaxConcurrentHelm"] = "3",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "1000000",
    };

    private static int? HelmChildOf(int pid)
    {
        foreach (var task in Directory.Exists($"/proc/{pid}/task") ? Directory.GetDirectories($"/proc/{pid}/task") : [])
        {
            var path = Path.Combine(task, "children");
            foreach (var child in File.Exists(path) ? File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [])
            {
                var cmdline = $"/proc/{child}/cmdline";
                if (File.Exists(cmdline) && File.ReadAllText(cmdline).Split('\0')[0].EndsWith("helm", StringComparison.Ordinal))
                {
                    return int.Parse(child, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        return null;
    }

    [Fact]
    public async Task KillingTheControlPlaneFiveTimesWhileTenStoresProvision_LosesNothing()
    {
        var settings = Settings(EngineFixture.NewPrefix());
        settings["Storefleet:Engine:HelmTimeout"] = "00:01:00";
        // Slow the API a little so kills land in the middle of helm runs and steps.
        var latency = fixture.Api.Faults.AddLatency("*", "^/api", TimeSpan.FromMilliseconds(15));
        var names = Enumerable.Range(0, 10).Select(i => EngineFixture.NewStoreName($"chaos{i}")).ToList();
        var random = new Random(20261126);
        try
        {
            var plane = await ControlPlaneProcess.StartAsync(settings);
            using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
            {
                foreach (var name in names)
                {
                    (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
                }
            }

            var killedMidWork = 0;
            for (var round = 0; round < 5; round++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(200, 1200)));
                using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
                {
                    var phases = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?limit=100"))!["items"]!.AsArray().Select(s => s!["phase"]!.GetValue<string>()).ToList();
                    var inProgress = phases.Count(p => p != "ready");
                    killedMidWork += inProgress > 0 ? 1 : 0;
                    Console.WriteLine($"chaos round {round + 1}: SIGKILL with {inProgress} of {phases.Count} stores still in progress");
                }

                await plane.KillAsync();
                await plane.DisposeAsync();
                plane = await ControlPlaneProcess.StartAsync(settings);
            }

            Assert.True(killedMidWork >= 3, $"only {killedMidWork} of 5 kills hit stores in progress");
            await using (plane)
            {
                using var http = new HttpClient { BaseAddress = plane.BaseAddress };
                await Eventually.WaitUntilAsync(async () =>
                {
                    var stores = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?limit=100"))!["items"]!.AsArray();
                    return stores.Count(s => s!["phase"]!.GetValue<string>() == "ready") == names.Count;
                }, TimeSpan.FromSeconds(120), "all ten stores to be Ready after five crashes");

                var listed = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?limit=100"))!["items"]!.AsArray()
                    .Select(s => s!["name"]!.GetValue<string>()).Order().ToList();
                Assert.Equal(names.Order(), listed);
            }
        }
        finally
        {
            fixture.Api.Faults.Remove(latency);
        }

        foreach (var name in names)
        {
            var releases = fixture.Api.Store.InNamespace($"store-{name}").Select(o => o.Object)
                .Where(o => o["kind"]?.GetValue<string>() == "Secret" && o["metadata"]!["labels"]?["owner"]?.GetValue<string>() == "helm")
                .Select(o => (Name: o["metadata"]!["labels"]!["name"]!.GetValue<string>(), Status: o["metadata"]!["labels"]!["status"]!.GetValue<string>()))
                .ToList();
            Assert.Equal([name], releases.Select(r => r.Name).Distinct());
            Assert.True(releases.Count <= 2, $"{name}: {releases.Count} revisions");
            Assert.Contains(releases, r => r.Status == "deployed");
        }

        var ours = fixture.Api.Store.List(fixture.Api.State.Catalog.Find(string.Empty, "v1", "namespaces")!, null).Items
            .Where(n => n["metadata"]!["labels"]?["app.kubernetes.io/managed-by"]?.GetValue<string>() == "storefleet")
            .Select(n => n["metadata"]!["name"]!.GetValue<string>())
            .Where(n => n.StartsWith("store-chaos", StringComparison.Ordinal))
            .Order().ToList();
        Assert.Equal(names.Select(n => $"store-{n}").Order(), ours);
    }
}

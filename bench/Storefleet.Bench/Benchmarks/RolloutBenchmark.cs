using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// Fleet rollout overhead: N stores installed with an older chart (0.0.9, WordPress 6.8.2) are moved to the repository's
/// chart (0.1.0, WordPress 6.8.3) through a rollout (no canary, one batch, <c>maxInFlight</c> = concurrency), against the
/// same N <c>helm upgrade</c> + <c>helm test</c> (the rollout's analysis) of stores installed the same way, run by a plain
/// script (xargs -P) at the same concurrency with the same values (the upgrade Job included). The test double runs Jobs
/// and pods instantly, so the figure is the control plane's own overhead: asking, pinning, helm, waiting for readiness and
/// the upgrade Job, the smoke test, recording. Both fleets are installed before either upgrade is timed, so both run
/// against the same double holding the same objects. Goal: ratio ≤ 1.20.
/// </summary>
public static class RolloutBenchmark
{
    public static async Task<int> RunAsync(int stores, int concurrency)
    {
        var goals = new Goals();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var api = await KubeApiTestServer.StartAsync();
        api.Simulation.ReadyDelay = TimeSpan.Zero;
        using var olderCharts = ChartCopy.Create("0.0.9", values => ChartCopy.Replace(values, "tag: \"6.8.3-php8.3-apache\"", "tag: \"6.8.2-php8.3-apache\""));
        var older = olderCharts.Directory;
        var environment = new Dictionary<string, string> { ["KUBECONFIG"] = api.KubeconfigPath };
        Console.WriteLine($"Storefleet rollout benchmark: {stores} stores, concurrency {concurrency}, helm {RepositoryPaths.Helm}");

        // Both fleets are installed first (not timed), so both timed upgrades run against the same double holding the same
        // objects: the baseline's stores by hand with the older chart, the rollout's by a control plane shipping it.
        var baselineUpgrade = await InstallByHandAsync(stores, concurrency, older, environment);
        var settings = BenchSettings.ControlPlane(redis, api, concurrency);
        var names = Enumerable.Range(0, stores).Select(i => $"roll{i:000}").ToList();
        await using (var installer = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>(settings) { ["Storefleet__Engine__ChartsDirectory"] = older }))
        {
            using var http = new HttpClient { BaseAddress = installer.BaseAddress };
            foreach (var name in names)
            {
                (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
            }

            await BenchWait.AllReadyAsync(http, stores, exclude: null, timeout: TimeSpan.FromMinutes(10));
            await installer.TerminateAsync(TimeSpan.FromSeconds(60));
        }

        // The baseline: the same upgrade by hand.
        var baseline = Stopwatch.StartNew();
        (await Cli.RunAsync("/bin/bash", [baselineUpgrade], environment, timeout: TimeSpan.FromMinutes(30))).EnsureSuccessStatusCode();
        baseline.Stop();
        Goals.Info("plain helm upgrade script", baseline.Elapsed.TotalSeconds, "s");

        await using var server = await ControlPlaneProcess.StartAsync(settings);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var timed = Stopwatch.StartNew();
        var created = await client.PostAsJsonAsync("/api/v1/rollouts", new { strategy = new { canary = 0, batchSize = stores, maxInFlight = concurrency } });
        created.EnsureSuccessStatusCode();
        var id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var rollout = await WaitForFinishAsync(client, id, TimeSpan.FromSeconds(Math.Max(300, baseline.Elapsed.TotalSeconds * 10)));
        timed.Stop();
        if (rollout["state"]!.GetValue<string>() != "succeeded" || rollout["counts"]!["succeeded"]!.GetValue<int>() != stores)
        {
            throw new InvalidOperationException($"the rollout did not upgrade every store: {rollout["state"]} {rollout["counts"]!.ToJsonString()} {rollout["reason"]}");
        }

        Goals.Info("rollout (create → succeeded)", timed.Elapsed.TotalSeconds, "s");
        var durations = rollout["stores"]!.AsArray().Select(s => s!["durationSeconds"]!.GetValue<double>()).Order().ToList();
        Goals.Info("per store, median", durations[durations.Count / 2], "s");
        Goals.Info("per store, p95", durations[(int)(durations.Count * 0.95)], "s");
        await TimeBreakdown.PrintAsync(client, names[stores / 2]);
        goals.AtMost("ratio rollout / plain helm", timed.Elapsed / baseline.Elapsed, 1.20, "x");
        goals.Summary();
        return goals.ExitCode;
    }

    private static async Task<JsonNode> WaitForFinishAsync(HttpClient client, string id, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var rollout = JsonNode.Parse(await client.GetStringAsync($"/api/v1/rollouts/{id}"))!;
            if (rollout["state"]!.GetValue<string>() != "running")
            {
                return rollout;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the rollout was still running after {timeout.TotalSeconds:0} s: {rollout["counts"]!.ToJsonString()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Installs N stores with the older chart by hand (not timed) and returns the script that makes the same upgrade the
    /// engine makes: the upgrade (its Jobs run instantly on the double), then helm test.
    /// </summary>
    private static async Task<string> InstallByHandAsync(int stores, int concurrency, string olderCharts, Dictionary<string, string> environment)
    {
        var names = Enumerable.Range(0, stores).Select(i => $"base{i:000}").ToList();
        await BenchFleet.CreateNamespacesAndSecretsAsync(names, environment);
        var directory = Directory.CreateTempSubdirectory("bench-rollout-").FullName;
        var newer = Path.Combine(RepositoryPaths.Root, "charts", "store");
        var install = await ScriptAsync(directory, "install.sh", names, concurrency, Path.Combine(olderCharts, "store"), string.Empty);
        (await Cli.RunAsync("/bin/bash", [install], environment, timeout: TimeSpan.FromMinutes(30))).EnsureSuccessStatusCode();
        return await ScriptAsync(directory, "upgrade.sh", names, concurrency, newer, "--set upgrade.generation=2 --set upgrade.snapshot=true --server-side=true --force-conflicts",
            then: $"'{RepositoryPaths.Helm}' test {{}} --namespace store-{{}} --timeout 300s --logs >/dev/null");
    }

    private static async Task<string> ScriptAsync(string directory, string file, IReadOnlyList<string> names, int concurrency, string chart, string extra, string? then = null)
    {
        var script = Path.Combine(directory, file);
        await File.WriteAllTextAsync(script, $$"""
            #!/bin/bash
            # The plain way: helm upgrade --install for every store{{(then is null ? string.Empty : ", then helm test")}}, {{concurrency}} at a time.
            set -euo pipefail
            printf '%s\n' {{string.Join(' ', names)}} | xargs -P {{concurrency}} -I{} sh -c "\
              '{{RepositoryPaths.Helm}}' upgrade --install {} '{{chart}}' --namespace store-{} \
                --values '{{chart}}/values-local.yaml' --set credentials.existingSecret={}-credentials {{extra}} \
                --history-max 5 --timeout 300s >/dev/null{{(then is null ? string.Empty : " && " + then)}}"
            """);
        return script;
    }
}

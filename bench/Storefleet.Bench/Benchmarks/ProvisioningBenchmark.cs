using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// Provisioning throughput: N stores through the control plane vs the same N <c>helm upgrade --install</c>
/// from a plain script (xargs -P), same concurrency, same chart and values, against the Kubernetes API
/// test double. Goals: ratio ≤ 1.15, peak RSS ≤ 300 MB. CPU is the control plane's own over the timed window.
/// With <c>--followers N</c>, a second batch of the same size is provisioned while N clients hold watch streams
/// (<c>GET /api/v1/stores?watch=true</c>) open, and its ratio is held to ≤ 1.05 × the first batch's.
/// </summary>
public static class ProvisioningBenchmark
{
    public static async Task<int> RunAsync(int stores, int concurrency, int followers = 0)
    {
        var goals = new Goals();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var api = await KubeApiTestServer.StartAsync();
        api.Simulation.ReadyDelay = TimeSpan.Zero;
        var chart = Path.Combine(RepositoryPaths.Root, "charts", "store");
        var environment = new Dictionary<string, string> { ["KUBECONFIG"] = api.KubeconfigPath };

        Console.WriteLine($"Storefleet provisioning benchmark: {stores} stores, concurrency {concurrency}, helm {RepositoryPaths.Helm}");
        var baseline = await PlainHelmAsync(stores, concurrency, chart, environment);
        Goals.Info("plain helm script", baseline.TotalSeconds, "s");

        await using var server = await ControlPlaneProcess.StartAsync(BenchSettings.ControlPlane(redis, api, concurrency));
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        // Warm-up (not timed): one store through every step, as a long-running control plane would have done.
        (await http.PostAsJsonAsync("/api/v1/stores", new { name = "warmup" })).EnsureSuccessStatusCode();
        await Eventually.WaitUntilAsync(async () => JsonNode.Parse(await http.GetStringAsync("/api/v1/stores/warmup"))!["phase"]!.GetValue<string>() == "ready", TimeSpan.FromSeconds(60), "the warm-up store");

        var cpuBefore = ProcessCpu.Seconds(server.Pid);
        var timed = await ProvisionAsync(http, "plane", stores, ready: 1, baseline);
        var cpu = ProcessCpu.Seconds(server.Pid) - cpuBefore;
        var rss = server.PeakResidentBytes() / (1024.0 * 1024.0);

        Goals.Info("control plane (create → all Ready)", timed.TotalSeconds, "s");
        goals.AtMost("ratio control plane / plain helm", timed / baseline, 1.15, "x");
        goals.AtMost("peak RSS", rss, 300, "MB", "0");
        Goals.Info("control plane CPU (timed window)", cpu, "s", "0.0");

        if (followers > 0)
        {
            // The same work again, with clients watching every change of every store over Server-Sent Events.
            var streams = await Task.WhenAll(Enumerable.Range(0, followers).Select(_ => SseStream.OpenAsync(new HttpClient { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan }, "/api/v1/stores?watch=true")));
            var watched = await ProvisionAsync(http, "watched", stores, ready: 1 + stores, baseline);
            var received = 0;
            foreach (var stream in streams)
            {
                received += await DrainAsync(stream);
                await stream.DisposeAsync();
            }

            Goals.Info($"with {followers} watch streams open", watched.TotalSeconds, "s");
            Goals.Info("events the watchers received", received, "", "0");
            goals.AtMost("ratio with watchers / without", watched / timed, 1.05, "x");
        }

        goals.Summary();
        return goals.ExitCode;
    }

    /// <summary>Creates <paramref name="stores"/> stores named <paramref name="prefix"/>NNN and waits until all are Ready; the time it took.</summary>
    private static async Task<TimeSpan> ProvisionAsync(HttpClient http, string prefix, int stores, int ready, TimeSpan baseline)
    {
        var timed = Stopwatch.StartNew();
        foreach (var name in Enumerable.Range(0, stores).Select(i => $"{prefix}{i:000}"))
        {
            (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
        }

        // Bounded: far above what the plain script took, so a stuck engine ends the run with an error.
        await BenchWait.AllReadyAsync(http, stores + ready - 1, exclude: "warmup", timeout: TimeSpan.FromSeconds(Math.Max(120, baseline.TotalSeconds * 10)));
        return timed.Elapsed;
    }

    /// <summary>Counts the events a watch stream has delivered so far.</summary>
    private static async Task<int> DrainAsync(SseStream stream)
    {
        var count = 0;
        try
        {
            while (true)
            {
                await stream.NextAsync(TimeSpan.FromMilliseconds(200));
                count++;
            }
        }
        catch (TimeoutException)
        {
            return count;
        }
        catch (EndOfStreamException)
        {
            return count;
        }
    }

    /// <summary>The baseline: namespaces and Secrets exist (as the engine would make them); only helm is timed.</summary>
    private static async Task<TimeSpan> PlainHelmAsync(int stores, int concurrency, string chart, Dictionary<string, string> environment)
    {
        var names = Enumerable.Range(0, stores).Select(i => $"base{i:000}").ToList();
        await BenchFleet.CreateNamespacesAndSecretsAsync(names, environment);
        var script = Path.Combine(Directory.CreateTempSubdirectory("bench-").FullName, "baseline.sh");
        await File.WriteAllTextAsync(script, $$"""
            #!/bin/bash
            # The plain way: helm upgrade --install for every store, {{concurrency}} at a time.
            set -euo pipefail
            printf '%s\n' {{string.Join(' ', names)}} | xargs -P {{concurrency}} -I{} \
              '{{RepositoryPaths.Helm}}' upgrade --install {} '{{chart}}' --namespace store-{} \
                --values '{{chart}}/values-local.yaml' --set credentials.existingSecret={}-credentials \
                --history-max 5 --timeout 300s >/dev/null
            """);

        // Warm-up (not timed): helm's binary and the chart in the page cache.
        (await Cli.RunAsync(RepositoryPaths.Helm, ["template", "warm", chart, "--values", $"{chart}/values-local.yaml"], environment)).EnsureSuccessStatusCode();
        var baseline = Stopwatch.StartNew();
        (await Cli.RunAsync("/bin/bash", [script], environment, timeout: TimeSpan.FromMinutes(30))).EnsureSuccessStatusCode();
        return baseline.Elapsed;
    }
}

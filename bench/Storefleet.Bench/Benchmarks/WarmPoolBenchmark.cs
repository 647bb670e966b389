using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// POST → Ready for a store claimed from the warm pool against a store provisioned from scratch, on the same test double
/// in the same run. The double's workloads and Jobs take the time they take on a real cluster, in proportion (scaled by
/// <see cref="Scale"/> so the run stays short): a new store's MySQL and WordPress ready after 60 s (MySQL initialising its
/// data directory, WordPress copying itself onto its volume), then its bootstrap Job's own work 90 s (WooCommerce and
/// Storefront downloaded and installed, pages, payment, sample products; the Job waits for the workloads first, as the
/// real one does); a member's personalisation Job 8 s (pod start with a cached image,
/// about a dozen WP-CLI calls, the smoke test). helm is real and not scaled. The cold stores are created together, the warm
/// ones one after another. Goals: warm ≤ 1/10 of cold; the claim path's own overhead (POST until the member is claimed and
/// adopted, so without the personalisation Job and its helm upgrade) ≤ 1 s.
/// </summary>
public static class WarmPoolBenchmark
{
    private const double Scale = 0.5;
    private static readonly TimeSpan Workloads = TimeSpan.FromSeconds(60 * Scale);
    private static readonly TimeSpan ColdBootstrap = TimeSpan.FromSeconds(90 * Scale);
    private static readonly TimeSpan Personalisation = TimeSpan.FromSeconds(8 * Scale);

    public static async Task<int> RunAsync(int stores)
    {
        var goals = new Goals();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var api = await KubeApiTestServer.StartAsync();
        api.Simulation.ReadyDelay = Workloads;
        api.Simulation.JobDurationFor = job =>
        {
            var name = job["metadata"]!["name"]!.GetValue<string>();
            if (!name.Contains("-bootstrap-", StringComparison.Ordinal))
            {
                return TimeSpan.FromMilliseconds(100);
            }

            var personalising = job["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray().Any(e => e!["name"]!.GetValue<string>() == "PERSONALISE_FROM");
            // A new store's bootstrap Job is created with the workloads and first waits for them (the database answering,
            // WordPress's files on the volume), then works; a personalisation Job finds them ready.
            return personalising ? Personalisation : Workloads + ColdBootstrap;
        };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Storefleet warm-pool benchmark: {stores} warm and {stores} cold stores; simulated (×{Scale}): workloads {Workloads.TotalSeconds} s, bootstrap {ColdBootstrap.TotalSeconds} s, personalisation {Personalisation.TotalSeconds} s; helm {RepositoryPaths.Helm}"));

        var settings = BenchSettings.ControlPlane(redis, api, concurrency: 4);
        settings["Storefleet__Engine__WarmPool__small"] = stores.ToString(CultureInfo.InvariantCulture);
        settings["Storefleet__Engine__WarmPoolKeeping__Interval"] = "00:00:01";
        settings["Storefleet__Engine__WarmPoolKeeping__MaxProvisioning"] = stores.ToString(CultureInfo.InvariantCulture);
        var warm = new List<TimeSpan>();
        var overheads = new List<TimeSpan>();
        await using (var plane = await ControlPlaneProcess.StartAsync(settings))
        {
            using var http = new HttpClient { BaseAddress = plane.BaseAddress };
            await WaitForIdleAsync(http, stores, TimeSpan.FromMinutes(10));
            for (var i = 0; i < stores; i++)
            {
                var name = $"warm{i:000}";
                var clock = Stopwatch.StartNew();
                (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
                var ready = await WaitForReadyAsync(http, name, TimeSpan.FromMinutes(5));
                warm.Add(clock.Elapsed);
                if (ready["claimedFromPool"] is null)
                {
                    throw new InvalidOperationException($"store {name} was not claimed from the pool: {ready.ToJsonString()}");
                }

                var events = JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores/{name}/events"))!["items"]!.AsArray();
                var created = Time(events, "Store requested");
                var adopted = Time(events, "Warm-pool member");
                overheads.Add(adopted - created);
            }

            await plane.TerminateAsync(TimeSpan.FromSeconds(60));
        }

        settings.Remove("Storefleet__Engine__WarmPool__small");
        settings["Storefleet__State__KeyPrefix"] = $"bench{Guid.NewGuid():N}:";
        var cold = new List<TimeSpan>();
        await using (var plane = await ControlPlaneProcess.StartAsync(settings))
        {
            using var http = new HttpClient { BaseAddress = plane.BaseAddress };
            await Task.WhenAll(Enumerable.Range(0, stores).Select(async i =>
            {
                var name = $"cold{i:000}";
                var clock = Stopwatch.StartNew();
                (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
                var ready = await WaitForReadyAsync(http, name, TimeSpan.FromMinutes(10));
                lock (cold)
                {
                    cold.Add(clock.Elapsed);
                }

                if (ready["claimedFromPool"] is not null)
                {
                    throw new InvalidOperationException($"store {name} was claimed, not provisioned cold");
                }
            }));
        }

        var warmMedian = Median(warm);
        var coldMedian = Median(cold);
        Goals.Info("cold: POST → Ready, median", coldMedian.TotalSeconds, "s");
        Goals.Info("warm: POST → Ready, median", warmMedian.TotalSeconds, "s");
        Goals.Info("warm: personalisation Job (simulated)", Personalisation.TotalSeconds, "s");
        goals.AtMost("ratio warm / cold", warmMedian / coldMedian, 0.10, "x", "0.000");
        goals.AtMost("claim overhead (POST → adopted), max", overheads.Max().TotalSeconds, 1.0, "s", "0.000");
        goals.Summary();
        return goals.ExitCode;
    }

    private static DateTimeOffset Time(JsonArray events, string startsWith) =>
        events.First(e => e!["message"]!.GetValue<string>().StartsWith(startsWith, StringComparison.Ordinal))!["time"]!.GetValue<DateTimeOffset>();

    private static TimeSpan Median(List<TimeSpan> values) => values.Order().ElementAt(values.Count / 2);

    private static async Task<JsonNode> WaitForReadyAsync(HttpClient http, string name, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var store = JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores/{name}"))!;
            var phase = store["phase"]!.GetValue<string>();
            if (phase == "ready")
            {
                return store;
            }

            if (phase == "failed" || clock.Elapsed > timeout)
            {
                throw new InvalidOperationException($"store {name} is {phase} after {clock.Elapsed.TotalSeconds:0} s: {store.ToJsonString()}");
            }

            await Task.Delay(20);
        }
    }

    private static async Task WaitForIdleAsync(HttpClient http, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var small = JsonNode.Parse(await http.GetStringAsync("/api/v1/pool"))!["plans"]!.AsArray().Single(p => p!["plan"]!.GetValue<string>() == "small")!;
            if (small["idle"]!.GetValue<int>() >= count)
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the pool had {small["idle"]} idle members after {timeout.TotalSeconds:0} s: {small.ToJsonString()}");
            }

            await Task.Delay(200);
        }
    }
}

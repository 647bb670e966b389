using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// What telemetry costs: the same provisioning work (N stores, the real helm, the Kubernetes API test double) through a
/// control plane with metrics and tracing on (every span recorded; <c>/metrics</c> scraped once a second, 15 to 30 times
/// more often than a usual Prometheus) and through one with <c>Storefleet:Telemetry:Enabled=false</c>, in the same
/// process, alternating the order each round so drift on the machine falls on both, after one uncounted warm-up run.
/// Goal: on / off ≤ 1.03.
/// </summary>
public static class TelemetryBenchmark
{
    public static async Task<int> RunAsync(int stores, int concurrency, int rounds)
    {
        var goals = new Goals();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var api = await KubeApiTestServer.StartAsync();
        api.Simulation.ReadyDelay = TimeSpan.Zero;
        Console.WriteLine($"Storefleet telemetry overhead benchmark: {stores} stores per run, concurrency {concurrency}, {rounds} rounds of off + on");

        // Not counted: the first control plane of the process meets cold caches (its binaries, helm, the chart).
        var (cold, _) = await RunOnceAsync(redis, api, concurrency, stores, telemetry: true, "cold");
        Goals.Info("warm-up run (not counted)", cold.TotalSeconds, "s");

        var on = TimeSpan.Zero;
        var off = TimeSpan.Zero;
        var scrapes = 0;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var telemetry in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var (elapsed, scraped) = await RunOnceAsync(redis, api, concurrency, stores, telemetry, $"r{round}{(telemetry ? "on" : "off")}");
                Goals.Info($"round {round + 1}, telemetry {(telemetry ? "on" : "off")}", elapsed.TotalSeconds, "s");
                if (telemetry)
                {
                    on += elapsed;
                    scrapes += scraped;
                }
                else
                {
                    off += elapsed;
                }
            }
        }

        Goals.Info("/metrics scrapes answered while on", scrapes, "", "0");
        goals.AtMost("ratio telemetry on / off", on / off, 1.03, "x", "0.000");
        goals.Summary();
        return goals.ExitCode;
    }

    private static async Task<(TimeSpan Elapsed, int Scrapes)> RunOnceAsync(RedisServerProcess redis, KubeApiTestServer api, int concurrency, int stores, bool telemetry, string prefix)
    {
        var settings = BenchSettings.ControlPlane(redis, api, concurrency);
        settings["Storefleet__Telemetry__Enabled"] = telemetry ? "true" : "false";
        await using var server = await ControlPlaneProcess.StartAsync(settings);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        // Warm-up (not timed): one store through every step.
        var warmup = $"{prefix}warm";
        (await http.PostAsJsonAsync("/api/v1/stores", new { name = warmup })).EnsureSuccessStatusCode();
        await Eventually.WaitUntilAsync(async () => JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores/{warmup}"))!["phase"]!.GetValue<string>() == "ready",
            TimeSpan.FromSeconds(60), "the warm-up store");

        using var stopScraping = new CancellationTokenSource();
        var scraper = telemetry ? ScrapeAsync(http, stopScraping.Token) : Task.FromResult(0);
        var timed = Stopwatch.StartNew();
        foreach (var name in Enumerable.Range(0, stores).Select(i => $"{prefix}{i:000}"))
        {
            (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
        }

        await BenchWait.AllReadyAsync(http, stores, exclude: warmup, timeout: TimeSpan.FromMinutes(10));
        var elapsed = timed.Elapsed;
        await stopScraping.CancelAsync();
        return (elapsed, await scraper);
    }

    /// <summary>Scrapes <c>/metrics</c> once a second, as an eager Prometheus would; how many scrapes succeeded.</summary>
    private static async Task<int> ScrapeAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var answered = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                using var response = await http.GetAsync("/metrics", cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.IsSuccessStatusCode && body.Contains("storefleet_", StringComparison.Ordinal))
                {
                    answered++;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return answered;
    }
}

using System.Diagnostics;
using System.Net.Http.Json;
using Storefleet.Testing;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// What waiting for a replica (Redis WAIT, <c>Storefleet:State:MinReplicaAcknowledgements</c>) costs a create: the same
/// N creates, one at a time, through a control plane on Redis Sentinel (a primary, two replicas, three Sentinels on
/// loopback) with the wait off (the baseline) and on, in the same run. Goal: the wait adds at most 5 ms to a create's p50.
/// </summary>
public static class ReplicaWaitBenchmark
{
    public static async Task<int> RunAsync(int creates)
    {
        var goals = new Goals();
        await using var redis = await RedisSentinelGroup.StartAsync();
        Console.WriteLine($"Storefleet replica-wait benchmark: {creates} creates one at a time on Redis Sentinel (primary + 2 replicas on loopback)");

        var off = await CreatesAsync(redis, creates, acknowledgements: 0);
        var on = await CreatesAsync(redis, creates, acknowledgements: 1);
        Goals.Info("create p50, no wait (baseline)", off[creates / 2], "ms");
        Goals.Info("create p99, no wait (baseline)", off[(int)(creates * 0.99) - 1], "ms");
        Goals.Info("create p50, WAIT 1 replica", on[creates / 2], "ms");
        Goals.Info("create p99, WAIT 1 replica", on[(int)(creates * 0.99) - 1], "ms");
        goals.AtMost("added to a create's p50 by WAIT", on[creates / 2] - off[creates / 2], 5, "ms");
        goals.Summary();
        return goals.ExitCode;
    }

    private static async Task<double[]> CreatesAsync(RedisSentinelGroup redis, int creates, int acknowledgements)
    {
        await using var server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = $"wait{Guid.NewGuid():N}:",
            ["Storefleet__State__MinReplicaAcknowledgements"] = acknowledgements.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Storefleet__Engine__Enabled"] = "false",
            ["Storefleet__Access__MaxStoresTotal"] = "1000000",
            ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "100000",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        for (var i = 0; i < 20; i++)
        {
            (await http.PostAsJsonAsync("/api/v1/stores", new { name = $"warm-{acknowledgements}-{i}" })).EnsureSuccessStatusCode();
        }

        var latencies = new double[creates];
        for (var i = 0; i < creates; i++)
        {
            var started = Stopwatch.GetTimestamp();
            (await http.PostAsJsonAsync("/api/v1/stores", new { name = $"wait-{acknowledgements}-{i}" })).EnsureSuccessStatusCode();
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(latencies);
        return latencies;
    }
}

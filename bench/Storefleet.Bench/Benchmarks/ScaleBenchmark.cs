using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using StackExchange.Redis;
using Storefleet.Testing;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// The control plane's own costs with a large fleet: N store records created through the API (engine off: this
/// measures the API, the dashboard and Redis, not provisioning) on redis-server, then an open-loop load of mixed
/// requests at a fixed rate — single reads, list pages, name searches and creates — for a window. Printed: p50/p99
/// per route (exact, from every latency), errors, the dashboard's first page, the control plane's peak RSS, Redis
/// memory per store and its extrapolation to a million stores. Goals (the issue's): p99 ≤ 20 ms per route with no
/// error, the dashboard's first page ≤ 50 ms, RSS ≤ 400 MB; and (observability) a <c>/metrics</c> scrape ≤ 50 ms.
/// </summary>
public static class ScaleBenchmark
{
    private static readonly string[] Words = ["alpine", "amber", "berry", "bloom", "cedar", "coast", "crest", "dune", "ember", "fable", "fern", "harbor", "hazel", "iris", "juniper", "lumen", "maple", "meadow", "nova", "ocean"];
    private static readonly string[] Kinds = ["shop", "store", "market", "boutique", "goods", "crafts", "books", "tea", "coffee", "wear"];

    public static async Task<int> RunAsync(int stores, int rate, int windowSeconds)
    {
        var goals = new Goals();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var prefix = $"scale{Guid.NewGuid():N}:";
        await using var server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = prefix,
            ["Storefleet__Engine__Enabled"] = "false",
            ["Storefleet__Access__MaxStoresTotal"] = "1000000",
            ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "100000",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Console.WriteLine($"Storefleet scale benchmark: {stores} stores on redis-server, then {rate} requests/s of mixed reads, list pages, name searches and creates for {windowSeconds} s");

        var memoryBefore = await UsedMemoryAsync(connection);
        var fill = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < stores; i = Interlocked.Increment(ref next))
            {
                (await http.PostAsJsonAsync("/api/v1/stores", new { name = Name(i) })).EnsureSuccessStatusCode();
            }
        }));
        var perStore = (await UsedMemoryAsync(connection) - memoryBefore) / (double)stores;
        Goals.Info($"created {stores} stores through the API", fill.Elapsed.TotalSeconds, "s", "0.0");
        Goals.Info("Redis memory per store", perStore, "bytes", "0");
        Goals.Info("extrapolated to 1 000 000 stores", perStore * 1_000_000 / (1024.0 * 1024 * 1024), "GiB", "0.00");

        // Warm-up (not measured): every route a few times, as a running control plane would have served them.
        await LoadAsync(http, stores, rate, TimeSpan.FromSeconds(3), new ConcurrentQueue<Sample>(), stores);
        var samples = new ConcurrentQueue<Sample>();
        await LoadAsync(http, stores, rate, TimeSpan.FromSeconds(windowSeconds), samples, stores + 100_000);

        foreach (var route in samples.GroupBy(s => s.Route).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var latencies = route.Select(s => s.Milliseconds).Order().ToArray();
            Goals.Info($"{route.Key} p50 ({latencies.Length} requests)", Percentile(latencies, 0.50), "ms", "0.0");
            goals.AtMost($"{route.Key} p99", Percentile(latencies, 0.99), 20, "ms", "0.0");
        }

        goals.AtMost("errors (non-2xx or no answer)", samples.Count(s => !s.Ok), 0, "", "0");
        Goals.Info("achieved rate", samples.Count / (double)windowSeconds, "req/s", "0");

        var page = new List<double>();
        for (var i = 0; i < 30; i++)
        {
            var started = Stopwatch.GetTimestamp();
            (await http.GetAsync("/")).EnsureSuccessStatusCode();
            page.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var scrapes = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var started = Stopwatch.GetTimestamp();
            (await http.GetAsync("/metrics")).EnsureSuccessStatusCode();
            scrapes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        goals.AtMost("/metrics scrape p95", Percentile([.. scrapes.Order()], 0.95), 50, "ms", "0.0");
        var sortedPage = page.Order().ToArray();
        Goals.Info("dashboard first page p50", Percentile(sortedPage, 0.5), "ms", "0.0");
        goals.AtMost("dashboard first page p95", Percentile(sortedPage, 0.95), 50, "ms", "0.0");
        goals.AtMost("control plane peak RSS", server.PeakResidentBytes() / (1024.0 * 1024.0), 400, "MB", "0");
        goals.Summary();
        return goals.ExitCode;
    }

    private sealed record Sample(string Route, double Milliseconds, bool Ok);

    /// <summary>Open loop: request k starts at k / rate seconds whatever the earlier ones are doing, so a slow answer cannot hide queueing.</summary>
    private static async Task LoadAsync(HttpClient http, int existing, int rate, TimeSpan window, ConcurrentQueue<Sample> samples, int firstNewName)
    {
        var random = new Random(42);
        var running = new List<Task>();
        var started = Stopwatch.StartNew();
        var count = (int)(rate * window.TotalSeconds);
        for (var k = 0; k < count; k++)
        {
            var due = TimeSpan.FromSeconds(k / (double)rate);
            if (due > started.Elapsed)
            {
                await Task.Delay(due - started.Elapsed);
            }

            var pick = k % 10;
            var (route, request) = pick switch
            {
                < 5 => ("GET /stores/{name}", new HttpRequestMessage(HttpMethod.Get, $"/api/v1/stores/{Name(random.Next(existing))}")),
                < 7 => ("GET /stores (page)", new HttpRequestMessage(HttpMethod.Get, random.Next(2) == 0 ? "/api/v1/stores?limit=50" : "/api/v1/stores?limit=50&phase=requested")),
                < 9 => ("GET /stores?name=", new HttpRequestMessage(HttpMethod.Get, $"/api/v1/stores?limit=50&name={Search(random)}")),
                _ => ("POST /stores", new HttpRequestMessage(HttpMethod.Post, "/api/v1/stores") { Content = JsonContent.Create(new { name = Name(firstNewName + k) }) }),
            };
            running.Add(SendAsync(http, route, request, samples));
        }

        await Task.WhenAll(running);
    }

    private static async Task SendAsync(HttpClient http, string route, HttpRequestMessage request, ConcurrentQueue<Sample> samples)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            samples.Enqueue(new Sample(route, Stopwatch.GetElapsedTime(started).TotalMilliseconds, response.IsSuccessStatusCode));
        }
        catch (HttpRequestException)
        {
            samples.Enqueue(new Sample(route, Stopwatch.GetElapsedTime(started).TotalMilliseconds, false));
        }
        finally
        {
            request.Dispose();
        }
    }

    /// <summary>Names like <c>amber-tea-1234</c>: words shared by many stores, so searches return real pages.</summary>
    private static string Name(int i) => $"{Words[i % Words.Length]}-{Kinds[i / Words.Length % Kinds.Length]}-{i.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>What a person types: the start of a word (2–5 letters) or a whole name's start.</summary>
    private static string Search(Random random)
    {
        var word = random.Next(2) == 0 ? Words[random.Next(Words.Length)] : Kinds[random.Next(Kinds.Length)];
        return word[..Math.Min(word.Length, random.Next(2, 6))];
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static async Task<long> UsedMemoryAsync(ConnectionMultiplexer connection)
    {
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var info = (await server.InfoAsync("memory")).SelectMany(g => g).First(kv => kv.Key == "used_memory");
        return long.Parse(info.Value, CultureInfo.InvariantCulture);
    }
}

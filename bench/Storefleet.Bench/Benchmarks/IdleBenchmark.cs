using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Redis;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// What a fleet of idle, Ready stores costs the control plane and the API server in steady state. One store is
/// provisioned for real (helm, the store chart); its namespace, objects, release records and record are cloned to
/// N stores (the double's controllers paused meanwhile, so the clones are exactly as Ready as the original). Then
/// a fresh control plane starts on that fleet with the product's defaults: its start-up (paged lists, every store
/// reconciled once from the caches) is timed, then it is measured idle over a window after a settling period.
/// Baseline in the same run: the same control plane with the single original store, over a window of the same length.
/// Goals (the issue's): requests beyond the open watches ≤ 60 per minute, CPU ≤ 5 % of one core, RSS ≤ 300 MB.
/// </summary>
public static class IdleBenchmark
{
    public static async Task<int> RunAsync(int stores, int windowSeconds)
    {
        var goals = new Goals();
        var window = TimeSpan.FromSeconds(windowSeconds);
        await using var redis = await RedisServerProcess.StartAsync();
        await using var api = await KubeApiTestServer.StartAsync();
        api.Simulation.ReadyDelay = TimeSpan.Zero;
        var settings = BenchSettings.ControlPlane(redis, api, concurrency: 4);
        Console.WriteLine($"Storefleet idle benchmark: {stores} Ready stores, defaults (steady resync every 10 min), measured over {windowSeconds} s after {Settle.TotalSeconds:0} s of settling");

        // The original: one store through every step.
        const string original = "idle0000";
        Window baseline;
        await using (var first = await ControlPlaneProcess.StartAsync(settings))
        {
            using var http = new HttpClient { BaseAddress = first.BaseAddress };
            (await http.PostAsJsonAsync("/api/v1/stores", new { name = original })).EnsureSuccessStatusCode();
            await Eventually.WaitUntilAsync(async () => JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores/{original}"))!["phase"]!.GetValue<string>() == "ready",
                TimeSpan.FromSeconds(120), "the original store");

            // Baseline: the same control plane with one store, same window, after the same settling (JIT tiering, first lists).
            await Task.Delay(Settle);
            baseline = await MeasureAsync(first, api, window, fences: null);
            Goals.Info("baseline (1 store): API requests", baseline.RequestsPerMinute, "/min", "0.0");
            Goals.Info("baseline (1 store): CPU", baseline.CpuShare * 100, "% core", "0.00");
            Goals.Info("baseline (1 store): RSS", baseline.RssMegabytes, "MB", "0");
            await first.TerminateAsync(TimeSpan.FromSeconds(30));
        }

        var cloned = await CloneAsync(api, redis, settings["Storefleet__State__KeyPrefix"], original, stores - 1);
        Console.WriteLine($"fleet seeded: {cloned} more stores ({api.Store.CurrentResourceVersion} objects written in the double)");

        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var fences = new Fences(connection, new RedisKeys(settings["Storefleet__State__KeyPrefix"]), [original, .. Enumerable.Range(1, stores - 1).Select(i => $"idle{i:0000}")]);
        var started = DateTimeOffset.UtcNow;
        var claimedAtStart = await fences.ReadAsync();
        await using var plane = await ControlPlaneProcess.StartAsync(settings);
        using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
        {
            // Start-up: every cache lists (paged) and every store is reconciled once from the caches (the first lists
            // report every store, since events may have been missed while no control plane ran).
            await Eventually.WaitUntilAsync(async () => (await fences.ReadAsync()).Where((f, i) => f > claimedAtStart[i]).Count() == stores,
                TimeSpan.FromSeconds(300), "every store reconciled once after the start");
            var startup = DateTimeOffset.UtcNow - started;
            var startupRequests = api.Requests.Entries.Count(r => r.Time >= started && r.Verb != "watch");
            Goals.Info($"start-up: all {stores} stores reconciled", startup.TotalSeconds, "s", "0.0");
            Goals.Info("start-up: requests beyond watches", startupRequests, "(lists, paged)", "0");
            Goals.Info("start-up: control plane CPU", ProcessCpu.Seconds(plane.Pid), "s", "0.0");
            await Task.Delay(Settle);
            var fleet = await MeasureAsync(plane, api, window, fences);
            var notReady = await CountNotReadyAsync(http, stores);

            Goals.Info("stores reconciled in the idle window", fleet.Reconciles, $"of {stores} (the next steady round is due within 10 min)", "0");
            goals.AtMost($"API requests beyond watches", fleet.RequestsPerMinute, 60, "/min", "0.0");
            goals.AtMost("idle CPU", fleet.CpuShare * 100, 5, "% core", "0.00");
            goals.AtMost("RSS", fleet.RssMegabytes, 300, "MB", "0");
            goals.AtMost("stores not ready after the window", notReady, 0, "", "0");
            Goals.Info("requests per minute vs 1 store", fleet.RequestsPerMinute - baseline.RequestsPerMinute, "/min (difference)", "0.0");
            Console.WriteLine($"requests in the window by kind: {fleet.Breakdown}");
        }

        goals.Summary();
        return goals.ExitCode;
    }

    /// <summary>Time given to a fresh control plane before measuring: its first lists, its JIT's tiering, its first resync round.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private sealed record Window(double RequestsPerMinute, double CpuShare, double RssMegabytes, long Reconciles, string Breakdown);

    /// <summary>Requests to the API server other than watches (lists, gets, writes), CPU share and RSS of the control plane over the window.</summary>
    private static async Task<Window> MeasureAsync(ControlPlaneProcess plane, KubeApiTestServer api, TimeSpan window, Fences? fences)
    {
        var start = DateTimeOffset.UtcNow;
        var cpuBefore = ProcessCpu.Seconds(plane.Pid);
        var claimedBefore = fences is null ? [] : await fences.ReadAsync();
        await Task.Delay(window);
        var cpu = ProcessCpu.Seconds(plane.Pid) - cpuBefore;
        var claimedAfter = fences is null ? [] : await fences.ReadAsync();
        var requests = api.Requests.Entries.Where(r => r.Time >= start && r.Verb != "watch").ToList();
        var breakdown = string.Join(", ", requests.GroupBy(r => $"{r.Verb} {r.Resource}").OrderByDescending(g => g.Count()).Select(g => $"{g.Key} ×{g.Count()}"));
        var reconciled = claimedAfter.Where((fence, i) => fence > claimedBefore[i]).Count();
        return new Window(requests.Count / window.TotalMinutes, cpu / window.TotalSeconds, ResidentMegabytes(plane.Pid), reconciled, breakdown.Length == 0 ? "none" : breakdown);
    }

    /// <summary>Each store's fencing counter in Redis: it grows with every lease taken, so a store whose fence moved was reconciled.</summary>
    private sealed class Fences(IConnectionMultiplexer redis, RedisKeys keys, IReadOnlyList<string> names)
    {
        public async Task<long[]> ReadAsync()
        {
            var values = await redis.GetDatabase().StringGetAsync([.. names.Select(keys.Fence)]);
            return [.. values.Select(v => v.HasValue ? (long)v : 0L)];
        }
    }

    private static double ResidentMegabytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    private static async Task<int> CountNotReadyAsync(HttpClient http, int stores)
    {
        var notReady = 0;
        string? token = null;
        var seen = 0;
        do
        {
            var page = JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores?limit=500{(token is null ? "" : $"&continue={Uri.EscapeDataString(token)}")}"))!;
            var items = page["items"]!.AsArray();
            seen += items.Count;
            notReady += items.Count(s => s!["phase"]!.GetValue<string>() != "ready");
            token = page["continue"]?.GetValue<string>();
        }
        while (token is not null);

        return notReady + Math.Max(0, stores - seen);
    }

    /// <summary>
    /// Clones the original store <paramref name="count"/> times: its namespace and every object in it (names, labels
    /// and uids rewritten, so owners and selectors still match) into the double, and its record into Redis, as Ready.
    /// </summary>
    private static async Task<int> CloneAsync(KubeApiTestServer api, RedisServerProcess redis, string keyPrefix, string original, int count)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var repository = new RedisStoreRepository(connection, new RedisKeys(keyPrefix), Options.Create(new StateOptions()));
        var template = await repository.GetAsync(original) ?? throw new InvalidOperationException("the original store has no record");
        var namespaces = api.State.Catalog.Find(string.Empty, "v1", "namespaces")!;
        var ns = api.Store.Get(namespaces, null, $"store-{original}")!;
        var objects = api.Store.InNamespace($"store-{original}");
        var uids = objects.Select(o => o.Object["metadata"]!["uid"]!.GetValue<string>()).Append(ns["metadata"]!["uid"]!.GetValue<string>()).Append(template.Uid).ToList();

        api.Simulation.Paused = true;
        try
        {
            for (var i = 1; i <= count; i++)
            {
                var name = $"idle{i:0000}";
                var fresh = uids.ToDictionary(u => u, _ => Guid.NewGuid().ToString());
                JsonObject Rewrite(JsonObject obj)
                {
                    var text = obj.ToJsonString().Replace(original, name, StringComparison.Ordinal);
                    foreach (var (old, replacement) in fresh)
                    {
                        text = text.Replace(old, replacement, StringComparison.Ordinal);
                    }

                    var copy = JsonNode.Parse(text)!.AsObject();
                    copy["metadata"]!.AsObject().Remove("resourceVersion");
                    return copy;
                }

                api.Store.TryCreate(namespaces, Rewrite(ns));
                foreach (var (resource, obj) in objects)
                {
                    api.Store.TryCreate(resource, Rewrite(obj));
                }

                var store = template with
                {
                    Name = name,
                    Uid = fresh[template.Uid],
                    Version = 0,
                    Urls = template.Urls is { } urls ? new StoreUrls(urls.Storefront.Replace(original, name, StringComparison.Ordinal), urls.Admin.Replace(original, name, StringComparison.Ordinal)) : null,
                    Inventory = template.Inventory is { } inventory ? inventory with { Objects = [.. inventory.Objects.Select(o => o.Replace(original, name, StringComparison.Ordinal))] } : null,
                };
                await repository.CreateAsync(store, new StoreEvent(DateTimeOffset.UtcNow, StoreEventType.Created, StorePhase.Ready, "cloned for the idle benchmark"));
            }
        }
        finally
        {
            api.Simulation.Paused = false;
        }

        return count;
    }
}

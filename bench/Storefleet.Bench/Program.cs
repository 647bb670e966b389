using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

// Provisioning throughput: N stores through the control plane vs the same N `helm upgrade --install`
// from a plain script (xargs -P), same concurrency, same chart and values, against the Kubernetes API
// test double. Prints both times, their ratio (goal ≤ 1.15) and the control plane's peak RSS (goal ≤ 300 MB).
//   dotnet run -c Release --project bench/Storefleet.Bench -- [--stores 100] [--concurrency 4]
var stores = Argument("--stores", 100);
var concurrency = Argument("--concurrency", 4);

await using var redis = await RedisServerProcess.StartAsync();
await using var api = await KubeApiTestServer.StartAsync();
api.Simulation.ReadyDelay = TimeSpan.Zero;
var chart = Path.Combine(RepositoryPaths.Root, "charts", "store");
var environment = new Dictionary<string, string> { ["KUBECONFIG"] = api.KubeconfigPath };

Console.WriteLine($"Storefleet provisioning benchmark: {stores} stores, concurrency {concurrency}, helm {RepositoryPaths.Helm}");

// Baseline: the namespaces and Secrets exist (as the engine would make them); only helm is timed.
var baselineNames = Enumerable.Range(0, stores).Select(i => $"base{i:000}").ToList();
var manifest = new StringBuilder();
foreach (var name in baselineNames)
{
    manifest.Append(CultureInfo.InvariantCulture, $"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: store-{name}\n---\n");
    manifest.Append(CultureInfo.InvariantCulture, $"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}-credentials\n  namespace: store-{name}\nstringData:\n  mysql-root-password: x{Guid.NewGuid():N}\n  mysql-password: x{Guid.NewGuid():N}\n  wordpress-admin-password: x{Guid.NewGuid():N}\n---\n");
}

(await Cli.RunAsync(RepositoryPaths.Kubectl, ["apply", "-f", "-"], environment, manifest.ToString(), TimeSpan.FromMinutes(5))).EnsureSuccessStatusCode();
var script = Path.Combine(Directory.CreateTempSubdirectory("bench-").FullName, "baseline.sh");
await File.WriteAllTextAsync(script, $$"""
    #!/bin/bash
    # The plain way: helm upgrade --install for every store, {{concurrency}} at a time.
    set -euo pipefail
    printf '%s\n' {{string.Join(' ', baselineNames)}} | xargs -P {{concurrency}} -I{} \
      '{{RepositoryPaths.Helm}}' upgrade --install {} '{{chart}}' --namespace store-{} \
        --values '{{chart}}/values-local.yaml' --set credentials.existingSecret={}-credentials \
        --history-max 5 --timeout 300s >/dev/null
    """);
// Warm-up (not timed): helm's binary and the chart in the page cache.
(await Cli.RunAsync(RepositoryPaths.Helm, ["template", "warm", chart, "--values", $"{chart}/values-local.yaml"], environment)).EnsureSuccessStatusCode();
var baseline = Stopwatch.StartNew();
(await Cli.RunAsync("/bin/bash", [script], environment, timeout: TimeSpan.FromMinutes(30))).EnsureSuccessStatusCode();
baseline.Stop();
Console.WriteLine($"plain helm script:  {baseline.Elapsed.TotalSeconds,8:0.00} s");

// The control plane as its own process, on redis-server, creating the same number of stores through its API.
await using var server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
{
    ["ConnectionStrings__Redis"] = redis.ConnectionString,
    ["Storefleet__State__KeyPrefix"] = $"bench{Guid.NewGuid():N}:",
    ["Storefleet__Engine__Kubeconfig"] = api.KubeconfigPath,
    ["Storefleet__Engine__HelmPath"] = RepositoryPaths.Helm,
    ["Storefleet__Engine__ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
    ["Storefleet__Engine__MaxConcurrentHelm"] = concurrency.ToString(CultureInfo.InvariantCulture),
    ["Logging__LogLevel__Default"] = "Warning",
    // The benchmark is one client creating stores as fast as it can: lift the per-client rate limits.
    ["Storefleet__Access__RateLimits__AnonymousRequestsPerMinute"] = "1000000",
    ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "1000000",
});
using var http = new HttpClient { BaseAddress = server.BaseAddress };

// Warm-up (not timed): one store through every step, as a long-running control plane would have done.
(await http.PostAsJsonAsync("/api/v1/stores", new { name = "warmup" })).EnsureSuccessStatusCode();
await Eventually.WaitUntilAsync(async () => JsonNode.Parse(await http.GetStringAsync("/api/v1/stores/warmup"))!["phase"]!.GetValue<string>() == "ready", TimeSpan.FromSeconds(60), "the warm-up store");

var planeNames = Enumerable.Range(0, stores).Select(i => $"plane{i:000}").ToList();
var controlPlane = Stopwatch.StartNew();
foreach (var name in planeNames)
{
    (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
}

var ready = 0;
while (ready < stores)
{
    var items = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?limit=500&phase=ready"))!["items"]!.AsArray();
    ready = items.Count(i => i!["name"]!.GetValue<string>() != "warmup");
    var failed = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?limit=500&phase=failed"))!["items"]!.AsArray();
    if (failed.Count > 0)
    {
        throw new InvalidOperationException($"{failed.Count} stores failed: {failed[0]!.ToJsonString()}");
    }

    if (ready < stores)
    {
        await Task.Delay(50);
    }
}

controlPlane.Stop();
var rss = server.PeakResidentBytes() / (1024.0 * 1024.0);
var cpu = CpuSeconds(server.Pid);

var ratio = controlPlane.Elapsed / baseline.Elapsed;
Console.WriteLine($"control plane:      {controlPlane.Elapsed.TotalSeconds,8:0.00} s   (create → all Ready, through the API)");
Console.WriteLine($"ratio:              {ratio,8:0.00}     (goal ≤ 1.15) {(ratio <= 1.15 ? "met" : "NOT met")}");
Console.WriteLine($"peak RSS:           {rss,8:0} MB  (goal ≤ 300 MB) {(rss <= 300 ? "met" : "NOT met")}");
Console.WriteLine($"control plane CPU:  {cpu,8:0.0} s   (its own process, helm excluded)");
return 0;

static double CpuSeconds(int pid)
{
    // /proc/<pid>/stat fields 14 and 15: user and system time in clock ticks (100 per second).
    var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

int Argument(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

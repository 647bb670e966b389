using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Storefleet.Testing;

/// <summary>
/// A real Prometheus (the Debian package) on a free loopback port, scraping one target every second with a bearer
/// token, its TSDB in a temporary directory; queried through its HTTP API. Killed and cleaned up on dispose.
/// </summary>
public sealed class PrometheusProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusProcess(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public static async Task<PrometheusProcess> StartAsync(Uri target, string metricsPath, string bearerToken)
    {
        var executable = File.Exists("/usr/bin/prometheus") ? "/usr/bin/prometheus"
            : throw new FileNotFoundException("prometheus is not installed. Run scripts/bootstrap-tools.sh (./test.sh does it for you).");
        var directory = Directory.CreateTempSubdirectory("storefleet-prometheus-").FullName;
        var tokenFile = Path.Combine(directory, "token");
        await File.WriteAllTextAsync(tokenFile, bearerToken);
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: storefleet
                metrics_path: {metricsPath}
                authorization:
                  credentials_file: {tokenFile}
                static_configs:
                  - targets: ["{target.Authority}"]

            """);
        var port = FreePort.Next();
        var process = ToolProcess.Start(executable, [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]);
        var prometheus = new PrometheusProcess(process, directory, new Uri($"http://127.0.0.1:{port}"));
        await Eventually.WaitUntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new GiveUpException($"prometheus exited with code {process.ExitCode}.");
            }

            return (await prometheus._http.GetAsync("/-/ready")).IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(30), $"prometheus on port {port}");
        return prometheus;
    }

    /// <summary>An instant PromQL query: each result's labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var answer = JsonNode.Parse(await _http.GetStringAsync($"/api/v1/query?query={Uri.EscapeDataString(promql)}"))!;
        return [.. answer["data"]!["result"]!.AsArray().Select(r => (
            (IReadOnlyDictionary<string, string>)r!["metric"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()),
            double.Parse(r["value"]![1]!.GetValue<string>(), CultureInfo.InvariantCulture)))];
    }

    /// <summary>Every series matching <paramref name="match"/> (a series selector), as label sets.</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> SeriesAsync(string match)
    {
        var answer = JsonNode.Parse(await _http.GetStringAsync($"/api/v1/series?match[]={Uri.EscapeDataString(match)}"))!;
        return [.. answer["data"]!.AsArray().Select(s => (IReadOnlyDictionary<string, string>)s!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()))];
    }

    /// <summary>The scrape target's health as Prometheus sees it (up, down or unknown) and its last error.</summary>
    public async Task<string> TargetHealthAsync()
    {
        var answer = JsonNode.Parse(await _http.GetStringAsync("/api/v1/targets"))!;
        var target = answer["data"]!["activeTargets"]!.AsArray().FirstOrDefault();
        return target is null ? "none" : $"{target["health"]!.GetValue<string>()} {target["lastError"]?.GetValue<string>()}".Trim();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await ToolProcess.StopAsync([_process], _directory);
    }
}

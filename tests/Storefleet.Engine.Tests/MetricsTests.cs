using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// The control plane's metrics as an operator's Prometheus sees them: a real Prometheus scrapes <c>/metrics</c> (with an
/// admin token; anyone else is refused) while 10 stores are provisioned on the test double with the real helm, and
/// PromQL over its HTTP API returns the fleet by phase, ten create→Ready observations, the helm runs — and no series
/// carries a store name.
/// </summary>
public sealed class MetricsTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Prometheus_ScrapesTheFleet_ByPhase_ReadyDurations_AndHelmRuns_WithoutStoreNames()
    {
        var admin = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";
        await using var server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = fixture.Redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = EngineFixture.NewPrefix(),
            ["Storefleet__Access__BootstrapAdminToken"] = admin,
            ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "10000",
            ["Storefleet__Access__RateLimits__ReadsPerMinute"] = "100000",
            ["Storefleet__Engine__Kubeconfig"] = fixture.Api.KubeconfigPath,
            ["Storefleet__Engine__HelmPath"] = RepositoryPaths.Helm,
            ["Storefleet__Engine__ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Storefleet__Engine__RetryBaseDelay"] = "00:00:00.200",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        await using var prometheus = await PrometheusProcess.StartAsync(server.BaseAddress, "/metrics", admin);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var anonymous = await http.GetAsync("/metrics");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        var names = Enumerable.Range(0, 10).Select(i => EngineFixture.NewStoreName($"met{i}")).ToList();

        foreach (var name in names)
        {
            (await http.PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
        }

        await Eventually.WaitUntilAsync(async () =>
        {
            var ready = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?phase=ready&limit=500"))!["items"]!.AsArray();
            return names.All(n => ready.Any(s => s!["name"]!.GetValue<string>() == n));
        }, Generous, "the 10 stores to be Ready");

        // What Prometheus has scraped since (a scrape a second): the fleet by phase, ten create→Ready observations.
        var byPhase = await Eventually.WaitForAsync(async () =>
        {
            var ready = await prometheus.QueryAsync("storefleet_stores{phase=\"ready\",plan=\"small\"}");
            return ready.Count == 1 && ready[0].Value == 10 ? ready : null;
        }, TimeSpan.FromSeconds(60), $"Prometheus to see 10 ready stores (target: {await prometheus.TargetHealthAsync()})");
        var readyCount = await prometheus.QueryAsync("sum(storefleet_store_ready_duration_seconds_count)");
        var buckets = (await prometheus.SeriesAsync("storefleet_store_ready_duration_seconds_bucket"))
            .Select(s => s["le"]).Where(le => le != "+Inf").Select(le => double.Parse(le, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        var helmRuns = await prometheus.QueryAsync("sum(storefleet_helm_invocations_total{command=\"upgrade\",outcome=\"success\"})");
        var kube = await prometheus.QueryAsync("sum(storefleet_kube_requests_total{verb=\"create\",resource=\"namespaces\"})");
        var requests = await prometheus.QueryAsync("sum(http_server_request_duration_seconds_count{http_route=~\".*api/v1/stores.*\"})");
        var series = await prometheus.SeriesAsync("{job=\"storefleet\"}");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Single(byPhase);
        var plans = await prometheus.QueryAsync("sum by (plan) (storefleet_stores)");
        Assert.Equal("small", Assert.Single(plans).Labels["plan"]);
        Assert.Equal(10, readyCount.Single().Value);
        Assert.Contains(1.0, buckets);      // create→Ready buckets from 1 s…
        Assert.Contains(1800.0, buckets);   // …to 30 min
        Assert.True(helmRuns.Single().Value >= 10, $"helm upgrades: {helmRuns.Single().Value}");
        Assert.True(kube.Single().Value >= 10, $"namespace creates: {kube.Single().Value}");
        Assert.True(requests.Single().Value >= 10, $"API requests: {requests.Single().Value}");
        Assert.Contains(series, s => s["__name__"] == "storefleet_step_duration_seconds_count");
        Assert.Contains(series, s => s["__name__"] == "storefleet_queue_depth");
        Assert.Contains(series, s => s["__name__"] == "storefleet_redis_rtt_seconds");
        Assert.DoesNotContain(series, s => s.Values.Any(value => names.Any(name => value.Contains(name, StringComparison.Ordinal))));
    }
}

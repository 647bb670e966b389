using System.Diagnostics;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Storefleet.Testing.KubeApi.Faults;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>The KubernetesClient package (what the control plane uses) against the double.</summary>
public sealed class KubernetesClientAgainstTheDoubleTests(KubeApiFixture api, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<KubeApiFixture>
{
    private readonly Kubernetes _client = new(KubernetesClientConfiguration.BuildConfigFromConfigFile(api.Server.KubeconfigPath));

    [Fact]
    public async Task Crud_CreateGetReplacePatchDelete()
    {
        var ns = await NamespaceAsync("crud");

        var created = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, ns);
        var fetched = await _client.CoreV1.ReadNamespacedConfigMapAsync("c", ns);
        fetched.Data["a"] = "2";
        var replaced = await _client.CoreV1.ReplaceNamespacedConfigMapAsync(fetched, "c", ns);
        var patched = await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"data\":{\"b\":\"3\"}}", V1Patch.PatchType.MergePatch), "c", ns);
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("c", ns);

        Assert.NotEqual(created.Metadata.ResourceVersion, replaced.Metadata.ResourceVersion);
        Assert.Equal(created.Metadata.Uid, replaced.Metadata.Uid);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "2", ["b"] = "3" }, patched.Data);
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReadNamespacedConfigMapAsync("c", ns));
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);
    }

    [Fact]
    public async Task Errors_AreStatusBodiesWithTheRecordedReasons()
    {
        var ns = await NamespaceAsync("errs");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(Map("dup"), ns);

        var duplicate = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedConfigMapAsync(Map("dup"), ns));
        var stale = await _client.CoreV1.ReadNamespacedConfigMapAsync("dup", ns);
        await _client.CoreV1.ReplaceNamespacedConfigMapAsync(stale, "dup", ns);
        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReplaceNamespacedConfigMapAsync(stale, "dup", ns));
        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedConfigMapAsync(Map("Bad_Name"), ns));
        var noNamespace = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedConfigMapAsync(Map("x"), "no-such-namespace"));

        Assert.Equal((HttpStatusCode.Conflict, "AlreadyExists"), (duplicate.Response.StatusCode, Reason(duplicate)));
        Assert.Equal((HttpStatusCode.Conflict, "Conflict"), (conflict.Response.StatusCode, Reason(conflict)));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "Invalid"), (invalid.Response.StatusCode, Reason(invalid)));
        Assert.Contains("RFC 1123 subdomain", invalid.Response.Content);
        Assert.Equal((HttpStatusCode.NotFound, "NotFound"), (noNamespace.Response.StatusCode, Reason(noNamespace)));
    }

    [Theory]
    [InlineData("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"u\"},\"dataz\":{\"a\":\"b\"}}", "unknown field \\\"dataz\\\"")]
    [InlineData("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"t\"},\"spec\":{\"replicas\":\"two\",\"selector\":{},\"template\":{}}}", "cannot be handled as a Deployment")]
    [InlineData("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"t\"},\"spec\":{\"selector\":{},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"imagez\":\"x\"}]}}}}", "unknown field \\\"spec.template.spec.containers[0].imagez\\\"")]
    public async Task StrictValidation_UnknownOrMistypedFields_Are400BadRequest(string body, string expected)
    {
        var ns = await NamespaceAsync("strict");
        var plural = body.Contains("Deployment", StringComparison.Ordinal) ? $"apis/apps/v1/namespaces/{ns}/deployments" : $"api/v1/namespaces/{ns}/configmaps";
        using var http = new HttpClient { BaseAddress = api.Server.BaseUrl };

        var response = await http.PostAsync($"/{plural}?fieldValidation=Strict", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"reason\":\"BadRequest\"", text);
        Assert.Contains(expected, text);
    }

    [Fact]
    public async Task List_SelectorsAndPaging()
    {
        var ns = await NamespaceAsync("list");
        for (var i = 0; i < 7; i++)
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(Map($"m{i}", new Dictionary<string, string> { ["tier"] = i % 2 == 0 ? "web" : "db", ["n"] = i.ToString() }), ns);
        }

        var web = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "tier=web");
        var notWeb = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "tier!=web");
        var set = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "n in (1,2),tier");
        var missing = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "!tier");
        var byName = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, fieldSelector: "metadata.name=m3");
        var names = new List<string>();
        string? token = null;
        do
        {
            var page = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 3, continueParameter: token);
            names.AddRange(page.Items.Select(i => i.Metadata.Name));
            token = page.Metadata.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(token));

        Assert.Equal(4, web.Items.Count);
        Assert.Equal(3, notWeb.Items.Count);
        Assert.Equal(["m1", "m2"], set.Items.Select(i => i.Metadata.Name));
        Assert.Empty(missing.Items);
        Assert.Equal("m3", Assert.Single(byName.Items).Metadata.Name);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"m{i}"), names);
    }

    [Fact]
    public async Task Watch_DeliversChanges_AndAnExpiredVersionGets410()
    {
        var ns = await NamespaceAsync("watch");
        var events = new List<(WatchEventType Type, string Name)>();
        var sawDelete = new TaskCompletionSource();
        var list = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, item) in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                lock (events)
                {
                    events.Add((type, item.Metadata.Name));
                }

                if (type == WatchEventType.Deleted)
                {
                    sawDelete.TrySetResult();
                    return;
                }
            }
        });

        await Storefleet.Testing.Eventually.WaitUntilAsync(() => Task.FromResult(api.Server.Requests.Entries.Any(r => r.Verb == "watch" && r.PathAndQuery.Contains(ns, StringComparison.Ordinal))), TimeSpan.FromSeconds(10), "the watch to start");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(Map("w"), ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"data\":{\"x\":\"y\"}}", V1Patch.PatchType.MergePatch), "w", ns);
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("w", ns);
        await sawDelete.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await watching;

        Assert.Equal([(WatchEventType.Added, "w"), (WatchEventType.Modified, "w"), (WatchEventType.Deleted, "w")], events);

        // After compaction, resuming from the old version is refused with 410 Gone inside the stream.
        api.Server.Store.Compact();
        using var http = new HttpClient { BaseAddress = api.Server.BaseUrl };
        var expired = await http.GetStringAsync($"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={list.Metadata.ResourceVersion}");
        Assert.Contains("\"type\":\"ERROR\"", expired);
        Assert.Contains("\"code\":410", expired);
    }

    [Fact]
    public async Task NamespaceDeletion_CascadesShowsTerminatingAndAStuckNamespaceWaitsForRelease()
    {
        var ns = await NamespaceAsync("term");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(Map("inside"), ns);
        api.Server.Simulation.HoldNamespace(ns);

        await _client.CoreV1.DeleteNamespaceAsync(ns);

        var terminating = await _client.CoreV1.ReadNamespaceAsync(ns);
        Assert.Equal("Terminating", terminating.Status.Phase);
        Assert.NotNull(terminating.Metadata.DeletionTimestamp);
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedConfigMapAsync(Map("late"), ns));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Response.StatusCode);
        Assert.Contains("being terminated", refused.Response.Content);
        await Storefleet.Testing.Eventually.WaitUntilAsync(async () =>
            (await _client.CoreV1.ReadNamespaceAsync(ns)).Status.Conditions?.Any(c => c.Type == "NamespaceFinalizersRemaining" && c.Status == "True") == true,
            TimeSpan.FromSeconds(10), "the stuck namespace to report its remaining finalizers");
        Assert.NotNull(await _client.CoreV1.ReadNamespacedConfigMapAsync("inside", ns));

        api.Server.Simulation.ReleaseNamespace(ns);

        await Storefleet.Testing.Eventually.WaitUntilAsync(async () =>
        {
            try
            {
                await _client.CoreV1.ReadNamespaceAsync(ns);
                return false;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(10), "the released namespace to be gone");
        Assert.Empty(api.Server.Store.InNamespace(ns));
    }

    [Theory]
    [InlineData(500, "InternalError")]
    [InlineData(503, "ServiceUnavailable")]
    [InlineData(429, "TooManyRequests")]
    [InlineData(409, "Conflict")]
    public async Task FaultInjection_StatusFaults_ReachTheClientAsARealServerWouldSendThem(int status, string reason)
    {
        var ns = await NamespaceAsync("fault");
        api.Server.Faults.FailNext("GET", $"/api/v1/namespaces/{ns}/configmaps/target", status, times: 1, retryAfterSeconds: 2);
        await _client.CoreV1.CreateNamespacedConfigMapAsync(Map("target"), ns);
        using var http = new HttpClient { BaseAddress = api.Server.BaseUrl };

        var failed = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps/target");
        var next = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps/target");

        Assert.Equal(status, (int)failed.StatusCode);
        var body = await failed.Content.ReadAsStringAsync();
        Assert.Contains($"\"reason\":\"{reason}\"", body);
        if (status is 429 or 503)
        {
            Assert.Equal(TimeSpan.FromSeconds(2), failed.Headers.RetryAfter?.Delta);
        }

        if (status == 409)
        {
            Assert.Contains("Operation cannot be fulfilled on resourcequotas", body);
        }

        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Contains(api.Server.Requests.Entries, r => r.Status == status && r.PathAndQuery.EndsWith("/configmaps/target", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FaultInjection_LatencyAndClosedConnection()
    {
        var ns = await NamespaceAsync("slow");
        api.Server.Faults.AddLatency("GET", $"/api/v1/namespaces/{ns}/configmaps$", TimeSpan.FromMilliseconds(500), times: 1);
        api.Server.Faults.CloseConnection("GET", $"/api/v1/namespaces/{ns}/secrets$", times: 1);
        using var http = new HttpClient { BaseAddress = api.Server.BaseUrl };

        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps")).StatusCode);
        // Timers may fire a fraction of a millisecond early, so allow a little slack below the injected 500 ms.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(450), $"took {clock.Elapsed.TotalMilliseconds:F0} ms");
        await Assert.ThrowsAnyAsync<Exception>(async () => await (await http.GetAsync($"/api/v1/namespaces/{ns}/secrets")).Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/v1/namespaces/{ns}/secrets")).StatusCode);
    }

    [Fact]
    public async Task Throughput_AtLeast300SimpleRequestsPerSecond()
    {
        var ns = await NamespaceAsync("perf");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(Map("hot"), ns);
        using var http = new HttpClient { BaseAddress = api.Server.BaseUrl };
        const int Requests = 1500;

        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Requests), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, ct) =>
            (await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps/hot", ct)).EnsureSuccessStatusCode());
        var perSecond = Requests / clock.Elapsed.TotalSeconds;
        output.WriteLine($"{Requests} GETs in {clock.Elapsed.TotalMilliseconds:F0} ms: {perSecond:F0} requests/s");

        Assert.True(perSecond >= 300, $"{perSecond:F0} requests/s");
    }

    private async Task<string> NamespaceAsync(string stem)
    {
        var name = $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 9)];
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    private static V1ConfigMap Map(string name, IDictionary<string, string>? labels = null) =>
        new() { Metadata = new V1ObjectMeta { Name = name, Labels = labels }, Data = new Dictionary<string, string> { ["k"] = "v" } };

    private static string? Reason(HttpOperationException e) =>
        System.Text.Json.JsonDocument.Parse(e.Response.Content).RootElement.GetProperty("reason").GetString();
}

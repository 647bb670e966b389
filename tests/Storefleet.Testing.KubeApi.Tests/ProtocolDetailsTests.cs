using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi.Simulation;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>Patches, subresources, dry-run, collections, finalizers, simulated pod faults, and the standalone host.</summary>
public sealed class ProtocolDetailsTests(KubeApiFixture api) : IClassFixture<KubeApiFixture>
{
    private readonly Kubernetes _client = new(KubernetesClientConfiguration.BuildConfigFromConfigFile(api.Server.KubeconfigPath));
    private readonly HttpClient _http = new() { BaseAddress = api.Server.BaseUrl };

    [Fact]
    public async Task Watch_After410_ClientRelistsAndWatchesAgain()
    {
        var ns = await NamespaceAsync("relist");
        var old = (await _client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        await _client.CoreV1.CreateNamespacedConfigMapAsync(Map("before"), ns);
        api.Server.Store.Compact();

        // A real server answers 200 and sends one ERROR event (a 410 Expired Status); KubernetesClient reports it
        // through onError and ends the stream, so the caller re-lists.
        Exception? error = null;
        var events = 0;
        await foreach (var _ in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: old, onError: e => error = e))
        {
            events++;
        }

        Assert.Equal(0, events);
        Assert.Contains("too old resource version", error?.Message);

        var relisted = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        Assert.Equal("before", Assert.Single(relisted.Items).Metadata.Name);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var next = Task.Run(async () =>
        {
            await foreach (var (type, item) in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: relisted.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                return (type, item.Metadata.Name);
            }

            return default;
        });
        await Eventually.WaitUntilAsync(() => Task.FromResult(api.Server.Requests.Entries.Count(r => r.Verb == "watch" && r.PathAndQuery.Contains(ns, StringComparison.Ordinal)) >= 2), TimeSpan.FromSeconds(10), "the second watch");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(Map("after"), ns);

        Assert.Equal((WatchEventType.Added, "after"), await next);
    }

    [Fact]
    public async Task Patches_JsonPatchStrategicMergeAndMergePatch()
    {
        var ns = await NamespaceAsync("patch");
        await PostAsync($"/apis/apps/v1/namespaces/{ns}/deployments", Deployment("web", "nginx:1", "sidecar:1"));

        await _client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\"}]}}}}", V1Patch.PatchType.StrategicMergePatch), "web", ns);
        await _client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":3},{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"a\":\"b\"}}]", V1Patch.PatchType.JsonPatch), "web", ns);
        await _client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"d\"}}}", V1Patch.PatchType.MergePatch), "web", ns);
        var deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns);

        Assert.Equal(["nginx:2", "sidecar:1"], deployment.Spec.Template.Spec.Containers.Select(c => c.Image));
        Assert.Equal(3, deployment.Spec.Replicas);
        Assert.Equal(new Dictionary<string, string> { ["c"] = "d" }, deployment.Metadata.Labels);
        Assert.Equal(3, deployment.Metadata.Generation); // two spec changes; the label-only patch leaves it
        var failedTest = await _http.PatchAsync($"/apis/apps/v1/namespaces/{ns}/deployments/web", new StringContent("[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":9}]", Encoding.UTF8, "application/json-patch+json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, failedTest.StatusCode);
    }

    [Fact]
    public async Task Subresources_StatusScaleAndLog()
    {
        var ns = await NamespaceAsync("subres");
        await PostAsync($"/apis/apps/v1/namespaces/{ns}/deployments", Deployment("web", "nginx:1"));
        await Eventually.WaitUntilAsync(async () => (await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns)).Status?.AvailableReplicas == 1, TimeSpan.FromSeconds(10), "the deployment to be available");

        var scale = await _client.AppsV1.ReadNamespacedDeploymentScaleAsync("web", ns);
        await _client.AppsV1.PatchNamespacedDeploymentScaleAsync(new V1Patch("{\"spec\":{\"replicas\":2}}", V1Patch.PatchType.MergePatch), "web", ns);
        await Eventually.WaitUntilAsync(async () => (await _client.CoreV1.ListNamespacedPodAsync(ns)).Items.Count == 2, TimeSpan.FromSeconds(10), "two pods");
        var status = await _client.AppsV1.ReadNamespacedDeploymentStatusAsync("web", ns);
        var pod = (await _client.CoreV1.ListNamespacedPodAsync(ns)).Items[0];
        using var log = await _client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, ns);

        Assert.Equal(1, scale.Spec.Replicas);
        Assert.Equal(2, (await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns)).Spec.Replicas);
        Assert.Contains(status.Status.Conditions, c => c.Type == "Available");
        Assert.Contains("simulated", await new StreamReader(log).ReadToEndAsync());
    }

    [Fact]
    public async Task DryRunDeleteCollectionAndFinalizers()
    {
        var ns = await NamespaceAsync("coll");
        var dryRun = await PostAsync($"/api/v1/namespaces/{ns}/configmaps?dryRun=All", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "dry" } });
        Assert.Equal(HttpStatusCode.Created, dryRun.StatusCode);
        await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReadNamespacedConfigMapAsync("dry", ns));

        for (var i = 0; i < 3; i++)
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(Map($"c{i}", i < 2 ? "x" : "y"), ns);
        }

        await _client.CoreV1.DeleteCollectionNamespacedConfigMapAsync(ns, labelSelector: "team=x");
        Assert.Equal(["c2"], (await _client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Select(i => i.Metadata.Name));

        var held = Map("held", "y");
        held.Metadata.Finalizers = ["storefleet.test/hold"];
        await _client.CoreV1.CreateNamespacedConfigMapAsync(held, ns);
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("held", ns);
        var marked = await _client.CoreV1.ReadNamespacedConfigMapAsync("held", ns);
        Assert.NotNull(marked.Metadata.DeletionTimestamp);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"finalizers\":null}}", V1Patch.PatchType.MergePatch), "held", ns);
        await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReadNamespacedConfigMapAsync("held", ns));
    }

    [Theory]
    [InlineData(PodFault.CrashLoopBackOff, "CrashLoopBackOff", "Running")]
    [InlineData(PodFault.Unschedulable, null, "Pending")]
    public async Task SimulatedPodFaults_ShowAsARealClusterWould(PodFault fault, string? waitingReason, string phase)
    {
        var ns = await NamespaceAsync("podfault");
        api.Server.Simulation.AddPodFault(fault, ns);

        await PostAsync($"/apis/apps/v1/namespaces/{ns}/deployments", Deployment("web", "nginx:1"));

        var pod = await Eventually.WaitForAsync(async () => (await _client.CoreV1.ListNamespacedPodAsync(ns)).Items.FirstOrDefault(p => p.Status?.Phase == phase), TimeSpan.FromSeconds(10), $"a {phase} pod");
        if (waitingReason is not null)
        {
            Assert.Equal(waitingReason, pod.Status.ContainerStatuses[0].State.Waiting.Reason);
        }
        else
        {
            Assert.Contains(pod.Status.Conditions, c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable");
        }

        var deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns);
        Assert.Contains(deployment.Status.Conditions, c => c.Type == "Available" && c.Status == "False");
    }

    [Fact]
    public async Task APodNeedingAMissingSecret_StaysInCreateContainerConfigError_UntilTheSecretExists()
    {
        var ns = await NamespaceAsync("cfgerr");
        var deployment = Deployment("web", "nginx:1");
        deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"] = new JsonArray(new JsonObject
        {
            ["name"] = "PASSWORD",
            ["valueFrom"] = new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "creds", ["key"] = "password" } },
        });

        await PostAsync($"/apis/apps/v1/namespaces/{ns}/deployments", deployment);

        var waiting = await Eventually.WaitForAsync(
            async () => (await _client.CoreV1.ListNamespacedPodAsync(ns)).Items.FirstOrDefault()?.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting,
            TimeSpan.FromSeconds(10), "a waiting container");
        Assert.Equal(("CreateContainerConfigError", "secret \"creds\" not found"), (waiting.Reason, waiting.Message));
        Assert.Contains((await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns)).Status.Conditions, c => c.Type == "Available" && c.Status == "False");

        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "creds" }, StringData = new Dictionary<string, string> { ["other"] = "x" } }, ns);
        var missingKey = await Eventually.WaitForAsync(
            async () => (await _client.CoreV1.ListNamespacedPodAsync(ns)).Items.FirstOrDefault()?.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting is { Message: var m } && m.StartsWith("couldn't", StringComparison.Ordinal) ? m : null,
            TimeSpan.FromSeconds(10), "the missing key to be reported");
        Assert.Equal($"couldn't find key password in Secret {ns}/creds", missingKey);

        await _client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"stringData":{"password":"s3cret"}}""", V1Patch.PatchType.MergePatch), "creds", ns);
        await Eventually.WaitUntilAsync(
            async () => (await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns)).Status?.ReadyReplicas == 1, TimeSpan.FromSeconds(10), "the deployment to become ready");
    }

    [Fact]
    public async Task PodsRefusedAtAdmission_ShowAsReplicaFailure_OnTheDeployment()
    {
        var ns = await NamespaceAsync("admit");
        var deployment = Deployment("web", "nginx:1");
        deployment["spec"]!["template"]!["spec"]!["serviceAccountName"] = "runner";

        await PostAsync($"/apis/apps/v1/namespaces/{ns}/deployments", deployment);

        var failure = await Eventually.WaitForAsync(
            async () => (await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns)).Status?.Conditions?.FirstOrDefault(c => c.Type == "ReplicaFailure"),
            TimeSpan.FromSeconds(10), "a ReplicaFailure condition");
        Assert.Equal(("True", "FailedCreate"), (failure.Status, failure.Reason));
        Assert.Contains($"error looking up service account {ns}/runner: serviceaccount \"runner\" not found", failure.Message);
        Assert.Empty((await _client.CoreV1.ListNamespacedPodAsync(ns)).Items);

        await _client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "runner" } }, ns);
        await Eventually.WaitUntilAsync(
            async () => (await _client.AppsV1.ReadNamespacedDeploymentAsync("web", ns)).Status is { ReadyReplicas: 1 } status && status.Conditions.All(c => c.Type != "ReplicaFailure"),
            TimeSpan.FromSeconds(10), "the deployment to become ready once the account exists");
    }

    [Fact]
    public async Task SimulatedJobFailure_FailsTheJobWithItsLogLines()
    {
        var ns = await NamespaceAsync("jobfail");
        api.Server.Simulation.FailJobs(ns, "bootstrap", "Error: could not reach the database", "exit 1");

        await PostAsync($"/apis/batch/v1/namespaces/{ns}/jobs", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "bootstrap-1" },
            ["spec"] = new JsonObject
            {
                ["backoffLimit"] = 1,
                ["template"] = new JsonObject { ["spec"] = new JsonObject { ["restartPolicy"] = "Never", ["containers"] = new JsonArray(new JsonObject { ["name"] = "cli", ["image"] = "wordpress:cli" }) } },
            },
        });

        var job = await Eventually.WaitForAsync(async () => (await _client.BatchV1.ReadNamespacedJobAsync("bootstrap-1", ns)) is { Status.Conditions: { Count: > 0 } } j ? j : null, TimeSpan.FromSeconds(10), "the job to finish");
        Assert.Contains(job.Status.Conditions, c => c.Type == "Failed" && c.Status == "True");
        var pod = (await _client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "job-name=bootstrap-1")).Items.Single();
        using var log = await _client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, ns, tailLines: 1);
        Assert.Equal("exit 1", (await new StreamReader(log).ReadToEndAsync()).Trim());
    }

    [Fact]
    public async Task ASuspendedJob_RunsNoPodUntilItIsResumed()
    {
        var ns = await NamespaceAsync("jobsuspend");
        JsonObject Job(string name, bool suspend) => new()
        {
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["suspend"] = suspend,
                ["template"] = new JsonObject { ["spec"] = new JsonObject { ["restartPolicy"] = "Never", ["containers"] = new JsonArray(new JsonObject { ["name"] = "db", ["image"] = "mysql:8.4.6" }) } },
            },
        };
        await PostAsync($"/apis/batch/v1/namespaces/{ns}/jobs", Job("restore-1", suspend: true));
        await PostAsync($"/apis/batch/v1/namespaces/{ns}/jobs", Job("upgrade-1", suspend: false));

        // The Job created after it has finished: the suspended one was left alone, as the Job controller leaves it.
        await Eventually.WaitUntilAsync(async () => (await _client.BatchV1.ReadNamespacedJobAsync("upgrade-1", ns)).Status?.Conditions is { Count: > 0 }, TimeSpan.FromSeconds(10), "the other job to finish");
        Assert.Null((await _client.BatchV1.ReadNamespacedJobAsync("restore-1", ns)).Status?.Conditions);
        Assert.Empty((await _client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "job-name=restore-1")).Items);

        await _client.BatchV1.PatchNamespacedJobAsync(new V1Patch("""{"spec":{"suspend":false}}""", V1Patch.PatchType.MergePatch), "restore-1", ns);
        var resumed = await Eventually.WaitForAsync(async () => (await _client.BatchV1.ReadNamespacedJobAsync("restore-1", ns)) is { Status.Conditions: { Count: > 0 } } j ? j : null, TimeSpan.FromSeconds(10), "the resumed job to finish");
        Assert.Contains(resumed.Status.Conditions, c => c.Type == "Complete" && c.Status == "True");
    }

    [Fact]
    public async Task Standalone_WritesAKubeconfigAndServesKubectl()
    {
        var directory = Directory.CreateTempSubdirectory("kube-api-standalone-").FullName;
        var kubeconfig = Path.Combine(directory, "kubeconfig");
        var port = FreePort.Next();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Storefleet.Testing.KubeApi.dll"), "--port", port.ToString(), "--kubeconfig", kubeconfig })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            var firstLine = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Contains($"http://127.0.0.1:{port}", firstLine);
            Assert.Contains($"server: http://127.0.0.1:{port}", await File.ReadAllTextAsync(kubeconfig));

            var kubectl = new ProcessStartInfo(RepositoryPaths.Kubectl) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { "--kubeconfig", kubeconfig, "get", "namespaces", "-o", "name" })
            {
                kubectl.ArgumentList.Add(arg);
            }

            using var get = Process.Start(kubectl)!;
            var output = await get.StandardOutput.ReadToEndAsync();
            await get.WaitForExitAsync();
            Assert.Contains("namespace/kube-system", output);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task<HttpResponseMessage> PostAsync(string path, JsonObject body)
    {
        var response = await _http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return response;
    }

    private static JsonObject Deployment(string name, params string[] images) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["replicas"] = 1,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
                ["spec"] = new JsonObject
                {
                    ["containers"] = new JsonArray(images.Select((image, i) => (JsonNode)new JsonObject { ["name"] = i == 0 ? name : $"c{i}", ["image"] = image }).ToArray()),
                },
            },
        },
    };

    private async Task<string> NamespaceAsync(string stem)
    {
        var name = $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 9)];
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    private static V1ConfigMap Map(string name, string team = "x") =>
        new() { Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["team"] = team } }, Data = new Dictionary<string, string> { ["k"] = "v" } };
}

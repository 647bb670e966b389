using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;
using Storefleet.Testing.KubeApi.Simulation;

namespace Storefleet.Engine.Tests;
/// <summary>
/// Day two on the double with the real helm: a Ready store stays watched — drift is repaired (each repair an event
/// naming the objects), health moves it to Degraded and back, a lost namespace fails it — and its plan changes in place.
/// Split in classes (each with its own test double and Redis) so that they run side by side.
/// </summary>
public abstract class DayTwoTestBase(EngineFixture fixture)
{
    protected static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    protected EngineFixture Fixture { get; } = fixture;

    protected k8s.Kubernetes Client => new(KubernetesClientConfiguration.BuildConfigFromConfigFile(Fixture.Api.KubeconfigPath));

    protected ControlPlane StartPlane(Dictionary<string, string?>? overrides = null, string? prefix = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storefleet:Engine:DegradedAfter"] = "00:00:02",
            ["Storefleet:Engine:Drift:RepairBackoff"] = "00:00:00.500",
            ["Storefleet:Engine:SteadyResyncInterval"] = "00:00:30",
        };
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }

        return Fixture.StartControlPlane(settings, prefix);
    }

    protected async Task AllowVolumeExpansionAsync(bool allowed) =>
        await Client.StorageV1.PatchStorageClassAsync(new V1Patch($$"""{"allowVolumeExpansion":{{(allowed ? "true" : "false")}}}""", V1Patch.PatchType.MergePatch), KubeApiState.DefaultStorageClass);

    protected async Task<int> RevisionAsync(string name)
    {
        var records = await Client.CoreV1.ListNamespacedSecretAsync($"store-{name}", labelSelector: $"owner=helm,name={name}");
        return records.Items.Max(r => int.Parse(r.Metadata.Labels["version"], System.Globalization.CultureInfo.InvariantCulture));
    }

    protected static async Task<string> ETagAsync(ControlPlane plane, string name)
    {
        var response = await plane.CreateClient().GetAsync($"/api/v1/stores/{name}");
        return response.Headers.ETag!.ToString();
    }

    protected static async Task<Store> WaitForAsync(ControlPlane plane, string name, Func<Store, bool> condition, string what)
    {
        try
        {
            return await Eventually.WaitForAsync(async () => await plane.Repository.GetAsync(name) is { } s && condition(s) ? s : null, Generous, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await plane.DescribeAsync(name)}", e);
        }
    }

    protected static async Task<HttpResponseMessage> PatchAsync(ControlPlane plane, string name, string body, string? ifMatch, string contentType = "application/merge-patch+json")
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/stores/{name}") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await plane.CreateClient().SendAsync(request);
    }

    /// <summary>Waits for a new event of <paramref name="type"/>: one more than there were at <paramref name="since"/> (see <see cref="Mark"/>).</summary>
    protected static async Task<StoreEvent> WaitForEventAsync(ControlPlane plane, string name, StoreEventType type, EventMark since)
    {
        try
        {
            return await Eventually.WaitForAsync(async () =>
            {
                var events = (await plane.Repository.GetEventsAsync(name)).Where(e => e.Type == type).ToList();
                return events.Count > since.Count ? events[since.Count] : null;
            }, Generous, $"a {type} event");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await plane.DescribeAsync(name)}", e);
        }
    }

    /// <summary>How many events of a type a store had at a moment.</summary>
    protected sealed record EventMark(int Count);

    protected static async Task<EventMark> Mark(ControlPlane plane, string name, StoreEventType type) =>
        new((await plane.Repository.GetEventsAsync(name)).Count(e => e.Type == type));

    protected static async Task<(string, string)> Do(Func<Task> change, string what, string how)
    {
        await change();
        return (what, how);
    }

    protected async Task Kubectl(params string[] args)
    {
        var result = await Cli.RunAsync(RepositoryPaths.Kubectl, args, new Dictionary<string, string> { ["KUBECONFIG"] = Fixture.Api.KubeconfigPath });
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    protected static async Task<bool> Exists<T>(Func<Task<T>> read)
    {
        try
        {
            await read();
            return true;
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }
}

/// <summary>A Ready store stays watched: drift repaired (and paused when it keeps coming back), health degrading and recovering, a lost namespace.</summary>
public sealed class DayTwoTests(EngineFixture fixture) : DayTwoTestBase(fixture), IClassFixture<EngineFixture>
{
    public static TheoryData<string> Drifts => ["delete-deployment", "scale-to-zero", "delete-networkpolicy", "edit-quota", "remove-pod-security-label"];

    [Theory]
    [MemberData(nameof(Drifts))]
    public async Task DriftOfAReadyStore_IsRepaired_WithAnEventNamingWhatChanged(string drift)
    {
        await using var plane = StartPlane();
        var name = EngineFixture.NewStoreName("drift");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        var client = Client;
        var before = await client.AppsV1.ReadNamespacedDeploymentAsync($"{name}-wordpress", ns);

        var changedAt = await Mark(plane, name, StoreEventType.DriftRepaired);
        var stopwatch = Stopwatch.StartNew();
        var (expectedObject, expectedChange) = drift switch
        {
            "delete-deployment" => await Do(() => client.AppsV1.DeleteNamespacedDeploymentAsync($"{name}-wordpress", ns), "Deployment", "deleted"),
            "scale-to-zero" => await Do(() => Kubectl("scale", $"deployment/{name}-wordpress", "--replicas=0", "-n", ns), "Deployment", "kubectl via scale"),
            "delete-networkpolicy" => await Do(() => client.NetworkingV1.DeleteNamespacedNetworkPolicyAsync($"{name}-default-deny", ns), "NetworkPolicy", "deleted"),
            "edit-quota" => await Do(() => client.CoreV1.PatchNamespacedResourceQuotaAsync(new V1Patch("""{"spec":{"hard":{"pods":"100"}}}""", V1Patch.PatchType.MergePatch), $"{name}-quota", ns, fieldManager: "kubectl-edit"), "ResourceQuota", "kubectl-edit"),
            "remove-pod-security-label" => await Do(() => Kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce-"), "namespace labels", "pod-security.kubernetes.io/enforce"),
            _ => throw new ArgumentOutOfRangeException(nameof(drift)),
        };

        var repaired = await WaitForEventAsync(plane, name, StoreEventType.DriftRepaired, changedAt);
        stopwatch.Stop();
        Console.WriteLine($"drift {drift}: detected and repaired {stopwatch.Elapsed.TotalMilliseconds:0} ms after the change (repair itself {repaired.Duration?.TotalMilliseconds:0} ms)");
        Assert.Contains(expectedObject, repaired.Message);
        Assert.Contains(expectedChange, repaired.Message);
        // Expected within a few seconds (a watch event, one helm run); bounded only generously.
        Assert.True(stopwatch.Elapsed < Generous, $"repair took {stopwatch.Elapsed}");

        switch (drift)
        {
            case "delete-deployment" or "scale-to-zero":
                var restored = await client.AppsV1.ReadNamespacedDeploymentAsync($"{name}-wordpress", ns);
                Assert.Equal(1, restored.Spec.Replicas);
                break;
            case "delete-networkpolicy":
                Assert.NotNull(await client.NetworkingV1.ReadNamespacedNetworkPolicyAsync($"{name}-default-deny", ns));
                break;
            case "edit-quota":
                var quota = await client.CoreV1.ReadNamespacedResourceQuotaAsync($"{name}-quota", ns);
                Assert.Equal(StorePlan.Small.Quota.Pods.ToString(System.Globalization.CultureInfo.InvariantCulture), quota.Spec.Hard["pods"].ToString());
                break;
            case "remove-pod-security-label":
                var labels = (await client.CoreV1.ReadNamespaceAsync(ns)).Metadata.Labels;
                Assert.Equal("restricted", labels["pod-security.kubernetes.io/enforce"]);
                break;
        }

        var store = await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        Assert.Single(store.Repairs);
        if (drift != "delete-deployment")
        {
            Assert.Equal(before.Metadata.Uid, (await client.AppsV1.ReadNamespacedDeploymentAsync($"{name}-wordpress", ns)).Metadata.Uid);
        }
    }

    [Fact]
    public async Task AStoreThatKeepsDrifting_IsNotHammered_RepairPausesWithDriftPersistent_UntilARetry()
    {
        await using var plane = StartPlane(new() { ["Storefleet:Engine:Drift:MaxRepairsPerHour"] = "2" });
        var name = EngineFixture.NewStoreName("churn");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        var client = Client;

        for (var round = 1; round <= 3; round++)
        {
            var at = await Mark(plane, name, StoreEventType.DriftRepaired);
            await client.NetworkingV1.DeleteNamespacedNetworkPolicyAsync($"{name}-default-deny", ns);
            if (round <= 2)
            {
                await WaitForEventAsync(plane, name, StoreEventType.DriftRepaired, at);
                await Eventually.WaitUntilAsync(async () => await Exists(() => client.NetworkingV1.ReadNamespacedNetworkPolicyAsync($"{name}-default-deny", ns)), Generous, "the policy back");
            }
        }

        var paused = await Eventually.WaitForAsync(async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.DriftPersistent), Generous, "DriftPersistent");
        Assert.Contains("paused", paused.Message);
        var warning = (await plane.Repository.GetEventsAsync(name)).Last(e => e.Step == "drift-persistent");
        Assert.Contains("retry the store", warning.Message);
        Assert.False(await Exists(() => client.NetworkingV1.ReadNamespacedNetworkPolicyAsync($"{name}-default-deny", ns)), "repair went on while paused");
        Assert.Equal(2, (await plane.Repository.GetEventsAsync(name)).Count(e => e.Type == StoreEventType.DriftRepaired));

        var retriedAt = await Mark(plane, name, StoreEventType.DriftRepaired);
        await plane.RetryStoreAsync(name);
        await WaitForEventAsync(plane, name, StoreEventType.DriftRepaired, retriedAt);
        Assert.True(await Exists(() => client.NetworkingV1.ReadNamespacedNetworkPolicyAsync($"{name}-default-deny", ns)));
        Assert.Null((await plane.Repository.GetAsync(name))!.Condition(ConditionTypes.DriftPersistent));
    }

    [Fact]
    public async Task ACrashLoopingPod_DegradesTheStore_NamingPodAndContainer_AndItRecoversWhenItClears()
    {
        await using var plane = StartPlane();
        var name = EngineFixture.NewStoreName("crash");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        Fixture.Api.Simulation.AddPodFault(PodFault.CrashLoopBackOff, ns, "wordpress:6");
        var degraded = await plane.WaitForPhaseAsync(name, StorePhase.Degraded, Generous);
        Fixture.Api.Simulation.RemovePodFaults(ns);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        var cause = degraded.Condition(ConditionTypes.Degraded)!;
        Assert.Equal("CrashLoopBackOff", cause.Reason);
        Assert.Contains($"Pod {name}-wordpress-", cause.Message);
        Assert.Contains("container wordpress", cause.Message);
        var transitions = (await plane.Repository.GetEventsAsync(name)).Where(e => e.Type == StoreEventType.PhaseChanged).Select(e => e.Phase).ToList();
        Assert.Equal([StorePhase.Degraded, StorePhase.Ready], transitions.TakeLast(2));
        var store = await plane.GetStoreAsync(name);
        Assert.Equal("ready", store!.Text("phase"));
    }

    [Fact]
    public async Task AnOomKilledContainer_SaysOOMKilled_AndItsMemoryLimit()
    {
        await using var plane = StartPlane();
        var name = EngineFixture.NewStoreName("oom");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        Fixture.Api.Simulation.AddPodFault(PodFault.OOMKilled, ns, "mysql:");
        try
        {
            var degraded = await plane.WaitForPhaseAsync(name, StorePhase.Degraded, Generous);

            var cause = degraded.Condition(ConditionTypes.Degraded)!;
            Assert.Equal("OOMKilled", cause.Reason);
            Assert.Contains($"Pod {name}-mysql-0 container mysql was OOMKilled", cause.Message);
            Assert.Contains("memory limit 1Gi", cause.Message);
            var listed = await plane.CreateClient().GetStringAsync("/api/v1/stores?phase=degraded&limit=500");
            Assert.Contains(name, listed);
        }
        finally
        {
            Fixture.Api.Simulation.RemovePodFaults(ns);
        }
    }

    [Fact]
    public async Task ANamespaceDeletedOutOfBand_FailsTheStoreAsNamespaceLost_AndRetryProvisionsAFreshOne()
    {
        await using var plane = StartPlane();
        var name = EngineFixture.NewStoreName("lost");
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        await Client.CoreV1.DeleteNamespaceAsync($"store-{name}");
        var failed = await plane.WaitForPhaseAsync(name, StorePhase.Failed, Generous);
        await Eventually.WaitUntilAsync(async () => !await Exists(() => Client.CoreV1.ReadNamespaceAsync($"store-{name}")), Generous, "the namespace to be gone");
        await plane.RetryStoreAsync(name);
        var ready = await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        var reason = failed.Condition(ConditionTypes.Failed)!;
        Assert.Equal("NamespaceLost", reason.Reason);
        Assert.Contains("gone", reason.Message);
        Assert.Equal(StorePhase.Ready, failed.FailedPhase);
        Assert.Equal(failed.Uid, ready.Uid);
        Assert.True(ready.BootstrapGeneration > failed.BootstrapGeneration);
    }
}

/// <summary>A live store's plan changes in place: quotas and volumes, rollbacks that keep what served, If-Match, two replicas, a kill mid-update.</summary>
public sealed class PlanChangeTests(EngineFixture fixture) : DayTwoTestBase(fixture), IClassFixture<EngineFixture>
{
    [Fact]
    public async Task SmallToMedium_ChangesQuotaLimitsAndVolumesInPlace_KeepingTheWorkloads()
    {
        await AllowVolumeExpansionAsync(true);
        await using var plane = StartPlane();
        var name = EngineFixture.NewStoreName("grow");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        var client = Client;
        var deployment = await client.AppsV1.ReadNamespacedDeploymentAsync($"{name}-wordpress", ns);
        var statefulSet = await client.AppsV1.ReadNamespacedStatefulSetAsync($"{name}-mysql", ns);
        var revision = await RevisionAsync(name);
        var etag = await ETagAsync(plane, name);

        var stopwatch = Stopwatch.StartNew();
        var accepted = await PatchAsync(plane, name, """{"plan":"medium"}""", etag);
        var updated = await WaitForAsync(plane, name, s => s is { Phase: StorePhase.Ready, AppliedPlan.Id: "medium" }, "plan medium to be Ready");
        stopwatch.Stop();

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var body = JsonNode.Parse(await accepted.Content.ReadAsStringAsync())!;
        Assert.Equal("medium", body.Text("plan"));
        Assert.Equal("small", body.Text("servingPlan"));
        Assert.Equal(2, body["generation"]!.GetValue<long>());
        Assert.Equal("\"2\"", accepted.Headers.ETag!.ToString());
        Console.WriteLine($"plan small → medium: ready on the new plan {stopwatch.Elapsed.TotalMilliseconds:0} ms after the PATCH");
        Assert.Equal(updated.Generation, updated.ObservedGeneration);
        Assert.Equal(revision + 1, await RevisionAsync(name));
        var quota = await client.CoreV1.ReadNamespacedResourceQuotaAsync($"{name}-quota", ns);
        Assert.Equal(StorePlan.Medium.Quota.Pods.ToString(System.Globalization.CultureInfo.InvariantCulture), quota.Spec.Hard["pods"].ToString());
        Assert.Equal("30Gi", quota.Spec.Hard["requests.storage"].ToString());
        var after = await client.AppsV1.ReadNamespacedDeploymentAsync($"{name}-wordpress", ns);
        Assert.Equal(deployment.Metadata.Uid, after.Metadata.Uid);
        Assert.Equal("1Gi", after.Spec.Template.Spec.Containers.Single(c => c.Name == "wordpress").Resources.Limits["memory"].ToString());
        Assert.Equal(statefulSet.Metadata.Uid, (await client.AppsV1.ReadNamespacedStatefulSetAsync($"{name}-mysql", ns)).Metadata.Uid);
        var claims = (await client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns)).Items.ToDictionary(c => c.Metadata.Name, c => c.Spec.Resources.Requests["storage"].ToString());
        Assert.Equal("15Gi", claims[$"data-{name}-mysql-0"]);
        Assert.Equal("8Gi", claims[$"{name}-wordpress"]);
        var phases = (await plane.Repository.GetEventsAsync(name)).Where(e => e.Type == StoreEventType.PhaseChanged).Select(e => e.Phase).TakeLast(2);
        Assert.Equal([StorePhase.Updating, StorePhase.Ready], phases);
    }

    [Fact]
    public async Task AFailureDuringThePlanChange_RollsBack_TheSmallQuotaStaysAndTheReasonIsShown()
    {
        await AllowVolumeExpansionAsync(true);
        await using var plane = StartPlane();
        var name = EngineFixture.NewStoreName("rollb");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        var revision = await RevisionAsync(name);

        // The upgrade's apply of the quota is refused once (terminal: forbidden); the rollback's goes through.
        var fault = Fixture.Api.Faults.FailNext("PATCH", $"/namespaces/{ns}/resourcequotas/", 403, times: 1);
        try
        {
            var accepted = await PatchAsync(plane, name, """{"plan":"medium"}""", await ETagAsync(plane, name));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var degraded = await WaitForAsync(plane, name, s => s.Phase == StorePhase.Degraded, "the rolled-back store");

            var reason = degraded.Condition(ConditionTypes.UpdateFailed)!;
            Assert.Contains("rolled back", reason.Message);
            Assert.Contains("forbidden", reason.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(ConditionTypes.UpdateFailed, degraded.Condition(ConditionTypes.Degraded)!.Reason);
            Assert.Equal(StorePlan.Small, degraded.Spec.Plan);
            Assert.Equal(degraded.Generation, degraded.ObservedGeneration);
            var quota = await Client.CoreV1.ReadNamespacedResourceQuotaAsync($"{name}-quota", ns);
            Assert.Equal(StorePlan.Small.Quota.Pods.ToString(System.Globalization.CultureInfo.InvariantCulture), quota.Spec.Hard["pods"].ToString());
            Assert.True(await RevisionAsync(name) >= revision + 2, "no rollback revision");
            var shown = await plane.GetStoreAsync(name);
            Assert.Equal("degraded", shown!.Text("phase"));

            // A retry acknowledges the failed change: the store is Ready again on its old plan.
            await plane.RetryStoreAsync(name);
            await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        }
        finally
        {
            Fixture.Api.Faults.Remove(fault);
        }
    }

    [Fact]
    public async Task APlanChangeThatFailsOnEveryRetry_RollsBackToTheRevisionThatServed_NotToTheLastFailedAttempt()
    {
        await AllowVolumeExpansionAsync(true);
        await using var plane = StartPlane(new() { ["Storefleet:Engine:MaxAttempts"] = "3" });
        var name = EngineFixture.NewStoreName("retryrb");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        var served = (await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous)).Pin!;

        // Every attempt's quota apply fails with a retryable error: three failed revisions, then the rollback (which goes through).
        var fault = Fixture.Api.Faults.FailNext("PATCH", $"/namespaces/{ns}/resourcequotas/", 500, times: 3);
        try
        {
            Assert.Equal(HttpStatusCode.Accepted, (await PatchAsync(plane, name, """{"plan":"medium"}""", await ETagAsync(plane, name))).StatusCode);
            var degraded = await WaitForAsync(plane, name, s => s.Phase is StorePhase.Degraded or StorePhase.Failed, "the rolled-back store");

            Assert.True(degraded.Phase == StorePhase.Degraded, await plane.DescribeAsync(name));
            var records = Fixture.Api.ReleaseRecordsIn(ns);
            Assert.True(records.Count(r => r.Status == "failed" || r.Status == "superseded") >= 3, string.Join(", ", records.Select(r => $"{r.Status}:{r.Digest}")));
            Assert.Equal(served.Digest, records[^1].Digest);
            Assert.Equal(served with { Generation = degraded.Generation }, degraded.Pin);
            Assert.Equal(StorePlan.Small.Quota.Pods.ToString(System.Globalization.CultureInfo.InvariantCulture), (await Client.CoreV1.ReadNamespacedResourceQuotaAsync($"{name}-quota", ns)).Spec.Hard["pods"].ToString());
        }
        finally
        {
            Fixture.Api.Faults.Remove(fault);
        }
    }

    [Fact]
    public async Task APlanChangeOntoANewerChart_ThatFails_RollsBackToTheChartTheStoreServedWith()
    {
        await AllowVolumeExpansionAsync(true);
        using var olderCharts = ChartCopy.Create("0.0.9");
        var prefix = EngineFixture.NewPrefix();
        var name = EngineFixture.NewStoreName("backpin");
        var ns = $"store-{name}";
        ReleasePin served;
        await using (var older = StartPlane(new() { ["Storefleet:Engine:ChartsDirectory"] = olderCharts.Directory }, prefix))
        {
            await older.CreateStoreAsync(name);
            served = (await older.WaitForPhaseAsync(name, StorePhase.Ready, Generous)).Pin!;
        }

        Assert.Equal("0.0.9", served.ChartVersion);
        var job = Assert.Single(Fixture.Api.Store.InNamespace(ns).Select(o => o.Object), o => o["kind"]?.GetValue<string>() == "Job")["metadata"]!["name"]!.GetValue<string>();
        // A control plane shipping the newer chart takes over; a person changes the plan, which pins the newer chart — and
        // fails. The newer chart renames the bootstrap Job, which once made helm refuse the rollback.
        await using var plane = StartPlane(prefix: prefix);
        var fault = Fixture.Api.Faults.FailNext("PATCH", $"/namespaces/{ns}/resourcequotas/", 403, times: 1);
        try
        {
            Assert.Equal(HttpStatusCode.Accepted, (await PatchAsync(plane, name, """{"plan":"medium"}""", await ETagAsync(plane, name))).StatusCode);
            var degraded = await WaitForAsync(plane, name, s => s.Phase is StorePhase.Degraded or StorePhase.Failed, "the rolled-back store");

            Assert.True(degraded.Phase == StorePhase.Degraded, await plane.DescribeAsync(name));
            // Pinned again to what it served with (for the new generation), not to the shipped chart it was moving to.
            Assert.Equal(served with { Generation = degraded.Generation }, degraded.Pin);
            Assert.Null(degraded.PreviousPin);
            Assert.Equal(served.Digest, Fixture.Api.ReleaseRecordsIn(ns)[^1].Digest);
            Assert.Contains(Fixture.Api.Store.InNamespace(ns).Select(o => o.Object), o => o["kind"]?.GetValue<string>() == "Job" && o["metadata"]!["name"]!.GetValue<string>() == job);
        }
        finally
        {
            Fixture.Api.Faults.Remove(fault);
        }
    }

    [Fact]
    public async Task AStaleIfMatch_IsRefused412_AShrinkAndAnImpossibleExpansionAre422_AndNothingChanges()
    {
        await AllowVolumeExpansionAsync(false);
        await using var plane = StartPlane();
        var name = EngineFixture.NewStoreName("refuse");
        await plane.CreateStoreAsync(name, plan: "medium");
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        var revision = await RevisionAsync(name);
        var etag = await ETagAsync(plane, name);

        var stale = await PatchAsync(plane, name, """{"plan":"large"}""", "\"41\"");
        var shrink = await PatchAsync(plane, name, """{"plan":"small"}""", etag);
        var expand = await PatchAsync(plane, name, """{"plan":"large"}""", etag);
        var wrongType = await PatchAsync(plane, name, """{"plan":"large"}""", etag, contentType: "application/json");
        var engine = await PatchAsync(plane, name, """{"engine":"magento","plan":"large"}""", etag);

        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal("\"1\"", JsonNode.Parse(await stale.Content.ReadAsStringAsync())!.Text("etag"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, shrink.StatusCode);
        Assert.Contains("cannot shrink", await shrink.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, expand.StatusCode);
        Assert.Contains("does not allow volume expansion", await expand.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, engine.StatusCode);
        var store = (await plane.Repository.GetAsync(name))!;
        Assert.Equal(StorePlan.Medium, store.Spec.Plan);
        Assert.Equal(1, store.Generation);
        Assert.Equal(StorePhase.Ready, store.Phase);
        Assert.Equal(revision, await RevisionAsync(name));
        Assert.DoesNotContain(await plane.Repository.GetEventsAsync(name), e => e.Type == StoreEventType.SpecChanged);
    }

    [Fact]
    public async Task TwoReplicas_NeverUpdateOneStoreAtOnce()
    {
        await AllowVolumeExpansionAsync(true);
        using var helm = HelmWrapper.Create();
        var prefix = EngineFixture.NewPrefix();
        var settings = new Dictionary<string, string?> { ["Storefleet:Engine:HelmPath"] = helm.Path };
        await using var first = StartPlane(settings, prefix);
        await using var second = StartPlane(settings, prefix);
        var names = Enumerable.Range(0, 3).Select(i => EngineFixture.NewStoreName($"pair{i}")).ToList();
        foreach (var name in names)
        {
            await first.CreateStoreAsync(name);
        }

        foreach (var name in names)
        {
            await first.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        }

        helm.DelayUpgrades(TimeSpan.FromMilliseconds(500));
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            var plane = i % 2 == 0 ? first : second;
            Assert.Equal(HttpStatusCode.Accepted, (await PatchAsync(plane, name, """{"plan":"medium"}""", await ETagAsync(plane, name))).StatusCode);
        }

        foreach (var name in names)
        {
            await Eventually.WaitUntilAsync(async () => await first.Repository.GetAsync(name) is { Phase: StorePhase.Ready, AppliedPlan.Id: "medium" }, Generous, $"{name} on medium");
        }

        var runs = helm.Invocations().Where(i => i.Command is "upgrade" or "rollback" && names.Contains(i.Release!)).ToList();
        foreach (var run in runs)
        {
            Assert.DoesNotContain(runs, other => other != run && other.Release == run.Release && other.Overlaps(run));
        }

        Assert.True(runs.Count(r => r.Command == "upgrade") >= names.Count * 2, string.Join("\n", runs));
    }

    [Fact]
    public async Task AKillDuringUpdating_CompletesAfterTheRestart()
    {
        await AllowVolumeExpansionAsync(true);
        var prefix = EngineFixture.NewPrefix();
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Redis"] = Fixture.Redis.ConnectionString,
            ["Storefleet:State:KeyPrefix"] = prefix,
            ["Storefleet:Engine:Kubeconfig"] = Fixture.Api.KubeconfigPath,
            ["Storefleet:Engine:HelmPath"] = RepositoryPaths.Helm,
            ["Storefleet:Engine:ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Storefleet:Engine:LeaseTtl"] = "00:00:02",
            ["Storefleet:Engine:RetryBaseDelay"] = "00:00:00.100",
            ["Storefleet:Engine:RetryMaxDelay"] = "00:00:01",
            ["Storefleet:Engine:HelmTimeout"] = "00:00:10",
            ["Storefleet:Engine:PendingReleaseGrace"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "1000000",
        };
        var name = EngineFixture.NewStoreName("killu");
        var plane = await ControlPlaneProcess.StartAsync(settings);
        try
        {
            using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
            {
                (await http.PostAsync("/api/v1/stores", new StringContent($$"""{"name":"{{name}}"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
                await Eventually.WaitUntilAsync(async () => JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores/{name}"))!.Text("phase") == "ready", Generous, "ready");

                // The upgrade hangs on the Deployment's apply: the kill lands while the store is Updating and helm runs.
                var hang = Fixture.Api.Faults.AddLatency("PATCH", $"/namespaces/store-{name}/deployments/", TimeSpan.FromSeconds(60), times: 1);
                var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/stores/{name}") { Content = new StringContent("""{"plan":"medium"}""", Encoding.UTF8, "application/merge-patch+json") };
                (await http.SendAsync(request)).EnsureSuccessStatusCode();
                await Eventually.WaitUntilAsync(() => Task.FromResult(hang.Remaining == 0), Generous, "helm to be applying the Deployment");
                Assert.Equal("updating", JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores/{name}"))!.Text("phase"));
            }

            await plane.KillAsync();
            await plane.DisposeAsync();
            plane = await ControlPlaneProcess.StartAsync(settings);
            using var after = new HttpClient { BaseAddress = plane.BaseAddress };
            var store = await Eventually.WaitForAsync(async () =>
            {
                var s = JsonNode.Parse(await after.GetStringAsync($"/api/v1/stores/{name}"))!;
                return s.Text("phase") == "ready" && s.Text("servingPlan") == "medium" ? s : null;
            }, TimeSpan.FromSeconds(120), "the update to complete after the restart");

            Assert.Equal("medium", store.Text("plan"));
            Assert.Equal(StorePlan.Medium.Quota.Pods.ToString(System.Globalization.CultureInfo.InvariantCulture), (await Client.CoreV1.ReadNamespacedResourceQuotaAsync($"{name}-quota", $"store-{name}")).Spec.Hard["pods"].ToString());
        }
        finally
        {
            await plane.DisposeAsync();
        }
    }
}

using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi.Simulation;

namespace Storefleet.Engine.Tests;

/// <summary>Failures a person can act on, and failures the engine heals by itself.</summary>
public sealed class RecoveryTests(EngineFixture fixture) : IClassFixture<EngineFixture>, IDisposable
{
    public void Dispose()
    {
        fixture.Api.Simulation.ClearFaults();
        fixture.Api.Faults.Clear();
    }

    [Fact]
    public async Task ImagePullBackOff_IsReportedWithinSeconds_FailsAtThePhaseTimeout_AndRetryAfterTheFixIsReady()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:PhaseTimeout"] = "00:00:04" });
        var name = EngineFixture.NewStoreName("pull");
        fixture.Api.Simulation.AddPodFault(PodFault.ImagePullBackOff, $"store-{name}", "wordpress:6.8");

        var stopwatch = Stopwatch.StartNew();
        await plane.CreateStoreAsync(name);
        // Reported as the workloads' condition, or — when a loaded machine makes the first look at the pods come after the
        // (short) phase timeout — straight away as the failure's reason: either way it names the pod and the image.
        var reported = await Eventually.WaitForAsync(
            async () => await plane.Repository.GetAsync(name) is { } s
                ? s.Condition(ConditionTypes.WorkloadsReady) is { Reason: "ImagePullBackOff" } c ? c
                  : s.Condition(ConditionTypes.Failed) is { Reason: "ImagePullBackOff" } f ? f : null
                : null,
            TimeSpan.FromSeconds(30), "the ImagePullBackOff condition");
        // Watch-driven: expected well under a second; bounded generously (a loaded CI machine is slow), the figure is printed.
        Console.WriteLine($"ImagePullBackOff reported {stopwatch.Elapsed.TotalMilliseconds:0} ms after the create");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"reported after {stopwatch.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("wordpress:6.8.3-php8.3-apache", reported.Message);
        Assert.Contains($"{name}-wordpress-", reported.Message);

        var failed = await plane.WaitForPhaseAsync(name, StorePhase.Failed, TimeSpan.FromSeconds(15));
        Assert.Equal(StorePhase.Provisioning, failed.FailedPhase);
        var reason = failed.Condition(ConditionTypes.Failed)!;
        Assert.Equal("ImagePullBackOff", reason.Reason);
        Assert.Contains("wordpress:6.8.3-php8.3-apache", reason.Message);
        Assert.Contains((await plane.Repository.GetEventsAsync(name)), e => e.Type == StoreEventType.Warning && e.Message.Contains("ImagePullBackOff", StringComparison.Ordinal));

        fixture.Api.Simulation.ClearFaults();
        await plane.RetryStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task AMissingSecretKey_IsReportedAsCreateContainerConfigError_NamingPodAndContainer()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("cfg");
        var ns = $"store-{name}";
        var secrets = fixture.Api.State.Catalog.Find(string.Empty, "v1", "secrets")!;

        // The moment the engine's credentials Secret exists, one of its keys goes missing (as if edited by hand):
        // a kubelet cannot build the containers' environment.
        void DropKey(Storefleet.Testing.KubeApi.Storage.WatchEvent e)
        {
            if (e.Type == "ADDED" && e.Namespace == ns && e.Resource.Plural == "secrets" && e.Object["metadata"]!["name"]!.GetValue<string>() == $"{name}-credentials")
            {
                fixture.Api.Store.Update(secrets, ns, $"{name}-credentials", o =>
                {
                    o["data"]!.AsObject().Remove("mysql-password");
                    return o;
                });
            }
        }

        fixture.Api.Store.Changed += DropKey;
        try
        {
            await plane.CreateStoreAsync(name);
            var condition = await Eventually.WaitForAsync(
                async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.WorkloadsReady) is { Reason: "CreateContainerConfigError" } c ? c : null,
                TimeSpan.FromSeconds(30), "the CreateContainerConfigError condition");

            Assert.Contains($"couldn't find key mysql-password in Secret {ns}/{name}-credentials", condition.Message);
            Assert.Contains("container ", condition.Message);
            Assert.Contains($"Pod {name}-", condition.Message);
        }
        finally
        {
            fixture.Api.Store.Changed -= DropKey;
        }
    }

    [Fact]
    public async Task AQuotaThatRefusesPods_IsReportedAsFailedCreate_WithTheQuotasWords()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("quota");
        var ns = $"store-{name}";
        var quotas = fixture.Api.State.Catalog.Find(string.Empty, "v1", "resourcequotas")!;

        // A second, tighter quota appears with the namespace (as a cluster policy might add one): no WordPress pod fits.
        void AddQuota(Storefleet.Testing.KubeApi.Storage.WatchEvent e)
        {
            if (e.Type == "ADDED" && e.Resource.Plural == "namespaces" && e.Object["metadata"]!["name"]!.GetValue<string>() == ns)
            {
                fixture.Api.State.Writer.Create(quotas, ns, new System.Text.Json.Nodes.JsonObject
                {
                    ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "cluster-policy" },
                    ["spec"] = new System.Text.Json.Nodes.JsonObject { ["hard"] = new System.Text.Json.Nodes.JsonObject { ["limits.memory"] = "256Mi" } },
                }, Storefleet.Testing.KubeApi.Storage.WriteOptions.Controller);
            }
        }

        fixture.Api.Store.Changed += AddQuota;
        try
        {
            await plane.CreateStoreAsync(name);
            var condition = await Eventually.WaitForAsync(
                async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.WorkloadsReady) is { Reason: "FailedCreate" } c ? c : null,
                TimeSpan.FromSeconds(30), "the FailedCreate condition");

            Assert.Contains($"Deployment {name}-wordpress cannot create pods", condition.Message);
            Assert.Contains("exceeded quota: cluster-policy", condition.Message);
            Assert.Contains("limited: limits.memory=256Mi", condition.Message);
        }
        finally
        {
            fixture.Api.Store.Changed -= AddQuota;
        }
    }

    [Fact]
    public async Task AFailedWpCronRun_BecomesOneWarningOnTheStore_WithItsLastLogLines()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("cron");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(30));
        fixture.Api.Simulation.FailJobs(ns, "cron", "PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted");
        var jobs = fixture.Api.State.Catalog.Find("batch", "v1", "jobs")!;

        // A run of the chart's cron CronJob, as the CronJob controller creates it (labels from its jobTemplate).
        var run = System.Text.Json.Nodes.JsonNode.Parse("""
            {"metadata":{"name":"NAME-cron-29000000","labels":{"app.kubernetes.io/name":"store","app.kubernetes.io/instance":"NAME","app.kubernetes.io/component":"cron"}},
             "spec":{"backoffLimit":0,"template":{"spec":{"restartPolicy":"Never","serviceAccountName":"NAME","containers":[{"name":"cron","image":"wordpress:cli-2.12.0-php8.3","resources":{"requests":{"cpu":"25m","memory":"96Mi"},"limits":{"cpu":"100m","memory":"256Mi"}}}]}}}}
            """.Replace("NAME", name, StringComparison.Ordinal))!.AsObject();
        var (status, body) = fixture.Api.State.Writer.Create(jobs, ns, run, Storefleet.Testing.KubeApi.Storage.WriteOptions.Controller);
        Assert.True(status == 201, body.ToJsonString());

        var warning = await Eventually.WaitForAsync(
            async () => (await plane.Repository.GetEventsAsync(name)).FirstOrDefault(e => e.Step == "wp-cron"),
            TimeSpan.FromSeconds(20), "the failed cron run's event");
        Assert.Equal(StoreEventType.Warning, warning.Type);
        Assert.Contains($"{name}-cron-29000000 failed", warning.Message);
        Assert.Contains("Allowed memory size", warning.Message);

        // The same run seen again (a relabel, a relist) is not reported twice.
        fixture.Api.Store.Update(jobs, ns, $"{name}-cron-29000000", o => { o["metadata"]!["labels"]!["seen"] = "again"; return o; });
        await Eventually.WaitUntilAsync(() => Task.FromResult(fixture.Api.Store.Get(jobs, ns, $"{name}-cron-29000000")?["metadata"]?["labels"]?["seen"] is not null), TimeSpan.FromSeconds(5), "the relabel");
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(5));
        Assert.Single(await plane.Repository.GetEventsAsync(name), e => e.Step == "wp-cron");
        Assert.Equal(StorePhase.Ready, (await plane.Repository.GetAsync(name))!.Phase);
    }

    [Fact]
    public async Task ABootstrapFailure_FailsInBootstrapping_WithTheJobsLog_AndRetryRerunsOnlyTheJob()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("boot");
        var ns = $"store-{name}";
        fixture.Api.Simulation.FailJobs(ns, "bootstrap", "bootstrap: waiting for database", "bootstrap: FAILED: gave up waiting for database after 600s");

        await plane.CreateStoreAsync(name);
        var failed = await plane.WaitForPhaseAsync(name, StorePhase.Failed, TimeSpan.FromSeconds(60));

        Assert.Equal(StorePhase.Bootstrapping, failed.FailedPhase);
        Assert.Contains("gave up waiting for database", failed.Condition(ConditionTypes.Failed)!.Message);
        // One install (a helm run stopped by a lapsed lease on a loaded machine is run again with the same values, so
        // a second revision with the same digest may appear; nothing else changes the release before the retry).
        var before = ReleaseDigests(ns);
        Assert.True(before.Distinct().Count() == 1, $"release digests [{string.Join(", ", before)}] before the retry\n{await plane.DescribeAsync(name)}");
        if (before.Count > 1)
        {
            Console.WriteLine($"{before.Count} revisions before the retry:\n{await plane.DescribeAsync(name)}");
        }
        var deployment = Uid(ns, "Deployment", $"{name}-wordpress");
        var statefulSet = Uid(ns, "StatefulSet", $"{name}-mysql");

        fixture.Api.Simulation.ClearFaults();
        await plane.RetryStoreAsync(name);
        var ready = await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(60));

        Assert.Equal(2, ready.BootstrapGeneration);
        Assert.NotEqual(before[0], ReleaseDigests(ns)[^1]);
        Assert.Equal(deployment, Uid(ns, "Deployment", $"{name}-wordpress"));
        Assert.Equal(statefulSet, Uid(ns, "StatefulSet", $"{name}-mysql"));
        var jobs = Objects(ns, "Job").Select(j => j["metadata"]!["name"]!.GetValue<string>()).ToList();
        Assert.Single(jobs);
        Assert.StartsWith($"{name}-bootstrap-2-", jobs[0]);
    }

    [Fact]
    public async Task AHelmKilledMidInstall_LeavesPendingInstall_WhichIsRecoveredToReady()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("kill");
        var ns = $"store-{name}";
        var slow = fixture.Api.Faults.AddLatency("PATCH", $"/namespaces/{ns}/deployments/", TimeSpan.FromSeconds(60), times: 1);

        await plane.CreateStoreAsync(name);
        // helm is held mid-install on the Deployment (release recorded pending-install) when it is killed.
        await Eventually.WaitUntilAsync(() => Task.FromResult(slow.Remaining == 0), TimeSpan.FromSeconds(60), "helm to be applying the Deployment");
        Assert.Contains("pending-install", ReleaseStatuses(ns));
        var helm = await Eventually.WaitForAsync(() => Task.FromResult(HelmProcess(name)), TimeSpan.FromSeconds(5), "the helm process");
        using (var kill = Process.Start("kill", ["-KILL", helm!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(30));
        var events = await plane.Repository.GetEventsAsync(name);
        Assert.Contains(events, e => e.Step == "helm-recover" && e.Message.Contains("pending-install", StringComparison.Ordinal));
        Assert.Equal(["deployed"], ReleaseStatuses(ns));
    }

    [Fact]
    public async Task AnInstallWhoseFinalRecordWriteIsRefused_ExitsZeroWithTheReleasePending_AndIsRecoveredAtOnce()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("unrec");
        var ns = $"store-{name}";
        // helm install marks its record deployed last, and only logs when that write fails ("failed to record the
        // release"): it exits 0 with the record left pending-install, which no helm will ever finish.
        var statusWrite = fixture.Api.Faults.FailNext("PUT", $"^/api/v1/namespaces/{ns}/secrets/sh\\.helm\\.release\\.v1\\.{name}\\.v1$", 500);

        await plane.CreateStoreAsync(name);

        // Known to be this control plane's own dead writer, it is recovered at once, not after the stale-pending wait (2 min).
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(45));
        Assert.Equal(0, statusWrite.Remaining);
        var events = await plane.Repository.GetEventsAsync(name);
        Assert.Contains(events, e => e.Step == "helm-upgrade" && e.Type == StoreEventType.StepSucceeded);
        Assert.Contains(events, e => e.Step == "helm-recover" && e.Message.Contains("pending-install", StringComparison.Ordinal)
            && e.Message.Contains("this control plane", StringComparison.Ordinal));
        Assert.DoesNotContain(ReleaseStatuses(ns), status => status.StartsWith("pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHelmStoppedAtTheLeasesLocalDeadline_WhileRedisStillHeldTheLease_LeavesAPendingReleaseThatIsRecoveredAtOnce()
    {
        var name = EngineFixture.NewStoreName("lapse");
        var ns = $"store-{name}";
        int? stopped = null; // the helm run whose renewals lose their answers (only that one: the next run must go through)
        RenewalAnswersLost? queue = null;
        await using var plane = fixture.StartControlPlane(services: s =>
        {
            s.AddSingleton<Storefleet.Infrastructure.Redis.RedisWorkQueue>();
            s.AddSingleton<Storefleet.Core.Provisioning.IWorkQueue>(p => queue = new RenewalAnswersLost(
                p.GetRequiredService<Storefleet.Infrastructure.Redis.RedisWorkQueue>(), store => store == name && stopped is { } pid && HelmProcess(name) == pid));
        });
        var slow = fixture.Api.Faults.AddLatency("PATCH", $"/namespaces/{ns}/deployments/", TimeSpan.FromSeconds(60), times: 1);
        // When helm is stopped it marks its release failed; this write fails, so the release stays pending-install.
        var statusWrite = fixture.Api.Faults.FailNext("PUT", $"^/api/v1/namespaces/{ns}/secrets/sh\\.helm\\.release\\.v1\\.{name}\\.v1$", 500);

        await plane.CreateStoreAsync(name);
        await Eventually.WaitUntilAsync(() => Task.FromResult(slow.Remaining == 0), TimeSpan.FromSeconds(60), "helm to be applying the Deployment");
        stopped = await Eventually.WaitForAsync(() => Task.FromResult(HelmProcess(name)), TimeSpan.FromSeconds(5), "the helm process");

        // The renewals' answers are lost: at the local deadline helm is stopped; Redis never lost the lease, so the pending
        // record is known to be this replica's and is recovered at once, not after helm's timeout plus the grace (2 min here).
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(45));
        Assert.True(queue!.Lost > 0, "no renewal answer was lost");
        Assert.Equal(0, statusWrite.Remaining);
        var events = await plane.Repository.GetEventsAsync(name);
        Assert.Contains(events, e => e.Step == "helm-recover" && e.Message.Contains("pending-install", StringComparison.Ordinal)
            && e.Message.Contains("this control plane", StringComparison.Ordinal));
        Assert.DoesNotContain(ReleaseStatuses(ns), status => status.StartsWith("pending", StringComparison.Ordinal));
        Assert.Contains("deployed", ReleaseStatuses(ns));
        // The stop broke requests in flight: that is this worker's own cancellation, never "the cluster is unreachable".
        Assert.DoesNotContain(events, e => e.Step == "cluster");
    }

    [Fact]
    public async Task WithOneInFiveApiRequestsFailing_EveryStoreStillBecomesReady_AndTheRetriesShowInEvents()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:MaxAttempts"] = "500" });
        var before = fixture.Api.Requests.Entries.Count;
        var rules = new[]
        {
            // About one request in five fails: 429 (with Retry-After; client-go retries these), 500, and quota conflicts on
            // creates (neither retried by helm: one of them fails a whole helm run of ~70 requests, so they are kept rarer —
            // at 5 % almost no run of the chart's objects could succeed, which tests luck, not recovery).
            fixture.Api.Faults.FailRandomly("*", "^/api", 429, 0.19, seed: 7, retryAfterSeconds: 0),
            fixture.Api.Faults.FailRandomly("*", "^/api", 500, 0.02, seed: 7),
            fixture.Api.Faults.FailRandomly("POST", "^/api", 409, 0.02, seed: 7),
        };
        var names = Enumerable.Range(0, 4).Select(i => EngineFixture.NewStoreName($"flaky{i}")).ToList();
        try
        {
            foreach (var name in names)
            {
                await plane.CreateStoreAsync(name);
            }

            foreach (var name in names)
            {
                await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(120));
            }
        }
        finally
        {
            foreach (var rule in rules)
            {
                fixture.Api.Faults.Remove(rule);
            }
        }

        var during = fixture.Api.Requests.Entries.Skip(before).ToList();
        var share = during.Count(r => r.Status is 429 or 500 or 409) / (double)during.Count;
        Assert.True(share is >= 0.18 and < 0.3, $"{share:P0} of {during.Count} requests failed");
        Console.WriteLine($"API fault test: {share:P1} of {during.Count} requests failed");
        var retried = 0;
        foreach (var name in names)
        {
            retried += (await plane.Repository.GetEventsAsync(name)).Count(e => e.Type == StoreEventType.StepFailed && e.Message.Contains("retrying", StringComparison.Ordinal));
        }

        Assert.True(retried > 0, "no retry was recorded in any store's events");
    }

    [Fact]
    public async Task AForbiddenAnswer_IsTerminal_AndTheStoreFailsSayingWhatToCheck()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("deny");
        fixture.Api.Faults.FailNext("POST", $"^/api/v1/namespaces/store-{name}/secrets", 403, times: 10);

        await plane.CreateStoreAsync(name);
        var failed = await plane.WaitForPhaseAsync(name, StorePhase.Failed, TimeSpan.FromSeconds(15));

        var reason = failed.Condition(ConditionTypes.Failed)!;
        Assert.Equal("KubernetesRefused", reason.Reason);
        Assert.Contains("permissions", reason.Message);
        Assert.Equal(0, (await plane.Repository.GetEventsAsync(name)).Count(e => e.Message.Contains("retrying", StringComparison.Ordinal)));
    }

    private List<string?> ReleaseDigests(string ns) => [.. fixture.Api.ReleaseRecordsIn(ns).Select(r => r.Digest)];

    private IReadOnlyList<string> ReleaseStatuses(string ns) => [.. fixture.Api.ReleaseRecordsIn(ns).Select(r => r.Status)];

    private string Uid(string ns, string kind, string name) =>
        Objects(ns, kind).Single(o => o["metadata"]!["name"]!.GetValue<string>() == name)["metadata"]!["uid"]!.GetValue<string>();

    private IEnumerable<System.Text.Json.Nodes.JsonObject> Objects(string ns, string kind) =>
        fixture.Api.Store.InNamespace(ns).Select(o => o.Object).Where(o => o["kind"]?.GetValue<string>() == kind);

    /// <summary>The helm process installing this store, found by its command line.</summary>
    private static int? HelmProcess(string release)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Length > 3 && args[0].EndsWith("helm", StringComparison.Ordinal) && args[1] == "upgrade" && args[2] == "--install" && args[3] == release)
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }

        return null;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Storefleet.Core.Stores;
using Storefleet.Engine.Reconciling;
using Storefleet.Infrastructure.Redis;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Engine.Tests;

/// <summary>
/// The failures a distributed controller meets in production: a Redis stall longer than a lease, a Redis
/// that lost everything, a late worker, a long cluster outage, a replica with a wrong clock, a helm that
/// cannot start, two replicas configured with one instance id.
/// </summary>
public sealed class EngineHardeningTests(EngineFixture fixture) : IClassFixture<EngineFixture>, IDisposable
{
    public void Dispose()
    {
        fixture.Api.Simulation.ClearFaults();
        fixture.Api.Faults.Clear();
    }

    [Fact]
    public async Task ARedisStallLongerThanTheLease_StopsHelmBeforeTheLeaseLapses_SoTwoHelmsNeverRunOnOneRelease()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        using var helm = HelmWrapper.Create();
        var (a, b) = TwoPlanes(redis, helm, TimeSpan.FromSeconds(3));
        await using var disposeA = a;
        await using var disposeB = b;
        var name = EngineFixture.NewStoreName("stall");
        helm.DelayUpgrades(TimeSpan.FromSeconds(20));

        await a.CreateStoreAsync(name);
        var first = await Eventually.WaitForAsync(() => Task.FromResult(helm.Invocations().FirstOrDefault(i => i.Release == name && i.Command == "upgrade")),
            TimeSpan.FromSeconds(20), "the first helm upgrade to start");

        // Redis freezes for longer than the lease (3 s): renewals time out, the lease expires meanwhile.
        await redis.PauseAsync();
        var pausedAt = DateTimeOffset.UtcNow;
        await Eventually.WaitUntilAsync(() => Task.FromResult(helm.Invocations().Single(i => i.Pid == first.Pid).Ended is not null),
            TimeSpan.FromSeconds(15), "the worker to stop its helm at its lease's local deadline");
        var stopped = helm.Invocations().Single(i => i.Pid == first.Pid);
        await Task.Delay(TimeSpan.FromSeconds(5) - (DateTimeOffset.UtcNow - pausedAt) is { } rest && rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
        helm.DelayUpgrades(TimeSpan.Zero);
        await redis.ResumeAsync();
        var resumedAt = DateTimeOffset.UtcNow;

        await a.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(60));

        Assert.NotNull(stopped.TerminatedAt);
        Assert.True(stopped.Ended < resumedAt, $"the first helm ran on past the stall: {stopped}");
        var runs = helm.Invocations().Where(i => i.Release == name).OrderBy(i => i.Started).ToList();
        Assert.True(runs.Count >= 2, string.Join('\n', runs));
        for (var i = 1; i < runs.Count; i++)
        {
            Assert.False(runs[i].Overlaps(runs[i - 1]), $"two helm processes on {name} at once:\n{runs[i - 1]}\n{runs[i]}");
        }
    }

    [Fact]
    public async Task AHelmSlowToObeySigterm_IsKilledBeforeItsLeaseCanExpire_SoNoOtherWorkersHelmCanOverlapIt()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        using var helm = HelmWrapper.Create();
        var ttl = TimeSpan.FromSeconds(10);
        var (a, b) = TwoPlanes(redis, helm, ttl);
        await using var disposeA = a;
        await using var disposeB = b;
        var name = EngineFixture.NewStoreName("deaf");
        helm.DelayUpgrades(TimeSpan.FromSeconds(60));
        // This helm answers SIGTERM only after a minute — longer than the lease, and longer than the usual 10 s grace.
        helm.DelayTermination(TimeSpan.FromSeconds(60));

        await a.CreateStoreAsync(name);
        var first = await Eventually.WaitForAsync(() => Task.FromResult(helm.Invocations().FirstOrDefault(i => i.Release == name && i.Command == "upgrade")),
            TimeSpan.FromSeconds(20), "the first helm upgrade to start");

        // Redis freezes: no renewal lands after this, so the lease expires in Redis no later than one TTL from now.
        await redis.PauseAsync();
        var pausedAt = DateTimeOffset.UtcNow;
        var stopped = await Eventually.WaitForAsync(() => Task.FromResult(helm.Invocations().Single(i => i.Pid == first.Pid) is { Ended: not null } ended ? ended : null),
            TimeSpan.FromSeconds(60), "the first helm to end");
        var gone = stopped.Ended!.Value;
        Assert.NotNull(stopped.TerminatedAt);
        Console.WriteLine($"slow helm: SIGTERM {(stopped.TerminatedAt!.Value - pausedAt).TotalSeconds:0.0} s and gone {(gone - pausedAt).TotalSeconds:0.0} s after Redis froze (lease {ttl.TotalSeconds:0} s)");
        Assert.True(stopped.Killed, $"helm was not killed: {stopped}");
        Assert.True(gone < pausedAt + ttl, $"helm (pid {first.Pid}) was still running {(gone - pausedAt).TotalSeconds:0.0} s after Redis froze, past the {ttl.TotalSeconds:0} s lease: {stopped}");

        helm.DelayUpgrades(TimeSpan.Zero);
        helm.DelayTermination(TimeSpan.Zero);
        await redis.ResumeAsync();
        await a.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(90));
        var later = helm.Invocations().Where(i => i.Release == name && i.Pid != first.Pid).ToList();
        Assert.NotEmpty(later);
        Assert.All(later, run => Assert.True(run.Started > gone, $"{run} started while the killed helm {stopped} was still running (until {gone:HH:mm:ss.fff})"));
    }

    [Fact]
    public async Task AfterRedisLostEverything_TheSameNameForAnotherOwner_IsNotAdopted_CredentialsAreRefused_AndTheOrphanIsReported()
    {
        var admin = $"admin-{Guid.NewGuid():N}{Guid.NewGuid():N}";
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?>
        {
            ["Storefleet:Access:BootstrapAdminToken"] = admin,
            ["Storefleet:Engine:ResyncInterval"] = "00:00:01",
        });
        var alice = await TokenAsync(plane, admin, "alice");
        var name = EngineFixture.NewStoreName("lost");
        var ns = $"store-{name}";
        (await Client(plane, alice).PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
        var first = await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(30));

        // Redis loses everything of this installation (a volume lost, a failover gone wrong).
        var server = plane.Redis.GetServer(plane.Redis.GetEndPoints()[0]);
        await foreach (var key in server.KeysAsync(pattern: plane.KeyPrefix + "*"))
        {
            await plane.Redis.GetDatabase().KeyDeleteAsync(key);
        }

        var bob = await TokenAsync(plane, admin, "bob");
        (await Client(plane, bob).PostAsJsonAsync("/api/v1/stores", new { name })).EnsureSuccessStatusCode();
        var failed = await plane.WaitForPhaseAsync(name, StorePhase.Failed, TimeSpan.FromSeconds(30));

        var reason = failed.Condition(ConditionTypes.Failed)!;
        Assert.Equal("NamespaceConflict", reason.Reason);
        Assert.Contains($"uid {first.Uid}", reason.Message);
        Assert.NotEqual(first.Uid, failed.Uid);

        var credentials = await Client(plane, bob).GetAsync($"/api/v1/stores/{name}/credentials");
        Assert.Equal(HttpStatusCode.Conflict, credentials.StatusCode);
        var problem = await credentials.Content.ReadAsStringAsync();
        Assert.Contains("belongs to another store", problem);
        Assert.DoesNotContain("adminPassword", problem);

        // Nothing of bob's store was installed into alice's namespace.
        Assert.Equal(["1"], fixture.Api.Store.InNamespace(ns).Select(o => o.Object)
            .Where(o => o["kind"]?.GetValue<string>() == "Secret" && o["metadata"]!["labels"]?["owner"]?.GetValue<string>() == "helm")
            .Select(o => o["metadata"]!["labels"]!["version"]!.GetValue<string>()));

        // A scan between the loss and bob's create reported it as a namespace without a record; the next scan names the other store.
        var orphan = await Eventually.WaitForAsync(async () =>
            JsonNode.Parse(await Client(plane, admin).GetStringAsync("/api/v1/orphans"))!["items"]!.AsArray()
                .FirstOrDefault(o => o!["namespace"]!.GetValue<string>() == ns && o["message"]!.GetValue<string>().Contains("never adopts it", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the orphan report naming the other store");
        Assert.Equal(first.Uid, orphan!["uid"]!.GetValue<string>());
        Assert.Contains("never adopts it", orphan["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task ALateWorker_WhoseRecordIsGone_NeverCreatesTheNamespace()
    {
        var gate = new PausingGate("namespace");
        var name = EngineFixture.NewStoreName("late");
        var ns = $"store-{name}";
        // A long lease: no renewal tells this worker anything during the test; only the check before the write can.
        await using var plane = fixture.StartControlPlane(
            new Dictionary<string, string?> { ["Storefleet:Engine:LeaseTtl"] = "00:01:00" },
            services: s => s.AddSingleton<IReconcileGate>(gate));

        await plane.CreateStoreAsync(name);
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // Meanwhile its lease lapsed and another worker removed the record (the interleaving of the report).
        var db = plane.Redis.GetDatabase();
        await db.KeyDeleteAsync($"{plane.KeyPrefix}lease:{name}");
        var record = (await plane.Repository.GetAsync(name))!;
        await plane.Repository.RemoveAsync(record, new StoreEvent(DateTimeOffset.UtcNow, StoreEventType.Deleted, record.Phase, "removed by another worker"));
        gate.Release();

        await Eventually.WaitUntilAsync(() => Task.FromResult(plane.Activity.Steps.Any(s => s.Store == name && s.Step == "namespace")),
            TimeSpan.FromSeconds(20), "the late worker's namespace step to finish");
        Assert.Equal("lease-lost", plane.Activity.Steps.Last(s => s.Store == name && s.Step == "namespace").Outcome);
        Assert.Null(fixture.Api.Store.Get(fixture.Api.State.Catalog.Find(string.Empty, "v1", "namespaces")!, null, ns));
    }

    [Fact]
    public async Task AHalfHourClusterOutage_FailsNoStore_TheyContinueWhenItReturns()
    {
        var port = FreePort.Next();
        var kubeconfig = Path.Combine(Directory.CreateTempSubdirectory("kubeconfig-").FullName, "config");
        await File.WriteAllTextAsync(kubeconfig, (await File.ReadAllTextAsync(fixture.Api.KubeconfigPath)).Replace(fixture.Api.BaseUrl.Authority, $"127.0.0.1:{port}", StringComparison.Ordinal));
        var clock = new ShiftableClock();
        await using var plane = fixture.StartControlPlane(
            new Dictionary<string, string?> { ["Storefleet:Engine:Kubeconfig"] = kubeconfig, ["Storefleet:Engine:PhaseTimeout"] = "00:01:00" },
            services: s => s.AddSingleton<TimeProvider>(clock));
        var names = new[] { EngineFixture.NewStoreName("dark"), EngineFixture.NewStoreName("dark") };
        foreach (var name in names)
        {
            await plane.CreateStoreAsync(name);
            await Eventually.WaitUntilAsync(async () => (await plane.Repository.GetAsync(name))?.Condition(ConditionTypes.ClusterReachable) is { Status: false },
                TimeSpan.FromSeconds(20), $"store {name} to wait for the cluster");
        }

        clock.Shift(TimeSpan.FromMinutes(30));
        await using var cluster = await KubeApiTestServer.StartAsync(port, Path.Combine(Path.GetDirectoryName(kubeconfig)!, "double-config"));

        foreach (var name in names)
        {
            var ready = await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(60));
            Assert.Null(ready.Condition(ConditionTypes.Failed));
        }
    }

    [Fact]
    public async Task AHelmThatCannotStart_IsRetriedWithBackoff_AndFailsTheStoreAfterMaxAttempts_SayingWhy()
    {
        var notExecutable = Path.Combine(Directory.CreateTempSubdirectory("helm-").FullName, "helm");
        await File.WriteAllTextAsync(notExecutable, "not a binary");
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?>
        {
            ["Storefleet:Engine:HelmPath"] = notExecutable,
            ["Storefleet:Engine:MaxAttempts"] = "3",
        });
        var name = EngineFixture.NewStoreName("nohelm");

        await plane.CreateStoreAsync(name);
        var failed = await plane.WaitForPhaseAsync(name, StorePhase.Failed, TimeSpan.FromSeconds(60));

        var timeline = await plane.DescribeAsync(name);
        var reason = failed.Condition(ConditionTypes.Failed)!;
        Assert.True(reason.Reason == "RetriesExhausted", timeline);
        Assert.Contains("helm could not be started", reason.Message);
        Assert.Contains("Storefleet:Engine:HelmPath", reason.Message);
        var attempts = (await plane.Repository.GetEventsAsync(name)).Where(e => e.Type == StoreEventType.StepFailed).ToList();
        Assert.True(attempts.Count == 3, timeline);
        Assert.Contains("retrying in", attempts[0].Message);
    }

    [Fact]
    public async Task AReplicaWhoseClockIsAMinuteBehind_DoesNotMakeIdleReplicasSpin()
    {
        var prefix = EngineFixture.NewPrefix();
        using var helm = HelmWrapper.Create();
        helm.DelayUpgrades(TimeSpan.FromSeconds(8));
        var settings = new Dictionary<string, string?> { ["Storefleet:Engine:HelmPath"] = helm.Path };
        await using var behind = fixture.StartControlPlane(settings, prefix,
            s => s.AddKeyedSingleton<TimeProvider>(RedisClock.LocalClockKey, new ShiftableClock(TimeSpan.FromMinutes(-1))));
        var name = EngineFixture.NewStoreName("skew");
        await behind.CreateStoreAsync(name);
        await Eventually.WaitUntilAsync(() => Task.FromResult(helm.Invocations().Any(i => i.Release == name && i.Ended is null)),
            TimeSpan.FromSeconds(20), "the skewed replica to be running helm (holding the lease)");

        await using var idle = fixture.StartControlPlane(settings, prefix);
        await Eventually.WaitUntilAsync(() => Task.FromResult(idle.Activity.ClaimAttempts > 0), TimeSpan.FromSeconds(20), "the idle replica's engine to start");
        var before = idle.Activity.ClaimAttempts;
        await Task.Delay(TimeSpan.FromSeconds(3));
        var attempts = idle.Activity.ClaimAttempts - before;

        Console.WriteLine($"idle replica: {attempts} claim attempts in 3 s while a replica a minute behind held a lease");
        Assert.True(attempts < 30, $"the idle replica asked the queue {attempts} times in 3 s (it should sleep until the lease's due time, about once a second)");
        Assert.True(Math.Abs(behind.Services.GetRequiredService<RedisClock>().Offset.TotalSeconds - 60) < 5, $"offset {behind.Services.GetRequiredService<RedisClock>().Offset}");
    }

    [Fact]
    public async Task ReplicasShippingDifferentCharts_PinEachStoreToOneRelease_AndNeverBounceIt()
    {
        using var olderCharts = ChartCopy.Create("0.0.9");
        var prefix = EngineFixture.NewPrefix();
        fixture.Api.Simulation.ReadyDelay = TimeSpan.FromMilliseconds(400);
        try
        {
            await using var newer = fixture.StartControlPlane(keyPrefix: prefix);
            await using var older = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ChartsDirectory"] = olderCharts.Directory }, prefix);
            var names = Enumerable.Range(0, 6).Select(i => EngineFixture.NewStoreName($"pin{i}")).ToList();
            for (var i = 0; i < names.Count; i++)
            {
                await (i % 2 == 0 ? older : newer).CreateStoreAsync(names[i]);
            }

            foreach (var name in names)
            {
                var ready = await newer.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromSeconds(60));
                var digests = ReleaseDigests($"store-{name}");

                // Installed with the pinned release; at most one move, and only forward to the newer chart — never back and forth.
                // A helm run that failed on a loaded machine is retried with the same digest (a new revision each time):
                // that is a retry, not a move, so consecutive revisions with one digest count once.
                Assert.Equal(ready.Pin!.Digest, digests[^1]);
                var moves = digests.Where((d, i) => i == 0 || d != digests[i - 1]).ToList();
                Assert.True(moves.Count <= 2, $"store {name} moved between releases {moves.Count - 1} times: {string.Join(", ", digests)}\n{await newer.DescribeAsync(name)}");
                if (digests.Count > moves.Count)
                {
                    Console.WriteLine($"store {name}: {digests.Count} revisions for {moves.Count} release(s) (retried)\n{await newer.DescribeAsync(name)}");
                }

                if (moves.Count == 2)
                {
                    Assert.Equal("0.1.0", ready.Pin.ChartVersion);
                }
                Assert.Single(fixture.Api.Store.InNamespace($"store-{name}"), o => o.Object["kind"]?.GetValue<string>() == "Job");
            }
        }
        finally
        {
            fixture.Api.Simulation.ReadyDelay = TimeSpan.Zero;
        }
    }

    [Fact]
    public async Task WatchesThatEndCleanlyAtOnce_AreResumedWithBackoff_NotInATightLoop_AndNotListedAgain()
    {
        var rule = fixture.Api.Faults.EndStreams("GET", @"^/api/v1/pods\?.*watch=true");
        try
        {
            // Backoff from 200 ms, doubling, capped at the cluster retry delay (2 s here): about five watches in 3 s.
            await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ClusterRetryDelay"] = "00:00:02" });
            await Eventually.WaitUntilAsync(() => Task.FromResult(Watches().Count > 0), TimeSpan.FromSeconds(20), "the pod watch to start");
            var (watchesBefore, listsBefore) = (Watches().Count, Lists().Count);
            await Task.Delay(TimeSpan.FromSeconds(3));
            var watches = Watches().Count - watchesBefore;

            Console.WriteLine($"pod watch ending at once: {watches} watches resumed in 3 s, {Lists().Count - listsBefore} lists");
            Assert.True(watches is > 0 and <= 12, $"the engine watched pods {watches} times in 3 s");
            // An informer resumes from the last resource version: a clean end is never a reason to list everything again.
            Assert.Equal(listsBefore, Lists().Count);
            Assert.All(Watches().Skip(1), w => Assert.Contains("resourceVersion=", w.PathAndQuery, StringComparison.Ordinal));
        }
        finally
        {
            fixture.Api.Faults.Remove(rule);
        }

        List<Storefleet.Testing.KubeApi.LoggedRequest> Pods() =>
            [.. fixture.Api.Requests.Entries.Where(r => r.Method == "GET" && r.PathAndQuery.StartsWith("/api/v1/pods?", StringComparison.Ordinal))];

        List<Storefleet.Testing.KubeApi.LoggedRequest> Lists() => [.. Pods().Where(r => !r.PathAndQuery.Contains("watch=true", StringComparison.Ordinal))];

        List<Storefleet.Testing.KubeApi.LoggedRequest> Watches() => [.. Pods().Where(r => r.PathAndQuery.Contains("watch=true", StringComparison.Ordinal))];
    }

    [Fact]
    public async Task TwoReplicasConfiguredWithOneInstanceId_TheSecondRefusesToStart()
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = fixture.Redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = EngineFixture.NewPrefix(),
            ["Storefleet__Engine__Kubeconfig"] = fixture.Api.KubeconfigPath,
            ["Storefleet__Engine__InstanceId"] = "replica-1",
        };
        await using var first = await ControlPlaneProcess.StartAsync(settings);
        await using var second = ControlPlaneProcess.Start(settings);

        Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("another live control-plane replica runs with engine instance id 'replica-1'", second.Output);
        Assert.DoesNotContain("   at ", second.Output);
        Assert.False(first.HasExited);
    }

    /// <summary>Two started control planes sharing one redis-server (short client timeouts) and a helm wrapper, with lease <paramref name="ttl"/>.</summary>
    private (ControlPlane A, ControlPlane B) TwoPlanes(RedisServerProcess redis, HelmWrapper helm, TimeSpan ttl)
    {
        var prefix = EngineFixture.NewPrefix();
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis.ConnectionString + ",syncTimeout=1000,asyncTimeout=1000",
            ["Storefleet:Engine:HelmPath"] = helm.Path,
            ["Storefleet:Engine:LeaseTtl"] = ttl.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        };
        var a = new ControlPlane(redis.ConnectionString, prefix, fixture.Api.KubeconfigPath, settings);
        var b = new ControlPlane(redis.ConnectionString, prefix, fixture.Api.KubeconfigPath, settings);
        _ = a.Server;
        _ = b.Server;
        return (a, b);
    }

    private List<string?> ReleaseDigests(string ns) => [.. fixture.Api.ReleaseRecordsIn(ns).Select(r => r.Digest)];

    private static HttpClient Client(ControlPlane plane, string token)
    {
        var client = plane.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<string> TokenAsync(ControlPlane plane, string admin, string subject)
    {
        var response = await Client(plane, admin).PostAsJsonAsync("/api/v1/tokens", new { subject, role = "member" });
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
    }

    /// <summary>Pauses the first worker that reaches <paramref name="step"/> until released (ignoring cancellation, as a frozen process would).</summary>
    private sealed class PausingGate(string step) : IReconcileGate
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _paused;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        public async Task BeforeActionAsync(string store, string step1, CancellationToken cancellationToken)
        {
            if (step1 == step && Interlocked.Exchange(ref _paused, 1) == 0)
            {
                Reached.TrySetResult();
                await _release.Task;
            }
        }
    }
}

/// <summary>The system clock shifted by an offset that a test can change (a clock that is wrong, or time that "passes").</summary>
public sealed class ShiftableClock(TimeSpan initial = default) : TimeProvider
{
    private long _offsetTicks = initial.Ticks;

    public void Shift(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;
using Storefleet.Testing.KubeApi.Simulation;

namespace Storefleet.Engine.Tests;

/// <summary>
/// Fleet rollouts on the test double with real helm and Redis: a fleet installed by a control plane shipping chart 0.0.9
/// (WordPress 6.8.2) is moved by a newer one (chart 0.1.0, WordPress 6.8.3) in a canary and batches — every store exactly
/// one revision further, failures rolled back and pausing the rollout, the in-flight limit kept.
/// </summary>/// <summary>
/// Fleet rollouts on the test double with real helm and Redis: a fleet installed by a control plane shipping chart 0.0.9
/// (WordPress 6.8.2) is moved by a newer one (chart 0.1.0, WordPress 6.8.3) in a canary and batches — every store exactly
/// one revision further, failures rolled back and pausing the rollout, the in-flight limit kept. The tests are split in
/// classes (each with its own test double and Redis) so that they run side by side.
/// </summary>
public abstract class RolloutTestBase(EngineFixture fixture)
{
    protected static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    protected EngineFixture Fixture { get; } = fixture;

    protected string WordPressImage(string name) =>
        Fixture.Api.Store.Get(Fixture.Api.State.Catalog.Find("apps", "v1", "deployments")!, $"store-{name}", $"{name}-wordpress")!
            ["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    protected static Task<HttpResponseMessage> PostRolloutAsync(HttpClient client, string idempotencyKey) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/rollouts")
        {
            Content = JsonContent.Create(new { strategy = new { canary = 1, batchSize = 5, maxInFlight = 3 } }),
            Headers = { { "Idempotency-Key", idempotencyKey } },
        });

    /// <summary>N stores installed and Ready by a control plane shipping chart 0.0.9 with WordPress 6.8.2 (outdated for the repository's chart).</summary>
    protected async Task<IReadOnlyList<string>> CreateOutdatedFleetAsync(string prefix, int count, string stem)
    {
        using var olderCharts = ChartCopy.Create("0.0.9", values => ChartCopy.Replace(values, "tag: \"6.8.3-php8.3-apache\"", "tag: \"6.8.2-php8.3-apache\""));
        await using var older = Fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ChartsDirectory"] = olderCharts.Directory }, prefix);
        var names = Enumerable.Range(0, count).Select(_ => EngineFixture.NewStoreName(stem)).Order(StringComparer.Ordinal).ToList();
        foreach (var name in names)
        {
            await older.CreateStoreAsync(name);
        }

        foreach (var name in names)
        {
            Assert.Equal("0.0.9", (await older.WaitForPhaseAsync(name, StorePhase.Ready, Generous)).Pin!.ChartVersion);
        }

        return names;
    }

    protected ControlPlane StartPlane(string prefix) =>
        Fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:PhaseTimeout"] = "00:00:10" }, prefix);

    internal static async Task<string> CreateRolloutAsync(HttpClient client, object request)
    {
        var created = await client.PostAsJsonAsync("/api/v1/rollouts", request);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonObject>())!.Text("id");
    }

    /// <summary>What an untouched store keeps: its release revisions and its WordPress Deployment (uid and spec generation).</summary>
    protected async Task<Dictionary<string, (int Revisions, string Uid, long Generation)>> SnapshotAsync(IEnumerable<string> names)
    {
        var snapshot = new Dictionary<string, (int, string, long)>();
        foreach (var name in names)
        {
            var deployment = Fixture.Api.Store.Get(Fixture.Api.State.Catalog.Find("apps", "v1", "deployments")!, $"store-{name}", $"{name}-wordpress")!;
            snapshot[name] = (ReleaseRevisions($"store-{name}"), deployment["metadata"]!["uid"]!.GetValue<string>(), (long)deployment["metadata"]!["generation"]!.AsValue().GetValue<int>());
        }

        return snapshot;
    }

    internal static async Task<JsonObject> WaitForRolloutAsync(HttpClient client, string id, Func<JsonObject, bool> condition, string what) =>
        await Eventually.WaitForAsync(async () => await client.GetFromJsonAsync<JsonObject>($"/api/v1/rollouts/{id}") is { } r && condition(r) ? r : null, Generous, what);

    internal static int Count(JsonObject rollout, string state) => rollout["counts"]![state]!.GetValue<int>();

    /// <summary>The most store upgrades under way at one moment, from each store's own timeline (requested → upgraded or rolled back).</summary>
    protected static async Task<int> MostUpgradesAtOnceAsync(ControlPlane plane, IEnumerable<string> names, string id)
    {
        var edges = new List<(DateTimeOffset Time, int Delta)>();
        foreach (var name in names)
        {
            var events = await plane.Repository.GetEventsAsync(name);
            var requested = events.Single(e => e.Message.StartsWith($"Upgrade requested by rollout {id} ", StringComparison.Ordinal)).Time;
            var ended = events.First(e => e.Time >= requested && e.Phase is StorePhase.Ready or StorePhase.Degraded && e.Type is StoreEventType.PhaseChanged or StoreEventType.StepFailed).Time;
            edges.Add((requested, 1));
            edges.Add((ended, -1));
        }

        var (most, current) = (0, 0);
        foreach (var (_, delta) in edges.OrderBy(e => e.Time).ThenBy(e => e.Delta))
        {
            current += delta;
            most = Math.Max(most, current);
        }

        return most;
    }

    protected static async Task<JsonObject> FleetAsync(HttpClient client) => (await client.GetFromJsonAsync<JsonObject>("/api/v1/fleet"))!;

    protected int ReleaseRevisions(string ns) => Fixture.Api.ReleaseRecordsIn(ns).Count;
}

/// <summary>Rollouts in waves: a canary then batches of five, one revision each, while stores come and go; an image-tag override.</summary>
public sealed class RolloutTests(EngineFixture fixture) : RolloutTestBase(fixture), IClassFixture<EngineFixture>
{
    [Fact]
    public async Task TwentyOutdatedStores_MoveInACanaryThenBatchesOfFive_OneRevisionEach_WhileStoresAreCreatedAndDeleted()
    {
        var prefix = EngineFixture.NewPrefix();
        var fleet = await CreateOutdatedFleetAsync(prefix, 20, "ra");
        var victim = (await CreateOutdatedFleetAsync(prefix, 1, "rz"))[0]; // sorts last: in the last batch
        var revisions = fleet.ToDictionary(n => n, n => ReleaseRevisions($"store-{n}"));

        await using var plane = Fixture.StartControlPlane(keyPrefix: prefix);
        var client = plane.CreateClient();
        var key = Guid.NewGuid().ToString();
        var created = await PostRolloutAsync(client, key);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var rollout = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = rollout.Text("id");

        // The same request again is answered as the first time; another one cannot take stores an active rollout holds.
        Assert.Equal(id, (await (await PostRolloutAsync(client, key)).Content.ReadFromJsonAsync<JsonObject>())!.Text("id"));
        var second = await PostRolloutAsync(client, Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains($"(in {id})", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(21, rollout["counts"]!["total"]!.GetValue<int>());
        Assert.Equal(5, rollout["batches"]!.GetValue<int>());
        Assert.Equal("0.1.0", rollout["target"]!.Text("chartVersion"));

        // Mid-rollout: a store created now is created at the new version; a store deleted before its turn is skipped.
        await WaitForRolloutAsync(client, id, r => r["currentBatch"]!.GetValue<int>() >= 2, "the rollout to reach its second batch");
        var fresh = EngineFixture.NewStoreName("rnew");
        await plane.CreateStoreAsync(fresh);
        await plane.DeleteStoreAsync(victim);

        var done = await WaitForRolloutAsync(client, id, r => r.Text("state") != "running", "the rollout to finish");
        Assert.True(done.Text("state") == "succeeded", done.Pretty());
        Assert.Equal((20, 0, 1), (Count(done, "succeeded"), Count(done, "failed"), Count(done, "skipped")));
        var skipped = done["stores"]!.AsArray().Single(s => s!.Text("state") == "skipped")!;
        Assert.Equal(victim, skipped.Text("name"));
        Assert.Contains("Deleted", skipped.Text("reason"), StringComparison.Ordinal);

        foreach (var name in fleet)
        {
            var store = (await plane.Repository.GetAsync(name))!;
            Assert.Equal(StorePhase.Ready, store.Phase);
            Assert.Equal(("0.1.0", "6.8.3-php8.3-apache"), (store.Pin!.ChartVersion, store.Pin.Apps!.WordPress));
            Assert.Equal(revisions[name] + 1, ReleaseRevisions($"store-{name}"));
            Assert.Contains(await plane.Repository.GetEventsAsync(name), e => e.Message.StartsWith($"Upgrade requested by rollout {id} ", StringComparison.Ordinal));
        }

        Assert.Equal("0.1.0", (await plane.WaitForPhaseAsync(fresh, StorePhase.Ready, Generous)).Pin!.ChartVersion);
        await plane.WaitForGoneAsync(victim, Generous);

        // The rollout's timeline tells the whole story; the stores' own timelines show at most 3 upgrades at once.
        var events = done["events"]!.AsArray().Select(e => e!.Text("message")).ToList();
        Assert.Contains(events, e => e.StartsWith("Rollout created by", StringComparison.Ordinal));
        Assert.Equal(4, events.Count(e => e.StartsWith("Batch ", StringComparison.Ordinal) && e.Contains(" started", StringComparison.Ordinal)));
        Assert.All(fleet, name => Assert.Contains(events, e => e.StartsWith($"{name} succeeded: Upgraded from chart 0.0.9 to 0.1.0", StringComparison.Ordinal)));
        Assert.Contains(events, e => e.StartsWith("Rollout succeeded: 20 succeeded, 0 failed, 1 skipped of 21", StringComparison.Ordinal));
        Assert.InRange(await MostUpgradesAtOnceAsync(plane, fleet, id), 1, 3);
        Assert.Empty((await FleetAsync(client))["outdated"]!["names"]!.AsArray());
    }

    [Fact]
    public async Task AnImageTagOverride_MovesTheStoresToThatTag_AndNoRolloutMovesThemBack()
    {
        var prefix = EngineFixture.NewPrefix();
        await using var plane = StartPlane(prefix);
        var names = new[] { EngineFixture.NewStoreName("ov"), EngineFixture.NewStoreName("ov") };
        foreach (var name in names)
        {
            await plane.CreateStoreAsync(name);
        }

        foreach (var name in names)
        {
            await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        }

        var client = plane.CreateClient();
        var nothing = await client.PostAsJsonAsync("/api/v1/rollouts", new { selection = new { stores = names } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nothing.StatusCode);

        // A security release ahead of the next chart: WordPress 6.8.4 on chart 0.1.0, with WooCommerce as the chart ships it.
        var id = await CreateRolloutAsync(client, new { selection = new { stores = names }, target = new { wordPressTag = "6.8.4-php8.3-apache" }, strategy = new { canary = 0 } });
        var done = await WaitForRolloutAsync(client, id, r => r.Text("state") != "running", "the override rollout to finish");
        Assert.True(done.Text("state") == "succeeded" && Count(done, "succeeded") == 2, done.Pretty());
        Assert.Equal("6.8.4-php8.3-apache", done["target"]!["apps"]!.Text("wordPress"));
        foreach (var name in names)
        {
            var store = (await plane.Repository.GetAsync(name))!;
            Assert.Equal(("0.1.0", "6.8.4-php8.3-apache", "10.2.2"), (store.Pin!.ChartVersion, store.Pin.Apps!.WordPress, store.Pin.Apps.WooCommerce));
            Assert.Equal("wordpress:6.8.4-php8.3-apache", WordPressImage(name));
        }

        // They are not outdated (they run what they were moved to), and the fleet shows them as their own version.
        var fleet = await FleetAsync(client);
        Assert.DoesNotContain(fleet["outdated"]!["names"]!.AsArray(), n => names.Contains(n!.GetValue<string>()));

        // A rollout to the chart's own (older) WordPress would move them back: migrations are forward-only, so it never does.
        var back = await client.PostAsJsonAsync("/api/v1/rollouts", new { selection = new { stores = names }, strategy = new { canary = 0 } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, back.StatusCode);
        Assert.Contains("never moves a store back", await back.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.All(names, name => Assert.Equal("wordpress:6.8.4-php8.3-apache", WordPressImage(name)));
    }
}

/// <summary>Rollouts that fail: a canary whose analysis fails is rolled back and pauses the rollout; more failures than the budget pause it.</summary>
public sealed class RolloutFailureTests(EngineFixture fixture) : RolloutTestBase(fixture), IClassFixture<EngineFixture>
{
    [Fact]
    public async Task ACanaryThatFailsItsAnalysis_IsRolledBack_ThePauseLeavesTheOther19Untouched_AndResumeContinues()
    {
        var prefix = EngineFixture.NewPrefix();
        var fleet = await CreateOutdatedFleetAsync(prefix, 20, "ca");
        var canary = fleet[0];
        var before = await SnapshotAsync(fleet);

        // The canary's migrations fail: its snapshot is restored and its release rolled back.
        Fixture.Api.Simulation.FailJobs($"store-{canary}", "-upgrade-", "Error: wp core update-db failed (simulated)");
        await using var plane = StartPlane(prefix);
        var served = (await plane.Repository.GetAsync(canary))!.Pin!;
        var client = plane.CreateClient();
        var id = await CreateRolloutAsync(client, new { strategy = new { canary = 1, batchSize = 5 } });

        var paused = await WaitForRolloutAsync(client, id, r => r.Text("state") != "running", "the rollout to pause");
        Assert.True(paused.Text("state") == "paused", paused.Pretty());
        Assert.StartsWith($"The canary failed ({canary})", paused.Text("reason"), StringComparison.Ordinal);
        Assert.Equal((0, 1, 19), (Count(paused, "succeeded"), Count(paused, "failed"), Count(paused, "waiting")));
        var failed = (await plane.Repository.GetAsync(canary))!;
        Assert.Equal(StorePhase.Degraded, failed.Phase);
        Assert.Equal(served with { Generation = failed.Generation }, failed.Pin);
        Assert.Equal(served.Digest, Fixture.Api.ReleaseRecordsIn($"store-{canary}")[^1].Digest);
        Assert.Equal(before[canary].Revisions + 2, ReleaseRevisions($"store-{canary}")); // the failed upgrade and the rollback
        Assert.Contains("rolled back", paused["stores"]!.AsArray()[0]!.Text("reason"), StringComparison.Ordinal);
        Assert.Contains("restored from the pre-upgrade snapshot", paused["stores"]!.AsArray()[0]!.Text("reason"), StringComparison.Ordinal);
        Assert.Contains("wp core update-db failed (simulated)", failed.Condition(ConditionTypes.UpdateFailed)!.Message, StringComparison.Ordinal);
        Assert.Contains(await plane.Repository.GetEventsAsync(canary), e => e.Step == "snapshot-restore" && e.Message.Contains($"{canary}-restore-", StringComparison.Ordinal));
        Assert.Contains(Fixture.Api.Requests.Entries, r => r.Method == "PATCH" && r.PathAndQuery.Contains($"/namespaces/store-{canary}/jobs/{canary}-restore-", StringComparison.Ordinal));

        // Paused: nothing else moved (and the timeline below shows no store started before the resume).
        Assert.Equal(before.Skip(1), await SnapshotAsync(fleet.Skip(1)));

        // Resumed (the canary's failure accepted), the other 19 move; the canary stays as it was rolled back.
        Fixture.Api.Simulation.ClearFaults();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/rollouts/{id}/resume", null)).StatusCode);
        var done = await WaitForRolloutAsync(client, id, r => r.Text("state") is "succeeded" or "aborted" || (r.Text("state") == "paused" && Count(r, "failed") > 1), "the rollout to finish");
        Assert.True(done.Text("state") == "succeeded", done.Pretty());
        Assert.Equal((19, 1), (Count(done, "succeeded"), Count(done, "failed")));
        Assert.All(fleet.Skip(1), name => Assert.Equal(before[name].Revisions + 1, ReleaseRevisions($"store-{name}")));
        var timeline = done["events"]!.AsArray().Select(e => e!.Text("message")).ToList();
        var resumedAt = timeline.FindIndex(e => e.StartsWith("Resumed by", StringComparison.Ordinal));
        Assert.True(resumedAt > timeline.FindIndex(e => e.StartsWith("Paused: The canary failed", StringComparison.Ordinal)), string.Join("\n", timeline));
        Assert.All(fleet.Skip(1), name => Assert.True(timeline.FindIndex(e => e.StartsWith($"Upgrade of {name} started", StringComparison.Ordinal)) > resumedAt, name));
    }

    [Fact]
    public async Task MoreFailuresInABatchThanItsBudget_PauseTheRollout_AndAbortTouchesNothingMore()
    {
        var prefix = EngineFixture.NewPrefix();
        var fleet = await CreateOutdatedFleetAsync(prefix, 8, "bu");

        // Three ways a store fails its analysis: its new WordPress never gets ready, its migrations fail, its smoke test fails.
        Fixture.Api.Simulation.AddPodFault(PodFault.ImagePullBackOff, $"store-{fleet[0]}", "wordpress:6.8.3");
        Fixture.Api.Simulation.FailJobs($"store-{fleet[1]}", "-upgrade-", "Error: wp wc update failed (simulated)");
        Fixture.Api.Simulation.FailJobs($"store-{fleet[2]}", "-test-storefront", "smoke test: the cart answered 500 (simulated)");

        var before = await SnapshotAsync(fleet);
        await using var plane = StartPlane(prefix);
        var client = plane.CreateClient();
        var id = await CreateRolloutAsync(client, new { strategy = new { canary = 0, batchSize = 5, maxInFlight = 5, failureBudget = 2 } });

        var paused = await WaitForRolloutAsync(client, id, r => r.Text("state") != "running", "the rollout to pause");
        Assert.True(paused.Text("state") == "paused", paused.Pretty());
        Assert.StartsWith("3 store(s) failed, more than the failure budget of 2", paused.Text("reason"), StringComparison.Ordinal);

        var aborted = await client.PostAsync($"/api/v1/rollouts/{id}/abort", null);
        Assert.Equal(HttpStatusCode.OK, aborted.StatusCode);
        var done = await WaitForRolloutAsync(client, id, r => Count(r, "upgrading") == 0, "the upgrades under way to finish");
        Assert.Equal("aborted", done.Text("state"));
        Assert.Equal((2, 3, 3), (Count(done, "succeeded"), Count(done, "failed"), Count(done, "skipped")));
        Assert.Equal(before.Skip(5), await SnapshotAsync(fleet.Skip(5)));
        Assert.All(done["stores"]!.AsArray().Skip(5), s => Assert.Contains("aborted", s!.Text("reason"), StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync($"/api/v1/rollouts/{id}/resume", null)).StatusCode);
        Fixture.Api.Simulation.ClearFaults();

        // Each failure was rolled back with its snapshot restored, and says why.
        var reasons = done["stores"]!.AsArray().Take(3).Select(s => s!.Text("reason")).ToList();
        Assert.All(reasons, r => Assert.Contains("restored from the pre-upgrade snapshot", r, StringComparison.Ordinal));
        Assert.Contains("ImagePullBackOff", reasons[0], StringComparison.Ordinal);
        Assert.Contains("wp wc update failed (simulated)", reasons[1], StringComparison.Ordinal);
        Assert.Contains("SmokeTestFailed", reasons[2], StringComparison.Ordinal);
        Assert.Contains("the cart answered 500", reasons[2], StringComparison.Ordinal);
        foreach (var name in fleet.Take(3))
        {
            Assert.Equal((StorePhase.Degraded, "0.0.9"), await plane.Repository.GetAsync(name) is { } s ? (s.Phase, s.Pin!.ChartVersion) : default);
        }

        // The two that passed ran helm test (the storefront smoke test) before they were done.
        foreach (var name in fleet.Skip(3).Take(2))
        {
            Assert.Contains(await plane.Repository.GetEventsAsync(name), e => e.Step == "helm-test" && e.Type == StoreEventType.StepSucceeded);
        }
    }
}

/// <summary>A rollout whose control plane is killed three times still upgrades every store exactly once, never more in flight than the limit.</summary>
public sealed class RolloutKillTests(EngineFixture fixture) : RolloutTestBase(fixture), IClassFixture<EngineFixture>
{
    [Fact]
    public async Task ThreeKillsDuringATwentyStoreRollout_ItSucceeds_EveryStoreUpgradedOnce_NeverMoreThanTheLimitInFlight()
    {
        var prefix = EngineFixture.NewPrefix();
        var fleet = await CreateOutdatedFleetAsync(prefix, 20, "ki");
        var before = await SnapshotAsync(fleet);
        using var helm = HelmWrapper.Create();
        helm.DelayUpgrades(TimeSpan.FromSeconds(1)); // every upgrade takes a while: the kills land with helm running
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Redis"] = Fixture.Redis.ConnectionString,
            ["Storefleet:State:KeyPrefix"] = prefix,
            ["Storefleet:Engine:Kubeconfig"] = Fixture.Api.KubeconfigPath,
            ["Storefleet:Engine:HelmPath"] = helm.Path,
            ["Storefleet:Engine:ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Storefleet:Engine:LeaseTtl"] = "00:00:03",
            ["Storefleet:Engine:RetryBaseDelay"] = "00:00:00.100",
            ["Storefleet:Engine:RetryMaxDelay"] = "00:00:01",
            // A killed control plane's helm lives on and finishes; its pending release is waited for, never recovered, while
            // younger than this plus the grace — generous, as a loaded machine can make one helm run take tens of seconds.
            ["Storefleet:Engine:HelmTimeout"] = "00:02:00",
            ["Storefleet:Engine:PendingReleaseGrace"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "1000000",
        };

        var plane = await ControlPlaneProcess.StartAsync(settings);
        try
        {
            string id;
            using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
            {
                id = await CreateRolloutAsync(http, new { strategy = new { canary = 1, batchSize = 5, maxInFlight = 3 } });
            }

            foreach (var succeeded in new[] { 2, 7, 12 })
            {
                using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
                {
                    await WaitForRolloutAsync(http, id, r => Count(r, "succeeded") >= succeeded, $"{succeeded} stores to be upgraded");
                }

                await plane.KillAsync();
                await plane.DisposeAsync();
                plane = await ControlPlaneProcess.StartAsync(settings);
            }

            using var after = new HttpClient { BaseAddress = plane.BaseAddress };
            var done = await WaitForRolloutAsync(after, id, r => r.Text("state") != "running", "the rollout to finish after three kills");
            Assert.True(done.Text("state") == "succeeded", done.Pretty());
            Assert.Equal(20, Count(done, "succeeded"));
        }
        finally
        {
            await plane.DisposeAsync();
        }

        // Exactly one new revision per store, one helm upgrade per store, and never more than 3 upgrades running at once.
        Assert.All(fleet, name => Assert.Equal(before[name].Revisions + 1, ReleaseRevisions($"store-{name}")));
        var upgrades = helm.Invocations().Where(i => i.Command == "upgrade" && fleet.Contains(i.Release!)).ToList();
        Assert.All(fleet, name => Assert.Single(upgrades, u => u.Release == name));
        var edges = upgrades.SelectMany(u => new[] { (Time: u.Started, Delta: 1), (Time: u.Ended ?? DateTimeOffset.MaxValue, Delta: -1) }).OrderBy(e => e.Time).ThenBy(e => e.Delta);
        var (most, running) = (0, 0);
        foreach (var (_, delta) in edges)
        {
            running += delta;
            most = Math.Max(most, running);
        }

        Assert.InRange(most, 1, 3);
    }
}

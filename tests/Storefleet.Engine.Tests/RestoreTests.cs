using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// Restoring a backup in place on the test double with the real helm and Redis: a safety backup of the store as it is,
/// WordPress stopped while the restore Job replaces the data (the backup CronJobs suspended), WordPress back, the smoke
/// test, Ready. A failed restore leaves the store failed naming its safety backup, which restores it; a failed safety
/// backup leaves the store untouched; a control plane killed in the middle leaves a restore that another one finishes once.
/// </summary>
public sealed class RestoreTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const string SafetySnapshot = "5afe5afe";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private BackupPlatform Platform { get; } = new(fixture);

    [Fact]
    public async Task ARestoreInPlace_TakesASafetyBackup_StopsWordPressWhileTheDataIsReplaced_ThenSmokeTestsAndIsReady()
    {
        await using var plane = fixture.StartControlPlane(await Platform.InstallAsync());
        var (name, ns) = await ReadyStoreAsync(plane, "rs");
        var backup = await BackUpAsync(plane, name, "0a1b2c3d");
        fixture.Api.Simulation.HoldJobs(ns, "-restore-");
        var client = plane.CreateClient();

        var accepted = await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("restoring", JsonNode.Parse(await accepted.Content.ReadAsStringAsync())!.Text("phase"));
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup })).StatusCode);

        // The safety backup first (recorded as such), then the restore Job, with WordPress at zero and the backups suspended.
        var job = await DescribedOnTimeoutAsync(plane, name, () => Eventually.WaitForAsync(() => Task.FromResult(Jobs(ns, "-restore-r").SingleOrDefault()), Generous, "the restore Job"));
        var safety = await BackupPlatform.WaitForBackupAsync(plane, name, SafetyJob(plane, name), "succeeded");
        Assert.Equal(("safety", SafetySnapshot), (safety.Text("trigger"), safety.Text("snapshot")));
        // helm applies the release's kinds in its order (the Job before the CronJob): the whole release is read once applied.
        await Eventually.WaitUntilAsync(() => Task.FromResult(Platform.Object(ns, "CronJob", $"{name}-backup")["spec"]!["suspend"]?.GetValue<bool>() == true),
            Generous, "the backup CronJob suspended");
        Assert.Equal(0, WordPressReplicas(ns));
        Assert.Contains(job["spec"]!["template"]!["spec"]!["initContainers"]![0]!["env"]!.AsArray(), e => e!.Text("name") == "RESTORE_SNAPSHOT" && e!.Text("value") == "0a1b2c3d");
        var restoring = await Eventually.WaitForAsync(async () => await plane.Repository.GetAsync(name) is { } s && s.Condition(ConditionTypes.Restore)?.Reason == "Running" ? s : null,
            Generous, "the store to say the restore Job runs");
        Assert.Equal((StorePhase.Restoring, RestoreStage.Restore, SafetySnapshot), (restoring.Phase, restoring.Restore!.Stage, restoring.Restore.SafetySnapshot));
        Assert.StartsWith($"Restore Job {job["metadata"]!.Text("name")} is restoring backup {backup}", restoring.Condition(ConditionTypes.Restore)!.Message);

        fixture.Api.Simulation.ReleaseJobs(ns);
        var ready = await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        // WordPress back, the restore Job gone with the restore values, the backups scheduled again, nothing left over.
        Assert.Equal(1, WordPressReplicas(ns));
        Assert.Empty(Jobs(ns, "-restore-r"));
        Assert.False(Platform.Object(ns, "CronJob", $"{name}-backup")["spec"]!["suspend"]!.GetValue<bool>());
        Assert.Null(ready.Restore);
        Assert.Null(ready.Condition(ConditionTypes.Restore));
        var events = (await plane.EventsAsync(name)).Select(e => e!.Text("message")).ToList();
        var steps = new[]
        {
            $"Restore of backup {backup} (snapshot 0a1b2c3d",
            $"Restore of backup {backup} (snapshot 0a1b2c3d) requested by",
            $"Safety backup {safety.Text("id")} taken (snapshot {SafetySnapshot}). Stopping WordPress",
            $"Backup {backup} restored by Job {job["metadata"]!.Text("name")}",
            $"Backup {backup} (snapshot 0a1b2c3d) restored and the smoke test passed",
        };
        var positions = steps.Select(step => events.FindIndex(m => m.StartsWith(step, StringComparison.Ordinal))).ToList();
        Assert.True(positions.All(p => p >= 0) && positions.SequenceEqual(positions.Order()), string.Join('\n', events));
    }

    [Fact]
    public async Task AFailedRestore_LeavesTheStoreFailedNamingItsSafetyBackup_WhichRestoresItWithoutASecondSafetyBackup()
    {
        await using var plane = fixture.StartControlPlane(await Platform.InstallAsync());
        var (name, ns) = await ReadyStoreAsync(plane, "rf");
        var backup = await BackUpAsync(plane, name, "0a1b2c3d");
        fixture.Api.Simulation.FailJobs(ns, "-restore-", "Fatal: wrong password or no key found");
        fixture.Api.Simulation.SetTerminationMessage(ns, "-restore-", "fetch",
            """{"ok":false,"reason":"the backup repository refused the password: check the restic password Secret"}""");
        var client = plane.CreateClient();

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup })).StatusCode);
        var failed = await plane.WaitForPhaseAsync(name, StorePhase.Failed, Generous);

        var reason = failed.Condition(ConditionTypes.Failed)!;
        var safetyJob = SafetyJob(plane, name);
        Assert.Equal("RestoreFailed", reason.Reason);
        Assert.Contains("the backup repository refused the password", reason.Message);
        Assert.Contains($"safety backup {safetyJob} (snapshot {SafetySnapshot})", reason.Message);
        Assert.Contains($$"""POST /api/v1/stores/{{name}}/restore {"backup":"{{safetyJob}}"}""", reason.Message);
        Assert.Equal(0, WordPressReplicas(ns));

        // The remedy the message names: restore the safety backup. No second safety backup (it would hold the half-restored store).
        fixture.Api.Simulation.ClearFaults();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup = safetyJob })).StatusCode);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        Assert.Equal(1, WordPressReplicas(ns));
        Assert.Single(Jobs(ns, "-backup-s"));
        var events = (await plane.EventsAsync(name)).Select(e => e!.Text("message")).ToList();
        Assert.Contains(events, m => m.StartsWith($"Restore of backup {safetyJob} (snapshot {SafetySnapshot}", StringComparison.Ordinal) && m.Contains("after a failed restore", StringComparison.Ordinal));
        Assert.Contains(events, m => m.StartsWith($"Backup {safetyJob} (snapshot {SafetySnapshot}) restored and the smoke test passed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARestoreWhoseSafetyBackupFails_LeavesTheStoreUntouchedAndReady_SayingWhy()
    {
        await using var plane = fixture.StartControlPlane(await Platform.InstallAsync());
        var (name, ns) = await ReadyStoreAsync(plane, "rsf");
        var backup = await BackUpAsync(plane, name, "0a1b2c3d");
        var revision = (await plane.Repository.GetAsync(name))!.Inventory!.Revision;
        fixture.Api.Simulation.FailJobs(ns, "-backup-s", "Fatal: unable to open config file");
        fixture.Api.Simulation.SetTerminationMessage(ns, "-backup-s", "upload",
            """{"ok":false,"reason":"the backup repository is unreachable: check the repository URL"}""");

        Assert.Equal(HttpStatusCode.Accepted, (await plane.CreateClient().PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup })).StatusCode);

        await Eventually.WaitUntilAsync(async () => (await plane.EventsAsync(name)).Any(e => e!.Text("message").StartsWith($"The restore of backup {backup} did not start", StringComparison.Ordinal)),
            Generous, "the restore to give up");
        var store = await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        var warning = (await plane.EventsAsync(name)).Select(e => e!.Text("message")).Single(m => m.StartsWith($"The restore of backup {backup} did not start", StringComparison.Ordinal));
        Assert.Contains("the backup repository is unreachable", warning);
        Assert.Contains("Nothing was changed", warning);
        Assert.Null(store.Restore);
        Assert.Empty(Jobs(ns, "-restore-"));
        Assert.Equal(1, WordPressReplicas(ns));
        Assert.Equal(revision, ReleaseRevision(ns, name));
    }

    [Fact]
    public async Task ARestoreRequest_IsRefusedWithWhatToDo_ForAnUnknownBackup_AFailedOne_OrAStoreThatIsNotLive()
    {
        await using var plane = fixture.StartControlPlane(await Platform.InstallAsync());
        var (name, ns) = await ReadyStoreAsync(plane, "rr");
        var client = plane.CreateClient();

        var unknown = await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup = "no-such-backup" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains($"GET /api/v1/stores/{name}/backups", await unknown.Content.ReadAsStringAsync());

        fixture.Api.Simulation.FailJobs(ns, "-backup-m", "Fatal: unable to open config file");
        var started = await client.PostAsync($"/api/v1/stores/{name}/backups", null);
        var failedBackup = JsonNode.Parse(await started.Content.ReadAsStringAsync())!.Text("id");
        await BackupPlatform.WaitForBackupAsync(plane, name, failedBackup, "failed");
        var refused = await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup = failedBackup });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("only a backup that succeeded", await refused.Content.ReadAsStringAsync());

        var empty = await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup = "" });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup = "x", extra = 1 })).StatusCode);
        Assert.Equal(StorePhase.Ready, (await plane.Repository.GetAsync(name))!.Phase);
    }

    [Fact]
    public async Task ARestore_IsRefusedWhileAChangeWaits_OrWhenTheStoreRunsAnotherChartThanThisControlPlaneShips()
    {
        var settings = await Platform.InstallAsync();
        var prefix = EngineFixture.NewPrefix();
        string name, backup;
        await using (var plane = fixture.StartControlPlane(settings, prefix))
        {
            (name, _) = await ReadyStoreAsync(plane, "rv");
            backup = await BackUpAsync(plane, name, "0a1b2c3d");
        }

        // An API-only control plane (no engine acting meanwhile), the record as another control plane would leave it.
        await using var api = fixture.StartControlPlane(new Dictionary<string, string?>(settings) { ["Storefleet:Engine:Enabled"] = "false" }, prefix);
        var store = (await api.Repository.GetAsync(name))!;
        var client = api.CreateClient();

        await api.Repository.UpdateAsync(store with { Generation = store.Generation + 1 }, []);
        var changing = await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup });
        Assert.Equal(HttpStatusCode.Conflict, changing.StatusCode);
        Assert.Contains("has a change waiting", await changing.Content.ReadAsStringAsync());

        store = (await api.Repository.GetAsync(name))!;
        await api.Repository.UpdateAsync(store with { Generation = store.ObservedGeneration, Pin = store.Pin! with { ChartVersion = "0.0.1", Digest = "0000000000000000" } }, []);
        var outdated = await client.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup });
        Assert.Equal(HttpStatusCode.Conflict, outdated.StatusCode);
        Assert.Contains($"POST /api/v1/stores/{name}/upgrade", await outdated.Content.ReadAsStringAsync());
        Assert.Equal(StorePhase.Ready, (await api.Repository.GetAsync(name))!.Phase);
    }

    [Fact]
    public async Task ACloneOfADeletedStore_BootstrapsFromItsBackup_WithItsOwnUrlAndCredentials()
    {
        await using var plane = fixture.StartControlPlane(await Platform.InstallAsync());
        var (source, sourceNs) = await ReadyStoreAsync(plane, "src");
        var backup = await BackUpAsync(plane, source, "0a1b2c3d");
        var sourceRepository = Storefleet.Engine.Backups.BackupJobs.RepositoryName((await plane.Repository.GetAsync(source))!);
        var sourcePassword = Platform.Object(sourceNs, "Secret", $"{source}-credentials")["data"]!["wordpress-admin-password"]!.GetValue<string>();
        await plane.DeleteStoreAsync(source);
        await plane.WaitForGoneAsync(source, Generous);
        var client = plane.CreateClient();

        var clone = EngineFixture.NewStoreName("cl");
        var created = await client.PostAsJsonAsync("/api/v1/stores", new { name = clone, restoreFrom = new { store = source, backup } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var ready = await plane.WaitForPhaseAsync(clone, StorePhase.Ready, Generous);

        // Its bootstrap restored the source's backup (from the source's repository) before moving it to its own URL.
        var ns = $"store-{clone}";
        var bootstrap = Jobs(ns, "-bootstrap-").Single();
        var pod = bootstrap["spec"]!["template"]!["spec"]!;
        Assert.Equal(["fetch", "database", "files"], pod["initContainers"]!.AsArray().Select(c => c!.Text("name")));
        var fetchEnv = pod["initContainers"]![0]!["env"]!.AsArray();
        Assert.Contains(fetchEnv, e => e!.Text("name") == "RESTORE_SNAPSHOT" && e!.Text("value") == "0a1b2c3d");
        Assert.Contains(fetchEnv, e => e!.Text("name") == "SOURCE_STORE" && e!.Text("value") == sourceRepository);
        Assert.Contains(pod["containers"]![0]!["env"]!.AsArray(), e => e!.Text("name") == "CLONE_SNAPSHOT" && e!.Text("value") == "0a1b2c3d");
        Assert.Contains($"http://{clone}.localtest.me", ready.Urls!.Storefront, StringComparison.Ordinal);
        // Its own credentials (and backups: its own repository), nothing of the source's.
        Assert.NotEqual(sourcePassword, Platform.Object(ns, "Secret", $"{clone}-credentials")["data"]!["wordpress-admin-password"]!.GetValue<string>());
        Assert.NotEqual(sourceRepository, Storefleet.Engine.Backups.BackupJobs.RepositoryName(ready));
        Assert.Equal(new CloneSource(source, backup, "0a1b2c3d", sourceRepository), ready.CloneFrom);
        var events = (await plane.EventsAsync(clone)).Select(e => e!.Text("message")).ToList();
        Assert.Contains(events, m => m.Contains($"a clone of store {source} from its backup {backup} (snapshot 0a1b2c3d)", StringComparison.Ordinal));

        // A backup that did not succeed, or that is not there, is refused up front.
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/api/v1/stores", new { name = EngineFixture.NewStoreName("cl"), restoreFrom = new { store = source, backup = "no-such-backup" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/v1/stores", new { name = EngineFixture.NewStoreName("cl"), restoreFrom = new { store = "Bad_Name", backup } })).StatusCode);
    }

    [Fact]
    public async Task KilledTwiceMidRestore_TheRestoreFinishesOnce_WithOneSafetyBackupAndOneRestoreJob()
    {
        var prefix = EngineFixture.NewPrefix();
        var backups = await Platform.InstallAsync();
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Redis"] = fixture.Redis.ConnectionString,
            ["Storefleet:State:KeyPrefix"] = prefix,
            ["Storefleet:Engine:Kubeconfig"] = fixture.Api.KubeconfigPath,
            ["Storefleet:Engine:HelmPath"] = RepositoryPaths.Helm,
            ["Storefleet:Engine:ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Storefleet:Engine:LeaseTtl"] = "00:00:03",
            ["Storefleet:Engine:RetryBaseDelay"] = "00:00:00.100",
            ["Storefleet:Engine:RetryMaxDelay"] = "00:00:01",
            // A killed control plane's helm lives on and finishes; its pending release is waited for, never recovered, while
            // younger than this plus the grace — generous, as a loaded machine can make one helm run take tens of seconds.
            ["Storefleet:Engine:HelmTimeout"] = "00:02:00",
            ["Storefleet:Engine:PendingReleaseGrace"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Information",
            ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "1000000",
        };
        foreach (var (key, value) in backups)
        {
            settings[key] = value!;
        }

        var name = EngineFixture.NewStoreName("rk");
        var ns = $"store-{name}";
        var plane = await ControlPlaneProcess.StartAsync(settings);
        try
        {
            string backup;
            using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
            {
                Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/api/v1/stores", new { name, plan = "small" })).StatusCode);
                await WaitForPhaseAsync(http, name, "ready");
                fixture.Api.Simulation.SetTerminationMessage(ns, "-backup-", "upload", Result("0a1b2c3d"));
                backup = JsonNode.Parse(await (await http.PostAsync($"/api/v1/stores/{name}/backups", null)).Content.ReadAsStringAsync())!.Text("id");
                await Eventually.WaitUntilAsync(async () => JsonNode.Parse(await http.GetStringAsync($"/api/v1/stores/{name}/backups/{backup}"))!.Text("status") == "succeeded",
                    Generous, "the backup to succeed");
                fixture.Api.Simulation.HoldJobs(ns, "-backup-s");
                fixture.Api.Simulation.HoldJobs(ns, "-restore-");
                Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync($"/api/v1/stores/{name}/restore", new { backup })).StatusCode);
            }

            // Killed while the safety backup runs, then while the restore Job runs (WordPress stopped).
            await Eventually.WaitUntilAsync(() => Task.FromResult(Jobs(ns, "-backup-s").Count == 1), Generous, "the safety backup Job");
            await plane.KillAsync();
            await plane.DisposeAsync();
            fixture.Api.Simulation.ReleaseJobs(ns);
            fixture.Api.Simulation.HoldJobs(ns, "-restore-");
            plane = await ControlPlaneProcess.StartAsync(settings);
            await Eventually.WaitUntilAsync(() => Task.FromResult(Jobs(ns, "-restore-r").Count == 1 && WordPressReplicas(ns) == 0), Generous, "the restore Job with WordPress stopped");
            await plane.KillAsync();
            await plane.DisposeAsync();
            fixture.Api.Simulation.ReleaseJobs(ns);
            plane = await ControlPlaneProcess.StartAsync(settings);

            using var after = new HttpClient { BaseAddress = plane.BaseAddress };
            await WaitForPhaseAsync(after, name, "ready");
            var events = JsonNode.Parse(await after.GetStringAsync($"/api/v1/stores/{name}/events"))!["items"]!.AsArray().Select(e => e!.Text("message")).ToList();
            Assert.Single(events, m => m.StartsWith($"Backup {backup} (snapshot 0a1b2c3d) restored and the smoke test passed", StringComparison.Ordinal));
            Assert.Single(events, m => m.StartsWith($"Backup {backup} restored by Job", StringComparison.Ordinal));
            Assert.Single(Jobs(ns, "-backup-s"));
            Assert.Equal(1, WordPressReplicas(ns));
            var safety = JsonNode.Parse(await after.GetStringAsync($"/api/v1/stores/{name}/backups"))!["items"]!.AsArray().Where(b => b!.Text("trigger") == "safety").ToList();
            Assert.Equal("succeeded", Assert.Single(safety)!.Text("status"));

            // The secrets scan: neither repository secret in the control plane's log, in Redis (records, events) or in the restore's answers.
            await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(fixture.Redis.ConnectionString);
            var dump = string.Join('\n', await RedisDump.AllAsync(redis, prefix));
            foreach (var secret in Platform.InstalledSecrets)
            {
                Assert.DoesNotContain(secret, plane.Output);
                Assert.DoesNotContain(secret, dump);
                Assert.DoesNotContain(secret, string.Join('\n', events));
            }
        }
        finally
        {
            await plane.DisposeAsync();
        }
    }

    /// <summary>A Ready store on a platform with backups; its backup Jobs report snapshot <see cref="SafetySnapshot"/> unless told otherwise.</summary>
    private async Task<(string Name, string Namespace)> ReadyStoreAsync(ControlPlane plane, string stem)
    {
        var name = EngineFixture.NewStoreName(stem);
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        fixture.Api.Simulation.SetTerminationMessage(ns, "-backup-s", "upload", Result(SafetySnapshot));
        return (name, ns);
    }

    /// <summary>Takes an on-demand backup whose upload reports <paramref name="snapshot"/>; returns its id once it succeeded.</summary>
    private async Task<string> BackUpAsync(ControlPlane plane, string name, string snapshot)
    {
        fixture.Api.Simulation.SetTerminationMessage($"store-{name}", "-backup-m", "upload", Result(snapshot));
        var started = await plane.CreateClient().PostAsync($"/api/v1/stores/{name}/backups", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = JsonNode.Parse(await started.Content.ReadAsStringAsync())!.Text("id");
        await BackupPlatform.WaitForBackupAsync(plane, name, id, "succeeded");
        return id;
    }

    /// <summary>Runs a wait; when it times out, the store's record and timeline are added to the message.</summary>
    private static async Task<T> DescribedOnTimeoutAsync<T>(ControlPlane plane, string name, Func<Task<T>> wait)
    {
        try
        {
            return await wait();
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await plane.DescribeAsync(name)}", e);
        }
    }

    private static string Result(string snapshot) =>
        $$"""{"ok":true,"snapshot":"{{snapshot}}","bytesAdded":1000,"totalBytes":5000,"files":12,"durationSeconds":2}""";

    private static string SafetyJob(ControlPlane plane, string name) =>
        plane.Repository.GetAsync(name).GetAwaiter().GetResult()?.Restore?.SafetyBackup
        ?? throw new InvalidOperationException($"Store {name} has no restore with a safety backup.");

    private List<JsonObject> Jobs(string ns, string contains) =>
        [.. fixture.Api.Store.InNamespace(ns).Select(o => o.Object).Where(o => o["kind"]!.GetValue<string>() == "Job" && o["metadata"]!.Text("name").Contains(contains, StringComparison.Ordinal))];

    private int WordPressReplicas(string ns) =>
        fixture.Api.Store.InNamespace(ns).Select(o => o.Object)
            .Single(o => o["kind"]!.GetValue<string>() == "Deployment" && o["metadata"]!.Text("name").EndsWith("-wordpress", StringComparison.Ordinal))["spec"]!["replicas"]!.GetValue<int>();

    private int ReleaseRevision(string ns, string release) =>
        fixture.Api.Store.InNamespace(ns).Select(o => o.Object)
            .Where(o => o["kind"]!.GetValue<string>() == "Secret" && o["metadata"]!.Text("name").StartsWith($"sh.helm.release.v1.{release}.v", StringComparison.Ordinal))
            .Max(o => int.Parse(o["metadata"]!["labels"]!.Text("version"), System.Globalization.CultureInfo.InvariantCulture));

    private static async Task WaitForPhaseAsync(HttpClient http, string name, string phase) =>
        await Eventually.WaitUntilAsync(async () =>
        {
            var response = await http.GetAsync($"/api/v1/stores/{name}");
            return response.IsSuccessStatusCode && JsonNode.Parse(await response.Content.ReadAsStringAsync())!.Text("phase") == phase;
        }, Generous, $"store {name} to be {phase}");
}

using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Engine.Backups;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Engine.Tests;

/// <summary>
/// Backups on the test double with the real helm and Redis: a platform with a backup repository installs every store
/// with its backup CronJobs and a copy of the repository Secrets; on-demand and scheduled backups are recorded from
/// their Jobs' termination messages (snapshot, sizes, versions — or why they failed), each with an event; a failed
/// check is a warning; the secrets never reach Redis or events; a missing password Secret holds the store with what to do.
/// </summary>
public sealed class BackupTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const string Repository = BackupPlatform.Repository;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private BackupPlatform Platform { get; } = new(fixture);

    [Fact]
    public async Task OnDemandAndScheduledBackups_AreRecordedFromTheirJobs_AndTheSecretsStayOutOfRedis()
    {
        var secretsNamespace = "platform-" + Guid.NewGuid().ToString("N")[..8];
        var (password, restPassword) = ("restic-" + Guid.NewGuid().ToString("N"), "rest-" + Guid.NewGuid().ToString("N"));
        await Platform.ApplyAsync(BackupPlatform.Secrets(secretsNamespace, password, restPassword));
        await using var plane = fixture.StartControlPlane(BackupPlatform.Settings(secretsNamespace));
        var name = EngineFixture.NewStoreName("bk");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        // Installed with its backups: the CronJobs, the plan's schedule spread by name, and the Secrets copied.
        var cronJob = Platform.Object(ns, "CronJob", $"{name}-backup");
        Assert.Equal(BackupSchedule.For(name, "daily"), cronJob["spec"]!["schedule"]!.GetValue<string>());
        Assert.Contains(Repository, cronJob.ToJsonString());
        Assert.NotNull(Platform.Object(ns, "CronJob", $"{name}-bk-maint"));
        Assert.Equal(Base64(password), Platform.Object(ns, "Secret", $"{name}-backup-password")["data"]!["restic-password"]!.GetValue<string>());
        Assert.Equal(Base64(restPassword), Platform.Object(ns, "Secret", $"{name}-backup-credentials")["data"]!["RESTIC_REST_PASSWORD"]!.GetValue<string>());

        // The fleet view: a live store without a backup yet.
        var client = plane.CreateClient();
        var coverage = JsonNode.Parse(await client.GetStringAsync("/api/v1/fleet/backups"))!;
        Assert.Equal((true, 1, 0), (coverage["configured"]!.GetValue<bool>(), coverage["liveStores"]!.GetValue<int>(), coverage["covered"]!.GetValue<int>()));
        Assert.Equal(name, coverage["stores"]![0]!.Text("name"));
        Assert.Null(coverage["stores"]![0]!["latestBackup"]);

        // On demand: a Job from the CronJob; its upload container reports the snapshot.
        fixture.Api.Simulation.SetTerminationMessage(ns, "-backup-m", "upload",
            """{"ok":true,"snapshot":"0a1b2c3d","bytesAdded":1234567,"totalBytes":9876543,"files":42,"durationSeconds":3}""");
        var started = await client.PostAsync($"/api/v1/stores/{name}/backups", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = JsonNode.Parse(await started.Content.ReadAsStringAsync())!.Text("id");
        Assert.Equal($"/api/v1/stores/{name}/backups/{id}", started.Headers.Location!.OriginalString);
        var backup = await BackupPlatform.WaitForBackupAsync(plane, name, id, "succeeded");
        Assert.Equal(("on-demand", "0a1b2c3d", 1234567L, 9876543L, 42L), (backup.Text("trigger"), backup.Text("snapshot"), backup["bytesAdded"]!.GetValue<long>(), backup["totalBytes"]!.GetValue<long>(), backup["files"]!.GetValue<long>()));
        Assert.Equal("0.1.0", backup["versions"]!.Text("chart"));
        Assert.Equal("6.8.3-php8.3-apache", backup["versions"]!.Text("wordPress"));
        Assert.True(Platform.Object(ns, "Job", id)["metadata"]!["ownerReferences"]![0]!.Text("name") == $"{name}-backup");

        // A scheduled run (the CronJob controller's Job) that fails: recorded with the container's reason, a warning on the store.
        fixture.Api.Simulation.FailJobs(ns, "-backup-29", "Fatal: unable to open config file");
        fixture.Api.Simulation.SetTerminationMessage(ns, "-backup-29", "upload",
            """{"ok":false,"reason":"the backup repository is unreachable: check the repository URL, that the server is running, and the store's backup NetworkPolicy"}""");
        await Platform.ApplyAsync(CronJobRuns.JobFrom(cronJob, $"{name}-backup-29400000").ToJsonString(), ns);
        var failed = await BackupPlatform.WaitForBackupAsync(plane, name, $"{name}-backup-29400000", "failed");
        Assert.Equal("scheduled", failed.Text("trigger"));
        Assert.StartsWith("the backup repository is unreachable", failed.Text("reason"));

        // A failed check (repository damage) is a warning with the check's reason.
        fixture.Api.Simulation.FailJobs(ns, "-bk-maint-", "Fatal: repository contains errors");
        fixture.Api.Simulation.SetTerminationMessage(ns, "-bk-maint-", "check",
            """{"ok":false,"reason":"the backup repository is damaged (a file failed verification): run 'restic check --read-data' against it and restore from another backup"}""");
        await Platform.ApplyAsync(CronJobRuns.JobFrom(Platform.Object(ns, "CronJob", $"{name}-bk-maint"), $"{name}-bk-maint-29400100").ToJsonString(), ns);

        await Eventually.WaitUntilAsync(async () => (await plane.EventsAsync(name)).Any(e => e!.Text("message").StartsWith($"Backup maintenance {name}-bk-maint-29400100", StringComparison.Ordinal)), Generous, "the failed check's warning");
        var events = (await plane.EventsAsync(name)).Select(e => e!.Text("message")).ToList();
        Assert.Contains(events, m => m.StartsWith($"Backup {id} started (on demand", StringComparison.Ordinal));
        Assert.Contains(events, m => m.StartsWith($"Backup {id} (on-demand) finished: snapshot 0a1b2c3d, 9.9 MB in 42 files, 1.2 MB new", StringComparison.Ordinal));
        Assert.Contains(events, m => m.StartsWith($"Backup {name}-backup-29400000 (scheduled) failed: the backup repository is unreachable", StringComparison.Ordinal));
        Assert.Contains(events, m => m.Contains("failed: the backup repository is damaged", StringComparison.Ordinal));

        // The list, newest first; the secrets are nowhere in Redis.
        var list = JsonNode.Parse(await client.GetStringAsync($"/api/v1/stores/{name}/backups"))!["items"]!.AsArray();
        Assert.Equal(2, list.Count);
        coverage = JsonNode.Parse(await client.GetStringAsync("/api/v1/fleet/backups"))!;
        Assert.Equal((1, 0), (coverage["covered"]!.GetValue<int>(), coverage["withoutRecentBackup"]!.GetValue<int>()));
        var dump = string.Join('\n', await RedisDump.AllAsync(plane.Redis, plane.KeyPrefix));
        Assert.DoesNotContain(password, dump);
        Assert.DoesNotContain(restPassword, dump);
        Assert.DoesNotContain(Base64(password), dump);

        // The namespace lost out of band: the failure says where the data can come back from.
        (await Cli.RunAsync(RepositoryPaths.Kubectl, ["delete", "namespace", ns, "--wait=false"], new Dictionary<string, string> { ["KUBECONFIG"] = fixture.Api.KubeconfigPath })).EnsureSuccessStatusCode();
        var lost = await plane.WaitForPhaseAsync(name, StorePhase.Failed, Generous);
        var failure = lost.Condition(ConditionTypes.Failed)!;
        Assert.Equal("NamespaceLost", failure.Reason);
        Assert.Contains($"Its latest backup is {id} (restic snapshot 0a1b2c3d", failure.Message);
        Assert.Contains($$"""POST /api/v1/stores/{{name}}/restore {"backup":"{{id}}"}""", failure.Message);

        // Disaster recovery as the message says: retry (a fresh, empty store), then restore the backup into it.
        await plane.RetryStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        fixture.Api.Simulation.SetTerminationMessage(ns, "-backup-s", "upload", """{"ok":true,"snapshot":"5afe5afe","bytesAdded":1,"totalBytes":2,"files":1,"durationSeconds":1}""");
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/api/v1/stores/{name}/restore",
            new StringContent($$"""{"backup":"{{id}}"}""", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        await Eventually.WaitUntilAsync(async () => (await plane.EventsAsync(name)).Any(e => e!.Text("message").StartsWith($"Backup {id} (snapshot 0a1b2c3d) restored and the smoke test passed", StringComparison.Ordinal)),
            Generous, "the backup to be restored into the store provisioned again");
        Assert.Equal(StorePhase.Ready, (await plane.Repository.GetAsync(name))!.Phase);
        dump = string.Join('\n', await RedisDump.AllAsync(plane.Redis, plane.KeyPrefix));
        Assert.DoesNotContain(password, dump);
        Assert.DoesNotContain(restPassword, dump);
    }

    [Fact]
    public async Task ABackupThatFinishedWhileNoControlPlaneWatched_IsRecorded_AndAStoreNeverSeesTheBackupsOfAnEarlierStoreOfItsName()
    {
        var secretsNamespace = "platform-" + Guid.NewGuid().ToString("N")[..8];
        await Platform.ApplyAsync(BackupPlatform.Secrets(secretsNamespace, "restic-" + Guid.NewGuid().ToString("N"), "rest"));
        var prefix = EngineFixture.NewPrefix();
        var name = EngineFixture.NewStoreName("unw");
        var ns = $"store-{name}";
        JsonObject cronJob;
        await using (var first = fixture.StartControlPlane(BackupPlatform.Settings(secretsNamespace), prefix))
        {
            await first.CreateStoreAsync(name);
            await first.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
            cronJob = Platform.Object(ns, "CronJob", $"{name}-backup");
        }

        // The CronJob's run finishes while no control plane runs.
        fixture.Api.Simulation.SetTerminationMessage(ns, "-backup-29500000", "upload", """{"ok":true,"snapshot":"5e5e5e5e","bytesAdded":1,"totalBytes":2,"files":1,"durationSeconds":1}""");
        await Platform.ApplyAsync(CronJobRuns.JobFrom(cronJob, $"{name}-backup-29500000").ToJsonString(), ns);
        await Eventually.WaitUntilAsync(() => Task.FromResult(JsonNumbers.Long(Platform.Object(ns, "Job", $"{name}-backup-29500000")["status"]?["succeeded"]) == 1), Generous, "the Job to finish");

        await using var second = fixture.StartControlPlane(BackupPlatform.Settings(secretsNamespace), prefix);
        var recorded = await BackupPlatform.WaitForBackupAsync(second, name, $"{name}-backup-29500000", "succeeded");
        Assert.Equal("5e5e5e5e", recorded.Text("snapshot"));
        var store = (await second.Repository.GetAsync(name))!;
        Assert.Equal(BackupJobs.RepositoryName(store), cronJob["spec"]!["jobTemplate"]!["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .Single(e => e!.Text("name") == "STORE_NAME")!.Text("value"));

        // Deleted, then created again under the same name: the new store does not see the old one's backups.
        await second.DeleteStoreAsync(name);
        await second.WaitForGoneAsync(name, Generous);
        await second.CreateStoreAsync(name);
        await second.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        Assert.Empty(JsonNode.Parse(await second.CreateClient().GetStringAsync($"/api/v1/stores/{name}/backups"))!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await second.CreateClient().GetAsync($"/api/v1/stores/{name}/backups/{name}-backup-29500000")).StatusCode);
    }

    [Fact]
    public async Task ADeletedStoresBackups_AreKeptForTheRetentionThenPurged_AndAnAdminMayPurgeThemAtOnce()
    {
        var secretsNamespace = "platform-" + Guid.NewGuid().ToString("N")[..8];
        await Platform.ApplyAsync(BackupPlatform.Secrets(secretsNamespace, "restic-" + Guid.NewGuid().ToString("N"), "rest"));
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?>(BackupPlatform.Settings(secretsNamespace)) { ["Storefleet:Backups:RetainAfterDeletion"] = "01:00:00" });
        var records = plane.Services.GetRequiredService<Storefleet.Core.Backups.IBackupRepository>();
        fixture.Api.Simulation.SetTerminationMessage(secretsNamespace, "purge-", "purge", """{"ok":true,"purged":1}""");
        var (kept, purged) = (EngineFixture.NewStoreName("keep"), EngineFixture.NewStoreName("purge"));
        var repositories = new Dictionary<string, string>();
        foreach (var name in new[] { kept, purged })
        {
            await plane.CreateStoreAsync(name);
            await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
            repositories[name] = BackupJobs.RepositoryName((await plane.Repository.GetAsync(name))!);
            fixture.Api.Simulation.SetTerminationMessage($"store-{name}", "-backup-m", "upload", """{"ok":true,"snapshot":"0a1b2c3d","bytesAdded":1,"totalBytes":2,"files":1,"durationSeconds":1}""");
            var started = await plane.CreateClient().PostAsync($"/api/v1/stores/{name}/backups", null);
            await BackupPlatform.WaitForBackupAsync(plane, name, JsonNode.Parse(await started.Content.ReadAsStringAsync())!.Text("id"), "succeeded");
        }

        // Deleted as usual: the backups stay for the retention (an hour here), and the timeline says until when.
        await plane.DeleteStoreAsync(kept);
        await plane.WaitForGoneAsync(kept, Generous);
        var schedule = await records.PurgesAsync();
        var due = Assert.Single(schedule, p => p.Purge.Store == kept).Due;
        Assert.InRange(due - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(61));
        Assert.Single(await records.ListAsync(kept));

        // Deleted with its backups by an admin: purged at once by a Job in the platform's namespace, beside the Secrets.
        var delete = await plane.CreateClient().DeleteAsync($"/api/v1/stores/{purged}?purgeBackups=true");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        await plane.WaitForGoneAsync(purged, Generous);
        await Eventually.WaitUntilAsync(async () => (await records.ListAsync(purged)).Count == 0 && (await records.PurgesAsync()).All(p => p.Purge.Store != purged),
            Generous, "the purged store's backups to be gone");
        var scripts = Platform.Object(secretsNamespace, "ConfigMap", BackupPurges.ScriptsConfigMap);
        Assert.Contains("purge)", scripts["data"]!["backup-maintain.sh"]!.GetValue<string>());
        await Eventually.WaitUntilAsync(() => Task.FromResult(!fixture.Api.Store.InNamespace(secretsNamespace).Any(o => o.Object["kind"]!.GetValue<string>() == "Job")),
            Generous, "the finished purge Job to be removed");

        // The retention ends (brought forward here): the kept store's repository is purged too; a failed purge is tried again later.
        fixture.Api.Simulation.FailJobs(secretsNamespace, "purge-", "Fatal: unable to open config file");
        fixture.Api.Simulation.SetTerminationMessage(secretsNamespace, "purge-", "purge", """{"ok":false,"reason":"the backup repository is unreachable"}""");
        await records.SchedulePurgeAsync(new Storefleet.Core.Backups.RepositoryPurge(kept, repositories[kept]), DateTimeOffset.UtcNow);
        await Eventually.WaitUntilAsync(async () => (await records.PurgesAsync()).Single(p => p.Purge.Store == kept).Due > DateTimeOffset.UtcNow.AddMinutes(50),
            Generous, "the failed purge to be tried again later");
        Assert.Single(await records.ListAsync(kept));
        fixture.Api.Simulation.ClearFaults();
        fixture.Api.Simulation.SetTerminationMessage(secretsNamespace, "purge-", "purge", """{"ok":true,"purged":1}""");
        await records.SchedulePurgeAsync(new Storefleet.Core.Backups.RepositoryPurge(kept, repositories[kept]), DateTimeOffset.UtcNow);
        await Eventually.WaitUntilAsync(async () => (await records.ListAsync(kept)).Count == 0 && (await records.PurgesAsync()).Count == 0, Generous, "the kept store's backups purged");
        var events = (await plane.Repository.GetEventsAsync(kept)).Select(e => e.Message).ToList();
        Assert.Contains(events, m => m.Contains("Its backups are kept for 1 h", StringComparison.Ordinal) || m.Contains("Its backups are kept for 60 min", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AStoresOwnBackupSchedule_ReplacesItsPlans_AndNullReturnsToIt()
    {
        var secretsNamespace = "platform-" + Guid.NewGuid().ToString("N")[..8];
        await Platform.ApplyAsync(BackupPlatform.Secrets(secretsNamespace, "restic-" + Guid.NewGuid().ToString("N"), "rest"));
        await using var plane = fixture.StartControlPlane(BackupPlatform.Settings(secretsNamespace));
        var name = EngineFixture.NewStoreName("sched");
        var ns = $"store-{name}";
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        var client = plane.CreateClient();
        string Schedule() => Platform.Object(ns, "CronJob", $"{name}-backup")["spec"]!["schedule"]!.GetValue<string>();
        Task<HttpResponseMessage> SetAsync(string body) =>
            client.PutAsync($"/api/v1/stores/{name}/backups/schedule", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(BackupSchedule.For(name, "daily"), Schedule());
        var hourly = await SetAsync("""{"schedule":"hourly"}""");
        Assert.Equal(HttpStatusCode.Accepted, hourly.StatusCode);
        Assert.Equal("hourly", JsonNode.Parse(await hourly.Content.ReadAsStringAsync())!.Text("backupSchedule"));
        await Eventually.WaitUntilAsync(async () => await plane.Repository.GetAsync(name) is { Phase: StorePhase.Ready } s && s.ObservedGeneration == s.Generation && Schedule() == BackupSchedule.For(name, "hourly"),
            Generous, "the store on its hourly schedule");
        Assert.Equal(HttpStatusCode.OK, (await SetAsync("""{"schedule":"hourly"}""")).StatusCode);

        Assert.Equal(HttpStatusCode.BadRequest, (await SetAsync("""{"schedule":"every day"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await SetAsync("""{"schedule":"0 3 * * * *"}""")).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await SetAsync("""{"schedule":"30 */6 * * *"}""")).StatusCode);
        await Eventually.WaitUntilAsync(async () => await plane.Repository.GetAsync(name) is { Phase: StorePhase.Ready } s && s.ObservedGeneration == s.Generation && Schedule() == "30 */6 * * *",
            Generous, "the store on its cron schedule");
        Assert.Equal(HttpStatusCode.Accepted, (await SetAsync("""{"schedule":null}""")).StatusCode);
        await Eventually.WaitUntilAsync(async () => await plane.Repository.GetAsync(name) is { Phase: StorePhase.Ready, BackupSchedule: null } s && s.ObservedGeneration == s.Generation && Schedule() == BackupSchedule.For(name, "daily"),
            Generous, "the store back on its plan's schedule");
    }

    [Fact]
    public async Task WithoutThePasswordSecret_TheStoreWaitsSayingWhatToCreate_ThenProceeds()
    {
        var secretsNamespace = "platform-" + Guid.NewGuid().ToString("N")[..8];
        await Platform.ApplyAsync($"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {secretsNamespace}\n");
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?>(BackupPlatform.Settings(secretsNamespace)) { ["Storefleet:Engine:MaxAttempts"] = "1000" });
        var name = EngineFixture.NewStoreName("nosecret");
        await plane.CreateStoreAsync(name);

        await Eventually.WaitUntilAsync(async () => (await plane.EventsAsync(name)).Any(e => e!.Text("message").Contains($"Secret {secretsNamespace}/storefleet-backup-password with key restic-password does not exist", StringComparison.Ordinal)),
            Generous, "the store to say which Secret is missing");
        Assert.Equal(StorePhase.Provisioning, (await plane.Repository.GetAsync(name))!.Phase);

        await Platform.ApplyAsync(BackupPlatform.Secrets(secretsNamespace, "restic-" + Guid.NewGuid().ToString("N"), "rest"));
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
    }

    [Fact]
    public async Task WithoutABackupRepository_ABackupIsRefusedWithWhatToDo()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("nobk");
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        var refused = await plane.CreateClient().PostAsync($"/api/v1/stores/{name}/backups", null);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.EndsWith("backups-disabled", problem.Text("type"));
        Assert.Contains("Storefleet:Backups:Repository", problem.Text("detail"));
        Assert.Empty(JsonNode.Parse(await plane.CreateClient().GetStringAsync($"/api/v1/stores/{name}/backups"))!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await plane.CreateClient().PostAsync("/api/v1/stores/no-such-store/backups", null)).StatusCode);
    }

    private static string Base64(string value) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(value));
}

using Storefleet.Testing;

namespace Storefleet.Charts.Tests;

/// <summary>
/// The backup and restore Jobs' scripts (charts/store/files/backup-*.sh, restore-*.sh) against real tools: a MariaDB
/// server as the store's MySQL, restic, and a restic REST server as the repository. A backup of a WooCommerce-shaped
/// database and wp-content tree, both changed, restored: byte-identical files, identical tables, triggers and routines.
/// A wrong password, an unreachable repository and a damaged pack each fail with a message that says what to do, and
/// leave the store untouched. No secret is ever on a command line or in the scripts' output.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StoreBackupScriptTests(BackupToolsFixture tools) : IClassFixture<BackupToolsFixture>
{
    [Fact]
    public async Task ABackup_RestoredAfterTheStoreChanged_BringsBackIdenticalFilesAndTables()
    {
        using var store = await tools.NewStoreAsync("roundtrip", orders: 2_000, uploadBytes: 8_000_000);
        var files = WooCommerceShapedData.Fingerprint(store.ContentDirectory);
        var tables = await tools.Database.FingerprintAsync(store.DatabaseName);

        var backup = (await store.BackupAsync("bk-1")).EnsureSucceeded();
        var snapshot = backup.Termination!["snapshot"]!.GetValue<string>();
        Assert.True(backup.Termination["ok"]!.GetValue<bool>(), backup.Output);
        Assert.True(backup.Termination["totalBytes"]!.GetValue<long>() > 8_000_000, backup.Output);
        Assert.True(backup.Termination["bytesAdded"]!.GetValue<long>() > 1_000_000, backup.Output);
        Assert.True(backup.Termination["files"]!.GetValue<long>() > 5, backup.Output);

        // Deduplication: nothing changed, so the second backup adds (almost) nothing.
        var second = (await store.BackupAsync("bk-2")).EnsureSucceeded();
        Assert.True(second.Termination!["bytesAdded"]!.GetValue<long>() < backup.Termination["bytesAdded"]!.GetValue<long>() / 20, second.Output);

        // The shop moves on: orders change, a table is dropped and another created, uploads are edited, added, removed.
        await tools.Database.ExecuteAsync(
            "UPDATE wp_wc_orders SET total_amount = 0 WHERE id < 500; DELETE FROM wp_posts WHERE ID % 3 = 0; DROP TABLE wp_postmeta; " +
            "CREATE TABLE wp_new_plugin (id INT PRIMARY KEY); DROP TRIGGER wp_orders_audit; UPDATE wp_storefleet_blobs SET data = 0x00;", store.DatabaseName);
        var upload = Directory.GetFiles(Path.Combine(store.ContentDirectory, "uploads", "2026", "11"), "product-*.jpg").Order(StringComparer.Ordinal).ToList();
        await File.WriteAllTextAsync(upload[0], "overwritten");
        File.Delete(upload[1]);
        await File.WriteAllTextAsync(Path.Combine(store.ContentDirectory, "uploads", "added-after-backup.txt"), "new");
        Directory.Delete(Path.Combine(store.ContentDirectory, "themes"), recursive: true);
        Assert.NotEqual(files, WooCommerceShapedData.Fingerprint(store.ContentDirectory));
        Assert.NotEqual(tables, await tools.Database.FingerprintAsync(store.DatabaseName));

        var restore = (await store.RestoreAsync("rs-1", snapshot)).EnsureSucceeded();

        Assert.Equal(files, WooCommerceShapedData.Fingerprint(store.ContentDirectory));
        Assert.Equal(tables, await tools.Database.FingerprintAsync(store.DatabaseName));
        Assert.False(Directory.Exists(store.Environment["RESTORE_DIR"]), "the staging directory is removed after a restore");
        Assert.Equal(snapshot, restore.Termination!["snapshot"]!.GetValue<string>());

        // A finished restore is never run again (a Job retried after it finished changes nothing).
        await File.WriteAllTextAsync(Path.Combine(store.ContentDirectory, "uploads", "after-restore.txt"), "kept");
        (await store.RestoreAsync("rs-1", snapshot)).EnsureSucceeded();
        Assert.True(File.Exists(Path.Combine(store.ContentDirectory, "uploads", "after-restore.txt")));

        // The id names one restore: used again for another backup, it is refused (nothing would be restored otherwise).
        var secondSnapshot = second.Termination!["snapshot"]!.GetValue<string>();
        var reused = await store.RestoreAsync("rs-1", secondSnapshot);
        Assert.False(reused.Succeeded, reused.Output);
        Assert.Contains("restore id rs-1 was already used", reused.Termination!["reason"]!.GetValue<string>());

        // A manifest planted among the store's own files (an upload) never steers a restore: the backup's own one does.
        await File.WriteAllTextAsync(Path.Combine(store.ContentDirectory, "uploads", "storefleet-backup.manifest"), "format=1\ndatabase=/etc/passwd\ncontent=/etc\n");
        var planted = WooCommerceShapedData.Fingerprint(store.ContentDirectory);
        var third = (await store.BackupAsync("bk-3")).EnsureSucceeded().Termination!["snapshot"]!.GetValue<string>();
        await File.WriteAllTextAsync(Path.Combine(store.ContentDirectory, "uploads", "after-bk-3.txt"), "goes");
        (await store.RestoreAsync("rs-2", third)).EnsureSucceeded();
        Assert.Equal(planted, WooCommerceShapedData.Fingerprint(store.ContentDirectory));
        Assert.Equal(tables, await tools.Database.FingerprintAsync(store.DatabaseName));

        AssertNoSecretsOutside(store, backup, second, restore);
    }

    [Fact]
    public async Task ARestoreIntoAnotherStore_WorksAfterTheSourceIsGone()
    {
        using var source = await tools.NewStoreAsync("clonesource", orders: 300, uploadBytes: 1_000_000);
        var files = WooCommerceShapedData.Fingerprint(source.ContentDirectory);
        var tables = await tools.Database.FingerprintAsync(source.DatabaseName);
        var snapshot = (await source.BackupAsync("bk-src")).EnsureSucceeded().Termination!["snapshot"]!.GetValue<string>();
        await tools.Database.ExecuteAsync($"DROP DATABASE `{source.DatabaseName}`");
        Directory.Delete(source.ContentDirectory, recursive: true);

        using var clone = await tools.NewStoreAsync("clonetarget", orders: 0, uploadBytes: 0);
        clone.Environment["RESTIC_PASSWORD_FILE"] = source.PasswordFile;
        (await clone.RestoreAsync("rs-clone", snapshot, sourceStore: "clonesource")).EnsureSucceeded();

        Assert.Equal(files, WooCommerceShapedData.Fingerprint(clone.ContentDirectory));
        Assert.Equal(tables, await tools.Database.FingerprintAsync(clone.DatabaseName));
    }

    [Fact]
    public async Task AWrongPassword_FailsLoudly_AndLeavesTheStoreUntouched()
    {
        using var store = await tools.NewStoreAsync("wrongpassword", orders: 200, uploadBytes: 500_000);
        var snapshot = (await store.BackupAsync("bk-1")).EnsureSucceeded().Termination!["snapshot"]!.GetValue<string>();
        await AssertRestoreFailsUntouchedAsync(store, snapshot, () =>
        {
            var wrong = store.PasswordFile + ".wrong";
            File.WriteAllText(wrong, "not-the-password");
            store.Environment["RESTIC_PASSWORD_FILE"] = wrong;
        }, "password");

        // A backup with the wrong password fails the same way (and creates no second repository).
        var backup = await store.BackupAsync("bk-2");
        Assert.False(backup.Succeeded, backup.Output);
        Assert.Contains("password", backup.Termination!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUnreachableRepository_FailsLoudly_AndLeavesTheStoreUntouched()
    {
        using var store = await tools.NewStoreAsync("unreachable", orders: 200, uploadBytes: 500_000);
        var snapshot = (await store.BackupAsync("bk-1")).EnsureSucceeded().Termination!["snapshot"]!.GetValue<string>();
        await AssertRestoreFailsUntouchedAsync(store, snapshot,
            () => store.Environment["RESTIC_REPOSITORY_BASE"] = $"rest:http://127.0.0.1:{FreePort.Next()}/storefleet", "unreachable");
    }

    [Fact]
    public async Task ADamagedPack_FailsTheRestoreAndTheCheck_AndLeavesTheStoreUntouched()
    {
        using var store = await tools.NewStoreAsync("damaged", orders: 200, uploadBytes: 3_000_000);
        var snapshot = (await store.BackupAsync("bk-1")).EnsureSucceeded().Termination!["snapshot"]!.GetValue<string>();
        (await store.MaintainAsync("check", new Dictionary<string, string> { ["CHECK_READ_DATA_SUBSET"] = "100%" })).EnsureSucceeded();


        // Flip bytes in the middle of the largest pack (file data), as a failing disk would.
        var pack = new DirectoryInfo(Path.Combine(tools.Repository.Directory, "storefleet", "damaged", "data"))
            .EnumerateFiles("*", SearchOption.AllDirectories).MaxBy(f => f.Length)!;
        await using (var stream = File.Open(pack.FullName, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            stream.Write(new byte[64]);
        }

        await AssertRestoreFailsUntouchedAsync(store, snapshot, () => { }, "damaged");
        var check = await store.MaintainAsync("check", new Dictionary<string, string> { ["CHECK_READ_DATA_SUBSET"] = "100%" });
        Assert.False(check.Succeeded, check.Output);
        Assert.Contains("damaged", check.Termination!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Retention_KeepsWhatThePolicySays_AndAnUnknownBackupIsRefused()
    {
        using var store = await tools.NewStoreAsync("retention", orders: 100, uploadBytes: 200_000);
        for (var i = 0; i < 3; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(store.ContentDirectory, "uploads", $"day-{i}.txt"), $"{i}");
            (await store.BackupAsync($"bk-{i}")).EnsureSucceeded();
        }

        // All three were taken today: one daily backup is kept.
        var forget = (await store.MaintainAsync("forget", new Dictionary<string, string> { ["KEEP_DAILY"] = "1", ["KEEP_WEEKLY"] = "0", ["KEEP_MONTHLY"] = "0" })).EnsureSucceeded();
        Assert.Equal(1, forget.Termination!["kept"]!.GetValue<int>());
        (await store.MaintainAsync("check", new Dictionary<string, string> { ["CHECK_READ_DATA_SUBSET"] = "100%" })).EnsureSucceeded();

        // A deleted store's purge: every backup forgotten and its data pruned; another store's repository untouched.
        using var neighbour = await tools.NewStoreAsync("purgeneighbour", orders: 10, uploadBytes: 10_000);
        (await neighbour.BackupAsync("bk-n")).EnsureSucceeded();
        var purge = (await store.MaintainAsync("purge")).EnsureSucceeded();
        Assert.Equal(1, purge.Termination!["purged"]!.GetValue<int>());
        Assert.Equal(0, (await store.MaintainAsync("purge")).EnsureSucceeded().Termination!["purged"]!.GetValue<int>());
        Assert.Equal(0, (await store.MaintainAsync("forget", new Dictionary<string, string> { ["KEEP_DAILY"] = "1" })).EnsureSucceeded().Termination!["kept"]!.GetValue<int>());
        Assert.Equal(1, (await neighbour.MaintainAsync("forget", new Dictionary<string, string> { ["KEEP_DAILY"] = "1" })).EnsureSucceeded().Termination!["kept"]!.GetValue<int>());

        // A store that never had a backup has no repository: nothing to purge, and that is no failure.
        using var never = await tools.NewStoreAsync("neverbackedup", orders: 0, uploadBytes: 0);
        Assert.Equal(0, (await never.MaintainAsync("purge")).EnsureSucceeded().Termination!["purged"]!.GetValue<int>());

        var unknown = await store.FetchAsync("rs-unknown", "deadbeef");
        Assert.False(unknown.Succeeded, unknown.Output);
        Assert.Contains("no backup deadbeef of store retention", unknown.Termination!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Retention_WaitsForAnotherResticsLock_AndSaysSoWhenItWaitedTooLong()
    {
        using var store = await tools.NewStoreAsync("locked", orders: 50, uploadBytes: 100_000);
        (await store.BackupAsync("bk-1")).EnsureSucceeded();
        var retention = new Dictionary<string, string> { ["KEEP_DAILY"] = "1", ["KEEP_WEEKLY"] = "0", ["KEEP_MONTHLY"] = "0", ["LOCK_RETRY_SECONDS"] = "1" };

        await using (await store.HoldRepositoryLockAsync(tools.Repository))
        {
            var impatient = await store.MaintainAsync("forget", new Dictionary<string, string>(retention) { ["LOCK_WAIT_SECONDS"] = "0" });
            Assert.False(impatient.Succeeded, impatient.Output);
            Assert.Contains("locked by another restic process", impatient.Termination!["reason"]!.GetValue<string>());
        }

        var holder = await store.HoldRepositoryLockAsync(tools.Repository);
        var patient = store.MaintainAsync("forget", new Dictionary<string, string>(retention) { ["LOCK_WAIT_SECONDS"] = "600" });
        // Released once retention has been refused the lock at least twice (it retries every LOCK_RETRY_SECONDS).
        await Eventually.WaitUntilAsync(() => Task.FromResult(store.CommandLines.Split('\n').Count(l => l.StartsWith("restic forget", StringComparison.Ordinal)) >= 3), TimeSpan.FromSeconds(60), "retention retries the lock");
        await holder.DisposeAsync();

        var run = (await patient).EnsureSucceeded();
        Assert.Contains("waiting for the repository lock", run.Output);
    }

    private async Task AssertRestoreFailsUntouchedAsync(StoreBackupScripts store, string snapshot, Action breakIt, string reason)
    {
        await File.WriteAllTextAsync(Path.Combine(store.ContentDirectory, "uploads", "after-backup.txt"), "must survive a failed restore");
        await tools.Database.ExecuteAsync("UPDATE wp_wc_orders SET status = 'wc-refunded' WHERE id = 1", store.DatabaseName);
        var files = WooCommerceShapedData.Fingerprint(store.ContentDirectory);
        var tables = await tools.Database.FingerprintAsync(store.DatabaseName);
        breakIt();

        var restore = await store.RestoreAsync("rs-broken", snapshot);

        Assert.False(restore.Succeeded, restore.Output);
        Assert.Equal("restore-fetch.sh", restore.FailedStep);
        var message = restore.Termination!["reason"]!.GetValue<string>();
        Assert.Contains(reason, message);
        Assert.True(restore.Output.Contains("FAILED: " + message, StringComparison.Ordinal), restore.Output);
        Assert.Equal(files, WooCommerceShapedData.Fingerprint(store.ContentDirectory));
        Assert.Equal(tables, await tools.Database.FingerprintAsync(store.DatabaseName));
        AssertNoSecretsOutside(store, restore);
    }

    private static void AssertNoSecretsOutside(StoreBackupScripts store, params ScriptRun[] runs)
    {
        Assert.NotEmpty(store.CommandLines);
        foreach (var secret in store.Secrets)
        {
            Assert.DoesNotContain(secret, store.CommandLines);
            Assert.DoesNotContain(Uri.EscapeDataString(secret), store.CommandLines);
            foreach (var run in runs)
            {
                Assert.DoesNotContain(secret, run.Output);
                Assert.DoesNotContain(Uri.EscapeDataString(secret), run.Output);
                Assert.DoesNotContain(secret, run.Termination?.ToJsonString() ?? string.Empty);
            }
        }
    }
}

/// <summary>One MariaDB server and one restic REST server for the backup script tests (each test has its own database and repository).</summary>
public sealed class BackupToolsFixture : IAsyncLifetime
{
    public MariaDbServerProcess Database { get; private set; } = null!;

    public ResticRestServer Repository { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var database = MariaDbServerProcess.StartAsync();
        var repository = ResticRestServer.StartAsync();
        Database = await database;
        Repository = await repository;
    }

    /// <summary>A store on this machine: its database (WooCommerce-shaped, <paramref name="orders"/> orders) and wp-content.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task<StoreBackupScripts> NewStoreAsync(string name, int orders, long uploadBytes)
    {
        var database = $"wp_{name}";
        await Database.CreateDatabaseAsync(database, $"u_{name}", "user-" + Guid.NewGuid().ToString("N"));
        var store = new StoreBackupScripts(Database, Repository, name, database);
        if (orders > 0)
        {
            await WooCommerceShapedData.FillDatabaseAsync(Database, database, orders);
            WooCommerceShapedData.WriteContent(store.ContentDirectory, uploadBytes);
        }

        return store;
    }

    public async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        await Repository.DisposeAsync();
    }
}

using System.Diagnostics;
using Storefleet.Testing;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// Backup and restore through the store chart's scripts (the Jobs' work: dump + restic backup; download, database,
/// files) against the same work done by hand — plain <c>mysqldump</c> + <c>restic backup</c>, and <c>restic restore</c>
/// + <c>mysql &lt; dump</c> + moving wp-content into place — on the same data in the same run: a WooCommerce-shaped
/// database of about 200 MB of rows and 500 MB of uploads, a real MariaDB, restic and a restic REST server
/// (rclone serve restic). Also the second backup's added bytes after a small change (deduplication). Goals: both
/// ratios ≤ 1.20.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class BackupBenchmark
{
    public static async Task<int> RunAsync(int databaseMegabytes, int uploadMegabytes)
    {
        var goals = new Goals();
        await using var database = await MariaDbServerProcess.StartAsync();
        await using var repository = await ResticRestServer.StartAsync();
        const string name = "bench";
        await database.CreateDatabaseAsync($"wp_{name}", $"u_{name}", "user-" + Guid.NewGuid().ToString("N"));
        using var store = new StoreBackupScripts(database, repository, name, $"wp_{name}");
        Console.WriteLine($"Storefleet backup benchmark: {databaseMegabytes} MB of rows, {uploadMegabytes} MB of uploads, {await Version("/usr/bin/restic", "version")}");

        await WooCommerceShapedData.CreateSchemaAsync(database, store.DatabaseName);
        var orders = await WooCommerceShapedData.FillToSizeAsync(database, store.DatabaseName, databaseMegabytes * 1_000_000L);
        WooCommerceShapedData.WriteContent(store.ContentDirectory, uploadMegabytes * 1_000_000L);
        Goals.Info("orders", orders, "", "0");

        using var byHand = new ByHand(store, repository);
        var plainBackup = await TimeAsync(byHand.BackupAsync);
        Goals.Info("plain mysqldump + restic backup", plainBackup.TotalSeconds, "s");
        Goals.Info("  dump size", byHand.DumpBytes / 1e6, "MB", "0");

        ScriptRun? first = null;
        var scriptBackup = await TimeAsync(async () => first = (await store.BackupAsync("bk-1")).EnsureSucceeded());
        Goals.Info("backup Job scripts", scriptBackup.TotalSeconds, "s");
        Goals.Info("  added to the repository", first!.Termination!["bytesAdded"]!.GetValue<long>() / 1e6, "MB", "0");

        // A day in the shop: one more order, one more upload. The next backup adds only what changed.
        await database.ExecuteAsync(WooCommerceShapedData.Rows(1, seed: 99, firstId: orders + 1), store.DatabaseName);
        await File.WriteAllBytesAsync(Path.Combine(store.ContentDirectory, "uploads", "new-product.jpg"), RandomBytes(300_000));
        ScriptRun? second = null;
        var secondBackup = await TimeAsync(async () => second = (await store.BackupAsync("bk-2")).EnsureSucceeded());
        var snapshot = second!.Termination!["snapshot"]!.GetValue<string>();
        Goals.Info("second backup (one order, one upload more)", secondBackup.TotalSeconds, "s");
        Goals.Info("  added to the repository", second.Termination["bytesAdded"]!.GetValue<long>() / 1e6, "MB");
        var files = WooCommerceShapedData.Fingerprint(store.ContentDirectory);
        var tables = await database.FingerprintAsync(store.DatabaseName);

        var plainRestore = await TimeAsync(byHand.RestoreAsync);
        Goals.Info("plain restic restore + mysql < dump", plainRestore.TotalSeconds, "s");
        var scriptRestore = await TimeAsync(async () => (await store.RestoreAsync("rs-1", snapshot)).EnsureSucceeded());
        Goals.Info("restore Job scripts", scriptRestore.TotalSeconds, "s");
        if (!files.SequenceEqual(WooCommerceShapedData.Fingerprint(store.ContentDirectory)) || tables != await database.FingerprintAsync(store.DatabaseName))
        {
            throw new InvalidOperationException("the restored store differs from the backup");
        }

        Console.WriteLine("restored store identical to the backup: files (SHA-256) and tables (CHECKSUM TABLE)");
        goals.AtMost("ratio backup / plain", scriptBackup / plainBackup, 1.20, "x");
        goals.AtMost("ratio restore / plain", scriptRestore / plainRestore, 1.20, "x");
        goals.Summary();
        return goals.ExitCode;
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> work)
    {
        var clock = Stopwatch.StartNew();
        await work();
        return clock.Elapsed;
    }

    private static async Task<string> Version(string tool, string argument) => (await Cli.RunAsync(tool, [argument])).Stdout.Trim();

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>The same work by hand, as a person with a shell would do it: plain commands, its own repository.</summary>
    private sealed class ByHand(StoreBackupScripts store, ResticRestServer repository) : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("bench-backup-by-hand-").FullName;

        public long DumpBytes { get; private set; }

        private Dictionary<string, string> Environment => new()
        {
            ["RESTIC_REPOSITORY"] = $"rest:http://{Uri.EscapeDataString(repository.User)}:{Uri.EscapeDataString(repository.Password)}@127.0.0.1:{repository.Port}/by-hand/{store.Store}",
            ["RESTIC_PASSWORD_FILE"] = store.PasswordFile,
            ["RESTIC_CACHE_DIR"] = Path.Combine(_directory, "cache"),
            ["MYSQL_PWD"] = store.Environment["MYSQL_PWD"],
            ["PATH"] = "/usr/bin:/bin",
        };

        public async Task BackupAsync()
        {
            var dump = Path.Combine(_directory, "dump", "database.sql");
            Directory.CreateDirectory(Path.GetDirectoryName(dump)!);
            await RunAsync($"""
                restic init >/dev/null
                mysqldump --single-transaction --routines --triggers --hex-blob --no-tablespaces --host=127.0.0.1 --port={store.Environment["DB_PORT"]} --user=root {store.DatabaseName} > '{dump}'
                restic backup --quiet '{dump}' '{store.ContentDirectory}'
                """);
            DumpBytes = new FileInfo(dump).Length;
            File.Delete(dump);
        }

        public async Task RestoreAsync()
        {
            var target = Path.Combine(_directory, "restore");
            await RunAsync($"""
                restic restore latest --target '{target}' >/dev/null
                mysql --host=127.0.0.1 --port={store.Environment["DB_PORT"]} --user=root -e 'DROP DATABASE {store.DatabaseName}; CREATE DATABASE {store.DatabaseName} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
                mysql --host=127.0.0.1 --port={store.Environment["DB_PORT"]} --user=root {store.DatabaseName} < '{target}{Path.Combine(_directory, "dump", "database.sql")}'
                rm -rf '{store.ContentDirectory}'
                mv '{target}{store.ContentDirectory}' '{store.ContentDirectory}'
                rm -rf '{target}'
                """);
        }

        private async Task RunAsync(string script) =>
            (await Cli.RunAsync("/bin/bash", ["-euo", "pipefail", "-c", script], Environment, timeout: TimeSpan.FromMinutes(30))).EnsureSuccessStatusCode();

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}

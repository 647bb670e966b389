using System.Text.Json.Nodes;

namespace Storefleet.Testing;

/// <summary>
/// Runs the store chart's backup and restore scripts on this machine the way the backup and restore Jobs run them:
/// the restic-image parts under BusyBox's sh with only BusyBox's applets and restic on the PATH (the restic image is
/// Alpine), the mysql-image parts under /bin/sh with the MariaDB client tools; a real MariaDB as the store's MySQL, a
/// real restic REST server as the repository. A "store" here is a database and a directory holding its wp-content.
/// Every command line restic and the MySQL tools were given is logged (<see cref="CommandLines"/>), so a test can
/// assert no secret was on one.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StoreBackupScripts : IDisposable
{
    private static readonly string Scripts = Path.Combine(RepositoryPaths.Root, "charts", "store", "files");
    private readonly MariaDbServerProcess _database;
    private readonly string _root;
    private readonly string _resticPath;
    private readonly string _mysqlPath;
    private readonly string _commandLog;

    public StoreBackupScripts(MariaDbServerProcess database, ResticRestServer repository, string store, string databaseName)
    {
        _database = database;
        Store = store;
        DatabaseName = databaseName;
        _root = Directory.CreateTempSubdirectory($"storefleet-store-{store}-").FullName;
        Directory.CreateDirectory(ContentDirectory);
        _commandLog = Path.Combine(_root, "command-lines.log");
        File.WriteAllText(_commandLog, string.Empty);
        _resticPath = Path.Combine(_root, "restic-image-bin");
        _mysqlPath = Path.Combine(_root, "mysql-image-bin");
        Directory.CreateDirectory(_resticPath);
        Directory.CreateDirectory(_mysqlPath);
        var busybox = new[] { "/usr/bin/busybox", "/bin/busybox" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("busybox is not installed. Run scripts/bootstrap-tools.sh (./test.sh does it for you).");
        Cli.RunAsync(busybox, ["--install", "-s", _resticPath]).GetAwaiter().GetResult().EnsureSuccessStatusCode();
        Logged(_resticPath, "restic", "/usr/bin/restic");
        foreach (var tool in new[] { "mysql", "mysqldump", "mysqladmin" })
        {
            Logged(_mysqlPath, tool, $"/usr/bin/{tool}");
        }

        PasswordFile = Path.Combine(_root, "restic-password");
        File.WriteAllText(PasswordFile, "restic-" + Guid.NewGuid().ToString("N"));
        Environment = new Dictionary<string, string>
        {
            ["STORE_NAME"] = store,
            ["RESTIC_REPOSITORY_BASE"] = repository.BaseUrl,
            ["RESTIC_REST_USERNAME"] = repository.User,
            ["RESTIC_REST_PASSWORD"] = repository.Password,
            ["RESTIC_PASSWORD_FILE"] = PasswordFile,
            ["RESTIC_CACHE_DIR"] = Path.Combine(_root, "restic-cache"),
            ["DUMP_DIR"] = Path.Combine(_root, "backup-scratch"),
            ["WP_CONTENT_DIR"] = ContentDirectory,
            ["RESTORE_DIR"] = Path.Combine(_root, "html", ".storefleet", "restore"),
            ["DB_HOST"] = "127.0.0.1",
            ["DB_PORT"] = database.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DB_USER"] = "root",
            ["DB_NAME"] = databaseName,
            ["MYSQL_PWD"] = database.RootPassword,
            ["WAIT_TIMEOUT_SECONDS"] = "30",
            ["CHART_VERSION"] = "0.1.0",
            ["WORDPRESS_VERSION"] = "6.8.3",
            ["WOOCOMMERCE_VERSION"] = "10.2.2",
        };
    }

    public string Store { get; }

    public string DatabaseName { get; }

    public string ContentDirectory => Path.Combine(_root, "html", "wp-content");

    public string PasswordFile { get; }

    /// <summary>The Jobs' environment (a test may change it: a wrong password file, an unreachable repository).</summary>
    public Dictionary<string, string> Environment { get; }

    /// <summary>The secrets a scan must never find outside the environment: the restic password, the REST password, the root password.</summary>
    public IReadOnlyList<string> Secrets => [File.ReadAllText(PasswordFile), Environment["RESTIC_REST_PASSWORD"], Environment["MYSQL_PWD"]];

    /// <summary>Every command line restic and the MySQL tools were started with, one per line.</summary>
    public string CommandLines => File.ReadAllText(_commandLog);

    /// <summary>A backup: the dump (mysql image), then the upload (restic image), as the backup Job's two containers.</summary>
    public async Task<ScriptRun> BackupAsync(string backupId)
    {
        var environment = new Dictionary<string, string>(Environment) { ["BACKUP_ID"] = backupId };
        Directory.CreateDirectory(environment["DUMP_DIR"]);
        try
        {
            return await RunAsync([("backup-dump.sh", []), ("backup-upload.sh", [])], environment);
        }
        finally
        {
            Directory.Delete(environment["DUMP_DIR"], recursive: true);
        }
    }

    /// <summary>A restore: fetch (restic image), database (mysql image), files (restic image), stopping at the first failure.</summary>
    public Task<ScriptRun> RestoreAsync(string restoreId, string snapshot, string? sourceStore = null)
    {
        var environment = new Dictionary<string, string>(Environment) { ["RESTORE_ID"] = restoreId, ["RESTORE_SNAPSHOT"] = snapshot };
        if (sourceStore is not null)
        {
            environment["SOURCE_STORE"] = sourceStore;
        }

        return RunAsync([("restore-fetch.sh", []), ("restore-database.sh", []), ("restore-files.sh", [])], environment);
    }

    /// <summary>Only the first part of a restore (the download), which touches nothing live.</summary>
    public Task<ScriptRun> FetchAsync(string restoreId, string snapshot) =>
        RunAsync([("restore-fetch.sh", [])], new Dictionary<string, string>(Environment) { ["RESTORE_ID"] = restoreId, ["RESTORE_SNAPSHOT"] = snapshot });

    /// <summary>
    /// Holds a (non-exclusive) lock on the store's repository until disposed: a real restic backing up its standard
    /// input, which is kept open. Returns once the lock is in the repository.
    /// </summary>
    public async Task<IAsyncDisposable> HoldRepositoryLockAsync(ResticRestServer repository)
    {
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/restic") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "backup", "--stdin", "--stdin-filename", "lock-holder" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["RESTIC_REPOSITORY"] = $"rest:http://{Uri.EscapeDataString(repository.User)}:{Uri.EscapeDataString(repository.Password)}@127.0.0.1:{repository.Port}/storefleet/{Store}";
        start.Environment["RESTIC_PASSWORD_FILE"] = Environment["RESTIC_PASSWORD_FILE"];
        start.Environment["RESTIC_CACHE_DIR"] = Path.Combine(_root, "lock-holder-cache");
        var process = System.Diagnostics.Process.Start(start)!;
        var locks = Path.Combine(repository.Directory, "storefleet", Store, "locks");
        await Eventually.WaitUntilAsync(() => Task.FromResult(Directory.Exists(locks) && Directory.EnumerateFiles(locks).Any()), TimeSpan.FromSeconds(30), "restic holds the repository's lock");
        return new LockHolder(process);
    }

    private sealed class LockHolder(System.Diagnostics.Process process) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            process.StandardInput.Close();
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }

    /// <summary>Maintenance: <c>forget</c> (retention) or <c>check</c>.</summary>
    public Task<ScriptRun> MaintainAsync(string task, IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>(Environment);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return RunAsync([("backup-maintain.sh", [task])], environment);
    }

    private async Task<ScriptRun> RunAsync(IReadOnlyList<(string Script, string[] Args)> steps, Dictionary<string, string> environment)
    {
        var outputs = new List<string>();
        JsonNode? termination = null;
        foreach (var (script, args) in steps)
        {
            var terminationPath = Path.Combine(_root, "termination-log");
            File.Delete(terminationPath);
            var resticImage = script is "backup-upload.sh" or "backup-maintain.sh" or "restore-fetch.sh" or "restore-files.sh";
            var stepEnvironment = new Dictionary<string, string>(environment)
            {
                ["PATH"] = resticImage ? _resticPath : $"{_mysqlPath}:/usr/bin:/bin",
                ["TERMINATION_MESSAGE_PATH"] = terminationPath,
                ["HOME"] = _root,
            };
            var shell = resticImage ? new[] { Path.Combine(_resticPath, "sh") } : ["/bin/sh"];
            var result = await Cli.RunAsync(shell[0], [Path.Combine(Scripts, script), .. args], stepEnvironment, timeout: TimeSpan.FromMinutes(15));
            outputs.Add($"--- {script} (exit {result.ExitCode})\n{result.Stdout}{result.Stderr}");
            if (File.Exists(terminationPath))
            {
                termination = JsonNode.Parse(await File.ReadAllTextAsync(terminationPath));
            }

            if (result.ExitCode != 0)
            {
                return new ScriptRun(false, script, string.Join('\n', outputs), termination);
            }
        }

        return new ScriptRun(true, null, string.Join('\n', outputs), termination);
    }

    /// <summary>A wrapper that logs its command line, then runs the real tool.</summary>
    private void Logged(string directory, string name, string target)
    {
        var wrapper = Path.Combine(directory, name);
        File.Delete(wrapper);
        File.WriteAllText(wrapper, $"#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >> '{_commandLog}'\nexec {target} \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }
}

/// <summary>
/// What a run of backup or restore scripts did: whether every step succeeded, the step that failed, every step's
/// output, and the last termination message written (the JSON the control plane reads).
/// </summary>
public sealed record ScriptRun(bool Succeeded, string? FailedStep, string Output, JsonNode? Termination)
{
    public ScriptRun EnsureSucceeded() => Succeeded ? this : throw new InvalidOperationException($"{FailedStep} failed:\n{Output}");

    public override string ToString() => Output;
}

using System.Diagnostics;
using System.Globalization;

namespace Storefleet.Testing;

/// <summary>
/// A real MariaDB server (Debian's <c>mariadb-server</c>, the stand-in for a store's MySQL) on a free loopback port,
/// its data directory in a temporary directory, with a root account that needs a password over TCP (as the store's
/// MySQL has). Queried through the real <c>mariadb</c> client on its socket. Killed and cleaned up on dispose.
/// </summary>
public sealed class MariaDbServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private MariaDbServerProcess(Process process, string directory, int port, string rootPassword)
    {
        _process = process;
        _directory = directory;
        Port = port;
        RootPassword = rootPassword;
    }

    public int Port { get; }

    /// <summary>The password of <c>root</c> connecting over TCP from 127.0.0.1.</summary>
    public string RootPassword { get; }

    private string Socket => Path.Combine(_directory, "mysqld.sock");

    public static async Task<MariaDbServerProcess> StartAsync()
    {
        var server = new[] { "/usr/sbin/mariadbd", "/usr/sbin/mysqld" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("mariadb-server is not installed. Run scripts/bootstrap-tools.sh (./test.sh does it for you).");
        var directory = Directory.CreateTempSubdirectory("storefleet-mariadb-").FullName;
        var data = Path.Combine(directory, "data");
        var user = Environment.UserName;
        (await Cli.RunAsync("/usr/bin/mariadb-install-db",
            ["--no-defaults", $"--datadir={data}", $"--user={user}", "--auth-root-authentication-method=socket", "--skip-test-db"],
            timeout: TimeSpan.FromMinutes(2))).EnsureSuccessStatusCode();
        var port = FreePort.Next();
        var process = ToolProcess.Start(server, [
            "--no-defaults", $"--datadir={data}", $"--socket={Path.Combine(directory, "mysqld.sock")}", $"--port={port}",
            "--bind-address=127.0.0.1", "--skip-name-resolve", $"--user={user}", $"--pid-file={Path.Combine(directory, "mysqld.pid")}",
            "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--max-allowed-packet=64M",
            $"--log-error={Path.Combine(directory, "error.log")}",
        ]);
        var rootPassword = "root-" + Guid.NewGuid().ToString("N");
        var mariadb = new MariaDbServerProcess(process, directory, port, rootPassword);
        await Eventually.WaitUntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new GiveUpException($"mariadbd exited with code {process.ExitCode}: {ReadLog(directory)}");
            }

            return (await Cli.RunAsync("/usr/bin/mariadb-admin", ["--no-defaults", $"--socket={mariadb.Socket}", "--user=root", "ping"])).ExitCode == 0;
        }, TimeSpan.FromSeconds(60), $"mariadbd on port {port}");
        await mariadb.ExecuteAsync($"CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '{rootPassword}'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;");
        return mariadb;
    }

    /// <summary>Creates a database and a user owning it (as the store chart's MySQL has), connecting over TCP.</summary>
    public Task CreateDatabaseAsync(string database, string user, string password) =>
        ExecuteAsync($"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; " +
            $"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'; GRANT ALL ON `{database}`.* TO '{user}'@'127.0.0.1';");

    /// <summary>Runs SQL as root on the socket; throws with the client's error when it fails.</summary>
    public async Task<string> ExecuteAsync(string sql, string? database = null)
    {
        var args = new List<string> { "--no-defaults", $"--socket={Socket}", "--user=root", "--batch", "--skip-column-names", "--default-character-set=utf8mb4" };
        if (database is not null)
        {
            args.Add(database);
        }

        return (await Cli.RunAsync("/usr/bin/mariadb", args, stdin: sql, timeout: TimeSpan.FromMinutes(10))).EnsureSuccessStatusCode().Stdout;
    }

    /// <summary>
    /// What a database holds, for comparing two states: every table's definition and <c>CHECKSUM TABLE</c>, its
    /// triggers and routines.
    /// </summary>
    public async Task<string> FingerprintAsync(string database)
    {
        var tables = (await ExecuteAsync($"SELECT table_name FROM information_schema.tables WHERE table_schema = '{database}' ORDER BY table_name"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var parts = new List<string> { "tables: " + string.Join(",", tables) };
        foreach (var table in tables)
        {
            // CHECKSUM TABLE names the table with its database: left out, so a clone compares equal to its source.
            parts.Add((await ExecuteAsync($"SHOW CREATE TABLE `{table}`; CHECKSUM TABLE `{table}` EXTENDED;", database)).Replace(database + ".", string.Empty, StringComparison.Ordinal));
        }

        parts.Add(await ExecuteAsync($"SELECT trigger_name, action_statement FROM information_schema.triggers WHERE trigger_schema = '{database}' ORDER BY trigger_name"));
        parts.Add(await ExecuteAsync($"SELECT routine_name, routine_definition FROM information_schema.routines WHERE routine_schema = '{database}' ORDER BY routine_name"));
        return string.Join("\n", parts);
    }

    private static string ReadLog(string directory)
    {
        var log = Path.Combine(directory, "error.log");
        return File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(10)) : "(no error log)";
    }

    public async ValueTask DisposeAsync() => await ToolProcess.StopAsync([_process], _directory);
}

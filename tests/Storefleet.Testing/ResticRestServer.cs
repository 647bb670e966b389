using System.Diagnostics;
using System.Net.Sockets;

namespace Storefleet.Testing;

/// <summary>
/// A restic REST server on a free loopback port, with basic authentication, its repositories (one per path) in a
/// temporary directory. Debian 12 does not package restic's own rest-server, so this is <c>rclone serve restic</c>
/// (Debian's rclone), a full implementation of restic's REST backend protocol that restic's documentation lists.
/// Killed and cleaned up on dispose.
/// </summary>
public sealed class ResticRestServer : IAsyncDisposable
{
    private readonly Process _process;

    private ResticRestServer(Process process, string directory, int port, string user, string password)
    {
        _process = process;
        Directory = directory;
        Port = port;
        User = user;
        Password = password;
    }

    /// <summary>Where the repositories are stored (a repository at <c>rest:…/a/b</c> is the directory <c>a/b</c>).</summary>
    public string Directory { get; }

    public int Port { get; }

    public string User { get; }

    public string Password { get; }

    /// <summary>The repository base URL without credentials (they go in separately, as in production).</summary>
    public string BaseUrl => $"rest:http://127.0.0.1:{Port}/storefleet";

    public static async Task<ResticRestServer> StartAsync()
    {
        var rclone = new[] { "/usr/bin/rclone", "/usr/local/bin/rclone" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("rclone is not installed. Run scripts/bootstrap-tools.sh (./test.sh does it for you).");
        var directory = System.IO.Directory.CreateTempSubdirectory("storefleet-restic-").FullName;
        var config = Path.Combine(directory, "rclone.conf");
        await File.WriteAllTextAsync(config, string.Empty);
        var repositories = Path.Combine(directory, "repositories");
        System.IO.Directory.CreateDirectory(repositories);
        var port = FreePort.Next();
        // A password with characters a URL must escape, so the scripts' escaping is exercised.
        var user = "backup";
        var password = "p@ss:w/rd%" + Guid.NewGuid().ToString("N")[..12];
        var process = ToolProcess.Start(rclone, ["serve", "restic", "--config", config, "--addr", $"127.0.0.1:{port}", "--user", user, "--pass", password, repositories]);
        var server = new ResticRestServer(process, repositories, port, user, password);
        await Eventually.WaitUntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new GiveUpException($"rclone serve restic exited with code {process.ExitCode}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), $"rclone serve restic on port {port}");
        return server;
    }

    public async ValueTask DisposeAsync() => await ToolProcess.StopAsync([_process], System.IO.Path.GetDirectoryName(Directory)!);
}

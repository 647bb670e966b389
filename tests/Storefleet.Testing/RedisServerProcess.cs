using System.Diagnostics;
using StackExchange.Redis;

namespace Storefleet.Testing;

/// <summary>
/// A real <c>redis-server</c> (the Debian package) on a free loopback port, without persistence,
/// in a temporary directory; killed and cleaned up on dispose.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private RedisServerProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false";

    public static async Task<RedisServerProcess> StartAsync()
    {
        var executable = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("redis-server is not installed. Run scripts/bootstrap-tools.sh (./test.sh does it for you).");
        var directory = Directory.CreateTempSubdirectory("storefleet-redis-").FullName;
        var port = FreePort.Next();
        var process = ToolProcess.Start(executable, ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"]);
        var server = new RedisServerProcess(process, directory, port);
        await Eventually.WaitUntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new GiveUpException($"redis-server exited with code {process.ExitCode}.");
            }

            await using var probe = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=500");
            await probe.GetDatabase().PingAsync();
            return true;
        }, TimeSpan.FromSeconds(15), $"redis-server on port {port}");
        return server;
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open, nothing is answered, time passes — a stall or a network partition.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>Resumes a paused server (SIGCONT); keys whose TTL passed meanwhile are expired.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await ResumeAsync();
        await ToolProcess.StopAsync([_process], _directory);
    }
}

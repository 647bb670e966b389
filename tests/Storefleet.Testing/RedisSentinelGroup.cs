using System.Diagnostics;
using System.Globalization;

namespace Storefleet.Testing;

/// <summary>
/// Redis with automatic failover on loopback, from the Debian <c>redis-server</c> binary: a primary, two replicas (so
/// one is left to confirm writes after a failover) and three Sentinels (<c>redis-server --sentinel</c>, quorum 2, primary declared down after 1 s) watching service
/// <see cref="ServiceName"/>. <see cref="KillPrimaryAsync"/> is SIGKILL of the current primary.
/// </summary>
public sealed class RedisSentinelGroup : IAsyncDisposable
{
    public const string ServiceName = "storefleet";
    private readonly List<(Process Process, int Port)> _servers = [];
    private readonly List<(Process Process, int Port)> _sentinels = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("storefleet-sentinel-").FullName;

    /// <summary>The connection string a control plane uses: the Sentinels and the service name.</summary>
    public string ConnectionString => string.Join(",", _sentinels.Select(s => $"127.0.0.1:{s.Port}")) + $",serviceName={ServiceName},abortConnect=false";

    public static async Task<RedisSentinelGroup> StartAsync()
    {
        var group = new RedisSentinelGroup();
        var primary = FreePort.Next();
        group._servers.Add((group.Server(primary), primary));
        await WaitForPingAsync(primary);
        for (var i = 0; i < 2; i++)
        {
            var replica = FreePort.Next();
            group._servers.Add((group.Server(replica, "--replicaof", "127.0.0.1", primary.ToString(CultureInfo.InvariantCulture)), replica));
            await Eventually.WaitUntilAsync(async () => (await InfoAsync(replica, "replication")).Contains("master_link_status:up", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the replica to sync");
        }
        for (var i = 0; i < 3; i++)
        {
            var port = FreePort.Next();
            var config = Path.Combine(group._directory, $"sentinel-{port}.conf");
            await File.WriteAllTextAsync(config, $"""
                port {port}
                bind 127.0.0.1
                dir {group._directory}
                sentinel monitor {ServiceName} 127.0.0.1 {primary} 2
                sentinel down-after-milliseconds {ServiceName} 1000
                sentinel failover-timeout {ServiceName} 10000
                sentinel parallel-syncs {ServiceName} 1

                """);
            group._sentinels.Add((Launch(config, "--sentinel"), port));
        }

        foreach (var (_, port) in group._sentinels)
        {
            await Eventually.WaitUntilAsync(async () => (await InfoAsync(port, "sentinel")).Contains("slaves=2,sentinels=3", StringComparison.Ordinal), TimeSpan.FromSeconds(30), $"sentinel {port} to see the replica and its peers");
        }

        return group;
    }

    /// <summary>The port of the server the Sentinels currently call primary.</summary>
    public async Task<int> PrimaryPortAsync()
    {
        var answer = await RedisCliAsync(_sentinels[0].Port, "SENTINEL", "get-master-addr-by-name", ServiceName);
        return int.Parse(answer.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>SIGKILL of the primary; returns its port. Sentinels promote the replica within a few seconds.</summary>
    public async Task<int> KillPrimaryAsync()
    {
        var port = await PrimaryPortAsync();
        var (process, _) = _servers.Single(s => s.Port == port);
        process.Kill();
        await process.WaitForExitAsync();
        return port;
    }

    /// <summary>Waits until the Sentinels name a primary other than <paramref name="oldPort"/>, it accepts writes, and a replica follows it.</summary>
    public async Task<int> WaitForFailoverAsync(int oldPort, TimeSpan timeout)
    {
        var promoted = await Eventually.WaitForAsync(async () =>
        {
            var port = await PrimaryPortAsync();
            var replication = port == oldPort ? string.Empty : await InfoAsync(port, "replication");
            return replication.Contains("role:master", StringComparison.Ordinal) && replication.Contains("connected_slaves:1", StringComparison.Ordinal) ? port.ToString(CultureInfo.InvariantCulture) : null;
        }, timeout, "Sentinel to promote the replica");
        return int.Parse(promoted, CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync() => await ToolProcess.StopAsync(_sentinels.Concat(_servers).Select(s => s.Process), _directory);

    private Process Server(int port, params string[] extra) =>
        Launch(null, ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--dbfilename", $"dump-{port}.rdb", "--loglevel", "warning", .. extra]);

    private static Process Launch(string? config, params string[] args) =>
        ToolProcess.Start("/usr/bin/redis-server", config is null ? args : [config, .. args]);

    private static Task WaitForPingAsync(int port) =>
        Eventually.WaitUntilAsync(async () => (await InfoAsync(port, "server")).Length > 0, TimeSpan.FromSeconds(15), $"redis-server on port {port}");

    private static Task<string> InfoAsync(int port, string section) => RedisCliAsync(port, "INFO", section);

    /// <summary>One command through <c>redis-cli</c> (it speaks to Sentinels and servers alike); empty when it cannot connect.</summary>
    private static async Task<string> RedisCliAsync(int port, params string[] command)
    {
        var result = await Cli.RunAsync("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. command], timeout: TimeSpan.FromSeconds(10));
        return result.ExitCode == 0 && !result.Stdout.StartsWith("Could not connect", StringComparison.Ordinal) ? result.Stdout : string.Empty;
    }
}

using System.Diagnostics;
using System.Text;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// The control plane as a person runs it: <c>dotnet run --project src/Storefleet.Server</c> (with
/// <c>--no-build</c>, since the tests already built it) on a free port and a given data directory.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ServerProcess Start(string dataDirectory)
    {
        var port = FreePort.Next();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "run", "--project", "src/Storefleet.Server", "--no-build", "-c", RepositoryPaths.Configuration, "--", "--urls", $"http://127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Storefleet__DataDirectory"] = dataDirectory;
        start.Environment.Remove("ConnectionStrings__Redis");
        start.Environment["DOTNET_NOLOGO"] = "1";
        return new ServerProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet run did not start."), port);
    }

    /// <summary>Like a crash: SIGKILL to the whole process tree, no chance to flush anything.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>A graceful stop: SIGTERM to the server (the child of <c>dotnet run</c>), then wait.</summary>
    public async Task StopGracefullyAsync(TimeSpan timeout)
    {
        var server = ChildPids(_process.Id).DefaultIfEmpty(_process.Id).First();
        using (var kill = Process.Start("kill", ["-TERM", server.ToString()]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    private static IEnumerable<int> ChildPids(int pid)
    {
        var path = $"/proc/{pid}/task/{pid}/children";
        return File.Exists(path)
            ? File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)
            : [];
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

using System.Diagnostics;
using System.Text;

namespace Storefleet.Testing;

/// <summary>
/// The control plane as its own process (<c>dotnet Storefleet.Server.dll</c>), so a test can kill it
/// with SIGKILL like a crash — its helm children are orphaned and live on, as they would in a cluster.
/// </summary>
public sealed class ControlPlaneProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ControlPlaneProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

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

    public static string ServerDll => Path.Combine(RepositoryPaths.Root, "src", "Storefleet.Server", "bin", RepositoryPaths.Configuration, "net10.0", "Storefleet.Server.dll");

    /// <summary>Starts the server with <paramref name="settings"/> (configuration keys; ':' or '__') and waits until /healthz answers.</summary>
    public static async Task<ControlPlaneProcess> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        var process = Start(settings);
        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(60));
        return process;
    }

    /// <summary>Starts the server on a free loopback port (or <paramref name="urls"/>) without waiting for it.</summary>
    public static ControlPlaneProcess Start(IReadOnlyDictionary<string, string> settings, string? urls = null)
    {
        var address = urls ?? $"http://127.0.0.1:{FreePort.Next()}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address);
        start.Environment.Remove("ConnectionStrings__Redis");
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        var reachable = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        return new ControlPlaneProcess(Process.Start(start) ?? throw new InvalidOperationException("the control plane did not start"), reachable);
    }

    public async Task WaitForHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        await Eventually.WaitUntilAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new GiveUpException($"the control plane exited: {Output}");
            }

            try
            {
                return (await http.GetAsync("/healthz")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, timeout, "the control plane to answer /healthz");
    }

    /// <summary>Waits for the process to end by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    /// <summary>A crash: SIGKILL to the server only; nothing is flushed, helm children live on.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>A graceful stop: SIGTERM, then wait for the process to exit by itself.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Peak resident memory (VmHWM) of the process so far, in bytes.</summary>
    public long PeakResidentBytes()
    {
        var line = File.ReadAllLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
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

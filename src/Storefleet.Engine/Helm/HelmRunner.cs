using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Engine.Hosting;

namespace Storefleet.Engine.Helm;

/// <summary>
/// Runs the helm binary: arguments through <see cref="ProcessStartInfo.ArgumentList"/> (never a shell
/// string), at most <see cref="EngineOptions.MaxConcurrentHelm"/> at a time, in a private helm home.
/// Cancellation forwards SIGTERM and waits a grace period, cut short by the caller's kill token (the lease about to be
/// claimable by another worker); past that, or past helm's own timeout, the process tree is killed.
/// </summary>
public sealed partial class HelmRunner(EnginePaths paths, IOptions<EngineOptions> options, ILogger<HelmRunner> logger, Telemetry.StorefleetMetrics? metrics = null) : IDisposable
{
    private static readonly TimeSpan TerminationGrace = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentHelm, options.Value.MaxConcurrentHelm);
    private readonly string _home = Directory.CreateTempSubdirectory("storefleet-helm-").FullName;
    private int _running;
    private int _peak;

    /// <summary>helm processes running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>The most helm processes that ever ran at once in this process.</summary>
    public int Peak => Volatile.Read(ref _peak);

    public int Limit => options.Value.MaxConcurrentHelm;

    /// <summary>
    /// Runs helm with <paramref name="args"/> once a slot is free. <paramref name="beforeStart"/> runs right before
    /// the process starts (after any wait for a slot) and may throw to stop it from starting (a lapsed lease).
    /// Once <paramref name="cancellationToken"/> stops helm (SIGTERM), <paramref name="killNow"/> ends its grace early: the
    /// process tree is killed then, however far it got.
    /// </summary>
    public async Task<HelmResult> RunAsync(IReadOnlyList<string> args, Action? beforeStart, CancellationToken cancellationToken, CancellationToken killNow = default)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            beforeStart?.Invoke();
        }
        catch
        {
            _slots.Release();
            throw;
        }

        var running = Interlocked.Increment(ref _running);
        UpdatePeak(running);
        using var span = Telemetry.StorefleetTracing.Source.StartActivity($"helm {(args.Count > 0 ? args[0] : "none")}", ActivityKind.Client);
        try
        {
            var result = await RunProcessAsync(args, cancellationToken, killNow);
            span?.SetTag("process.exit.code", result.ExitCode);
            return result;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _slots.Release();
        }
    }

    /// <summary>A private 0600 file for values, deleted when the returned handle is disposed.</summary>
    public ValuesFile WriteValues(string json)
    {
        var path = Path.Combine(_home, $"values-{Guid.NewGuid():N}.json");
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, fileOptions))
        {
            stream.Write(Encoding.UTF8.GetBytes(json));
        }

        return new ValuesFile(path);
    }

    public void Dispose()
    {
        _slots.Dispose();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the directory is in the temp area.
        }
    }

    private async Task<HelmResult> RunProcessAsync(IReadOnlyList<string> args, CancellationToken cancellationToken, CancellationToken killNow)
    {
        var start = new ProcessStartInfo(paths.Helm)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["HELM_CACHE_HOME"] = Path.Combine(_home, "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(_home, "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(_home, "data");
        if (options.Value.Kubeconfig is { Length: > 0 } kubeconfig)
        {
            start.Environment["KUBECONFIG"] = kubeconfig;
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"helm ({paths.Helm}) did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        // helm bounds its own work with --timeout; past that (plus a grace), kill the tree.
        using var deadline = new CancellationTokenSource(options.Value.HelmTimeout + TerminationGrace);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            await StopAsync(process, graceful: !deadline.IsCancellationRequested, killNow);
            throw;
        }

        var result = new HelmResult(process.ExitCode, await stdout, await stderr, stopwatch.Elapsed);
        LogFinished(logger, args.Count > 0 ? args[0] : "", process.ExitCode, stopwatch.ElapsedMilliseconds);
        metrics?.Helm(args.Count > 0 ? args[0] : "none", process.ExitCode == 0, stopwatch.Elapsed);
        return result;
    }

    /// <summary>SIGTERM first (helm records its state and exits), then the whole tree after the grace period or at <paramref name="killNow"/>.</summary>
    private async Task StopAsync(Process process, bool graceful, CancellationToken killNow)
    {
        if (process.HasExited)
        {
            return;
        }

        if (graceful && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
        {
            _ = Signal(process.Id, SigTerm);
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(killNow);
            grace.CancelAfter(TerminationGrace);
            try
            {
                await process.WaitForExitAsync(grace.Token);
                return;
            }
            catch (OperationCanceledException) when (killNow.IsCancellationRequested)
            {
                LogKillingBeforeLeaseExpires(logger, process.Id);
            }
            catch (OperationCanceledException)
            {
                LogKilling(logger, process.Id);
            }
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(CancellationToken.None);
    }

    private void UpdatePeak(int running)
    {
        var peak = Volatile.Read(ref _peak);
        while (running > peak && Interlocked.CompareExchange(ref _peak, running, peak) != peak)
        {
            peak = Volatile.Read(ref _peak);
        }
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Signal(int pid, int signal);

    [LoggerMessage(Level = LogLevel.Debug, Message = "helm {Command} exited {ExitCode} after {ElapsedMs} ms")]
    private static partial void LogFinished(ILogger logger, string command, int exitCode, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "helm (pid {Pid}) did not stop after SIGTERM; killing its process tree")]
    private static partial void LogKilling(ILogger logger, int pid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "helm (pid {Pid}) was still running after SIGTERM when the lease was about to expire; killing its process tree so no other worker's helm overlaps it (the release it left pending is recovered on the next run)")]
    private static partial void LogKillingBeforeLeaseExpires(ILogger logger, int pid);
}

/// <summary>What helm printed and how it exited.</summary>
public sealed record HelmResult(int ExitCode, string Stdout, string Stderr, TimeSpan Duration)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>A values file that exists only while in use.</summary>
public sealed class ValuesFile(string path) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose() => File.Delete(Path);
}

using System.Diagnostics;

namespace Storefleet.Testing;

/// <summary>Starting and stopping the long-running tools tests use (redis-server, Sentinels, Prometheus).</summary>
public static class ToolProcess
{
    /// <summary>Starts <paramref name="executable"/> with an argument list, its output read and discarded (so it never blocks on a full pipe).</summary>
    public static Process Start(string executable, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{Path.GetFileName(executable)} did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Kills the processes (if still running) and deletes their temporary directory.</summary>
    public static async Task StopAsync(IEnumerable<Process> processes, string directory)
    {
        foreach (var process in processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using Storefleet.Testing;

namespace Storefleet.Bench.Benchmarks;

/// <summary>
/// The README's run command on embedded defaults (<c>dotnet run --project src/Storefleet.Server</c>, already built, a
/// fresh data directory each time): how long until <c>GET /api/v1/stores</c> answers 200, measured <paramref name="runs"/>
/// times, against <c>dotnet run</c> of a program that only prints (the same <c>dotnet run</c> cost: the project's
/// evaluation and the host's start). Goal: every start answers within 20 s (the README's promise).
/// </summary>
public static class StartupBenchmark
{
    public static async Task<int> RunAsync(int runs)
    {
        var goals = new Goals();
        Console.WriteLine($"Storefleet startup benchmark: {runs} starts of the run command ({RepositoryPaths.Configuration} build)");
        var baseline = await BaselineAsync();
        Goals.Info("dotnet run of an empty program", baseline.TotalSeconds, "s");
        var starts = new List<TimeSpan>();
        for (var i = 0; i < runs; i++)
        {
            starts.Add(await StartOnceAsync());
            Goals.Info($"start {i + 1}: GET /api/v1/stores → 200", starts[^1].TotalSeconds, "s");
        }

        Goals.Info("ratio slowest start / empty program", starts.Max() / baseline, "x");
        goals.AtMost("slowest start", starts.Max().TotalSeconds, 20, "s", "0.0");
        goals.Summary();
        return goals.ExitCode;
    }

    private static async Task<TimeSpan> StartOnceAsync()
    {
        var data = Directory.CreateTempSubdirectory("storefleet-startup-").FullName;
        var port = FreePort.Next();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = RepositoryPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "run", "--project", "src/Storefleet.Server", "--no-build", "-c", RepositoryPaths.Configuration, "--", "--urls", $"http://127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Storefleet__DataDirectory"] = data;
        start.Environment.Remove("ConnectionStrings__Redis");
        start.Environment["DOTNET_NOLOGO"] = "1";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet run did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(2) };
            while (true)
            {
                try
                {
                    if ((await http.GetAsync("/api/v1/stores")).StatusCode == HttpStatusCode.OK)
                    {
                        return clock.Elapsed;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (TaskCanceledException)
                {
                    // Listening, not answering yet.
                }

                if (process.HasExited || clock.Elapsed > TimeSpan.FromMinutes(2))
                {
                    throw new InvalidOperationException($"the run command did not answer (exited: {process.HasExited}) after {clock.Elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s");
                }

                await Task.Delay(50);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary><c>dotnet run</c> of a console program that prints one line: what <c>dotnet run</c> itself costs here.</summary>
    private static async Task<TimeSpan> BaselineAsync()
    {
        var project = Directory.CreateTempSubdirectory("storefleet-startup-baseline-").FullName;
        await File.WriteAllTextAsync(Path.Combine(project, "Baseline.csproj"),
            "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>");
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), "System.Console.WriteLine(\"ready\");");
        (await Cli.RunAsync("dotnet", ["build", project, "-nologo", "-v", "q"], new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1" }, timeout: TimeSpan.FromMinutes(5))).EnsureSuccessStatusCode();
        var clock = Stopwatch.StartNew();
        (await Cli.RunAsync("dotnet", ["run", "--project", project, "--no-build"], new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1" }, timeout: TimeSpan.FromMinutes(2))).EnsureSuccessStatusCode();
        var elapsed = clock.Elapsed;
        Directory.Delete(project, recursive: true);
        return elapsed;
    }
}

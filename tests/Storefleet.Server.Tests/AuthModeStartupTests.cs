using System.Diagnostics;
using System.Net;
using System.Text;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// Auth mode none is for loopback only: the server says so in its log, and refuses to start (saying why
/// and what to set) when it would listen beyond loopback with no credentials configured.
/// </summary>
public sealed class AuthModeStartupTests
{
    private static string ServerDll => Path.Combine(RepositoryPaths.Root, "src", "Storefleet.Server", "bin", RepositoryPaths.Configuration, "net10.0", "Storefleet.Server.dll");

    [Fact]
    public async Task ExposedWithoutCredentials_RefusesToStart_AndSaysWhatToSet()
    {
        var (exitCode, output) = await RunUntilExitAsync($"http://0.0.0.0:{FreePort.Next()}", new Dictionary<string, string>());

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Refusing to start", output);
        Assert.Contains("Storefleet__Access__BootstrapAdminToken", output);
    }

    [Fact]
    public async Task OnLoopbackWithoutCredentials_RunsInAuthModeNone_AndSaysSo()
    {
        var port = FreePort.Next();
        using var server = Start($"http://127.0.0.1:{port}", new Dictionary<string, string>(), out var output);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Eventually.WaitUntilAsync(async () => await Ready(http), TimeSpan.FromSeconds(60), "the server to answer");

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/stores")).StatusCode);
            Assert.Contains("Auth mode none", Snapshot(output));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task ExposedWithABootstrapToken_Starts_AndRequiresCredentials()
    {
        var port = FreePort.Next();
        var token = $"boot-{Guid.NewGuid():N}{Guid.NewGuid():N}";
        using var server = Start($"http://0.0.0.0:{port}", new Dictionary<string, string> { ["Storefleet__Access__BootstrapAdminToken"] = token }, out var output);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Eventually.WaitUntilAsync(async () => await Ready(http), TimeSpan.FromSeconds(60), "the server to answer");

            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/stores")).StatusCode);
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/stores")).StatusCode);
            Assert.Contains("Auth mode tokens", Snapshot(output));
            Assert.DoesNotContain(token, Snapshot(output));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static async Task<bool> Ready(HttpClient http)
    {
        try
        {
            return (await http.GetAsync("/healthz")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task<(int ExitCode, string Output)> RunUntilExitAsync(string urls, Dictionary<string, string> environment)
    {
        using var server = Start(urls, environment, out var output);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await server.WaitForExitAsync(timeout.Token);
        return (server.ExitCode, Snapshot(output));
    }

    private static Process Start(string urls, Dictionary<string, string> environment, out StringBuilder output)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryPaths.Root };
        start.ArgumentList.Add(ServerDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(urls);
        start.Environment["Storefleet__DataDirectory"] = Directory.CreateTempSubdirectory("storefleet-auth-").FullName;
        start.Environment["Storefleet__Engine__Enabled"] = "false";
        start.Environment.Remove("ConnectionStrings__Redis");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var buffer = new StringBuilder();
        output = buffer;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (buffer) { buffer.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (buffer) { buffer.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}

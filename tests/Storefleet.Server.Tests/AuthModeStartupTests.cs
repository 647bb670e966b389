using System.Net;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// Auth mode none is for loopback only: the server says so in its log, and refuses to start (saying why
/// and what to set) when it would listen beyond loopback with no credentials configured.
/// </summary>
public sealed class AuthModeStartupTests
{
    [Fact]
    public async Task ExposedWithoutCredentials_RefusesToStart_WithOneSentenceAndExitCode1_BeforeAnyStateStoreStarts()
    {
        var settings = new Dictionary<string, string>();
        await using var server = Start($"http://0.0.0.0:{FreePort.Next()}", settings);

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains("Refusing to start", server.Output);
        Assert.Contains("Storefleet__Access__BootstrapAdminToken", server.Output);
        Assert.DoesNotContain("Unhandled exception", server.Output);
        Assert.DoesNotContain("   at ", server.Output);
        Assert.Single(server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // The embedded Garnet never started: nothing was written to the data directory.
        Assert.Empty(Directory.EnumerateFileSystemEntries(settings["Storefleet__DataDirectory"]));
    }

    [Theory]
    [InlineData("too-short", "must be at least 32 characters")]
    public async Task AShortBootstrapToken_RefusesToStart_WithExitCode1(string token, string expected)
    {
        await using var server = Start($"http://0.0.0.0:{FreePort.Next()}", new Dictionary<string, string> { ["Storefleet__Access__BootstrapAdminToken"] = token });

        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(expected, server.Output);
        Assert.DoesNotContain(token, server.Output);
        Assert.DoesNotContain("   at ", server.Output);
    }

    [Fact]
    public async Task OnLoopbackWithoutCredentials_RunsInAuthModeNone_AndSaysSo()
    {
        await using var server = Start(null, new Dictionary<string, string>());
        await server.WaitForHealthyAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/stores")).StatusCode);
        Assert.Contains("Auth mode none", server.Output);
    }

    [Fact]
    public async Task OnLoopbackWithoutCredentials_ALocalScriptPollingStores_IsNeverThrottled()
    {
        await using var server = Start(null, new Dictionary<string, string>());
        await server.WaitForHealthyAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        // Six stores polled twice a second for a minute and a bit: far beyond the anonymous budget (120 a minute).
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 800; i++)
        {
            statuses.Add((await http.GetAsync($"/api/v1/stores?name=s{i % 6}")).StatusCode);
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task ExposedWithABootstrapToken_Starts_AndRequiresCredentials()
    {
        var token = $"boot-{Guid.NewGuid():N}{Guid.NewGuid():N}";
        await using var server = Start($"http://0.0.0.0:{FreePort.Next()}", new Dictionary<string, string> { ["Storefleet__Access__BootstrapAdminToken"] = token });
        await server.WaitForHealthyAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/stores")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/stores")).StatusCode);
        Assert.Contains("Auth mode tokens", server.Output);
        Assert.DoesNotContain(token, server.Output);
    }

    /// <summary>The server with embedded Garnet in a fresh data directory and no engine, on <paramref name="urls"/> (default: loopback).</summary>
    private static ControlPlaneProcess Start(string? urls, Dictionary<string, string> settings)
    {
        settings["Storefleet__DataDirectory"] = Directory.CreateTempSubdirectory("storefleet-auth-").FullName;
        settings["Storefleet__Engine__Enabled"] = "false";
        return ControlPlaneProcess.Start(settings, urls);
    }
}

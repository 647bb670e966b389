using System.Text.Json.Nodes;
using Storefleet.Testing;

namespace Storefleet.Cli.Tests;

/// <summary>
/// A control plane that signs people in with an identity provider: <c>storefleet login</c> runs the provider's device
/// flow (the person approves the shown code elsewhere), saves the provider's tokens, keeps the session alive with the
/// refresh token, and says to sign in again once the provider ends the session.
/// </summary>
public sealed class OidcCliFixture : IAsyncLifetime
{
    private ControlPlaneProcess? _server;
    private RedisServerProcess? _redis;

    public StandInIdentityProvider Provider { get; private set; } = null!;

    public Uri Server => _server!.BaseAddress;

    public async Task InitializeAsync()
    {
        Provider = await StandInIdentityProvider.StartAsync();
        _redis = await RedisServerProcess.StartAsync();
        _server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = _redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = $"oidc{Guid.NewGuid():N}:",
            ["Storefleet__Access__Oidc__Authority"] = Provider.Authority,
            ["Storefleet__Access__Oidc__Audience"] = Provider.Audience,
            ["Storefleet__Access__Oidc__CliClientId"] = "storefleet-cli",
            ["Logging__LogLevel__Default"] = "Warning",
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        await Provider.DisposeAsync();
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CliDeviceFlowTests(OidcCliFixture oidc) : IClassFixture<OidcCliFixture>, IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(1);
    private readonly string _home = Directory.CreateTempSubdirectory("storefleet-oidc-").FullName;

    public void Dispose()
    {
        oidc.Provider.AccessTokenLifetime = TimeSpan.FromMinutes(5);
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Login_ShowsTheProvidersCode_AndSignsInOnceItIsApproved()
    {
        var login = CliRunner.RunAsync(_home, ["login", oidc.Server.ToString(), "--name", "corp"]);
        var code = await ShownCodeAsync(login);
        oidc.Provider.Approve(code, "dana@example.com", "member");
        var result = await login;

        var created = await CliRunner.RunAsync(_home, ["stores", "create", $"dana-{Guid.NewGuid():N}"[..12], "-o", "json"]);
        var contexts = await CliRunner.RunAsync(_home, ["contexts"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"enter the code {code}", result.Stderr);
        Assert.Contains($"{oidc.Provider.Authority}/activate", result.Stderr);
        Assert.Contains("Signed in to", result.Stdout);
        var request = oidc.Provider.DeviceRequests.Last();
        Assert.Equal("storefleet-cli", request["client_id"]);
        Assert.Equal("openid profile offline_access", request["scope"]);
        Assert.Equal("storefleet", request["audience"]);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Equal("dana@example.com", JsonNode.Parse(created.Stdout)!["owner"]!.GetValue<string>());
        Assert.Matches(@"\*\s+corp\s+\S+\s+oidc \(127\.0\.0\.1\)", contexts.Stdout);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_home, "config.json")));
    }

    [Fact]
    public async Task AnExpiringSession_IsRefreshed_AndAnEndedOne_AsksToSignInAgain()
    {
        oidc.Provider.AccessTokenLifetime = TimeSpan.FromSeconds(30); // inside the CLI's refresh margin: every command refreshes
        var login = CliRunner.RunAsync(_home, ["login", oidc.Server.ToString()]);
        oidc.Provider.Approve(await ShownCodeAsync(login), "erin@example.com", "viewer");
        Assert.Equal(0, (await login).ExitCode);
        var refreshToken = SavedRefreshToken();
        var refreshes = oidc.Provider.RefreshGrants;

        var listed = await CliRunner.RunAsync(_home, ["stores", "list"]);
        var rotated = SavedRefreshToken();
        oidc.Provider.RevokeRefreshTokens();
        var ended = await CliRunner.RunAsync(_home, ["stores", "list"]);

        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Equal(refreshes + 1, oidc.Provider.RefreshGrants);
        Assert.NotEqual(refreshToken, rotated);
        Assert.Equal(ExitCodes.Unauthorized, ended.ExitCode);
        Assert.Contains($"Your sign-in at {oidc.Provider.Authority} has expired. Run 'storefleet login", ended.Stderr);
    }

    [Fact]
    public async Task ARefusedSignIn_Exits3_AndSavesNothing()
    {
        var login = CliRunner.RunAsync(_home, ["login", oidc.Server.ToString()]);
        oidc.Provider.Deny(await ShownCodeAsync(login));
        var result = await login;

        Assert.Equal(ExitCodes.Unauthorized, result.ExitCode);
        Assert.Contains("The sign-in was refused at the identity provider.", result.Stderr);
        Assert.False(File.Exists(Path.Combine(_home, "config.json")));
    }

    [Fact]
    public async Task UseToken_SkipsTheProvider_AndAnApiTokenFromStdinStillWorks()
    {
        var before = oidc.Provider.DeviceRequests.Count;

        var withBadToken = await CliRunner.RunAsync(_home, ["login", oidc.Server.ToString(), "--token-stdin"], stdin: "sfat_not-a-real-token");
        var prompted = await CliRunner.RunAsync(_home, ["login", oidc.Server.ToString(), "--use-token"]);

        Assert.Equal(ExitCodes.Unauthorized, withBadToken.ExitCode);
        Assert.Equal(ExitCodes.Unauthorized, prompted.ExitCode); // not a terminal: no prompt, no token, and this server needs one
        Assert.Equal(before, oidc.Provider.DeviceRequests.Count);
    }

    /// <summary>The code the running login shows, as the person reads it (the provider's pending grant it started).</summary>
    private async Task<string> ShownCodeAsync(Task<CliResult> login) =>
        await Eventually.WaitForAsync(() =>
        {
            if (login.IsCompleted)
            {
                throw new GiveUpException($"login ended before showing a code: {login.Result}");
            }

            return Task.FromResult(oidc.Provider.PendingUserCodes.Count == 1 ? oidc.Provider.PendingUserCodes[0] : null);
        }, Generous, "the login to start a device sign-in");

    private string SavedRefreshToken() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(_home, "config.json")))!["contexts"]![0]!["oidc"]!["refreshToken"]!.GetValue<string>();
}

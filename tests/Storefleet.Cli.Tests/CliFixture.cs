using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Cli.Tests;

/// <summary>
/// A real control plane (its own process, access control on) on redis-server and the Kubernetes API test double
/// with the real helm, and the built CLI run as its own process with a private configuration file.
/// </summary>
public sealed class CliFixture : IAsyncLifetime
{
    private ControlPlaneProcess? _server;

    public RedisServerProcess Redis { get; private set; } = null!;

    public KubeApiTestServer Api { get; private set; } = null!;

    public Uri Server => _server!.BaseAddress;

    public string AdminToken { get; } = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";

    public string Home { get; } = Directory.CreateTempSubdirectory("storefleet-cli-").FullName;

    public string ConfigPath => Path.Combine(Home, "config.json");

    public static string CliDll => CliRunner.CliDll;

    public async Task InitializeAsync()
    {
        Redis = await RedisServerProcess.StartAsync();
        Api = await KubeApiTestServer.StartAsync();
        Api.Simulation.ReadyDelay = TimeSpan.FromMilliseconds(300);
        Api.Simulation.JobDuration = TimeSpan.FromMilliseconds(300);
        _server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = Redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = $"cli{Guid.NewGuid():N}:",
            ["Storefleet__Access__BootstrapAdminToken"] = AdminToken,
            ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "10000",
            ["Storefleet__Access__RateLimits__RequestsPerMinute"] = "100000",
            ["Storefleet__Access__RateLimits__ReadsPerMinute"] = "100000",
            ["Storefleet__Engine__Kubeconfig"] = Api.KubeconfigPath,
            ["Storefleet__Engine__HelmPath"] = RepositoryPaths.Helm,
            ["Storefleet__Engine__ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Storefleet__Engine__RetryBaseDelay"] = "00:00:00.100",
            ["Storefleet__Engine__ResyncInterval"] = "00:00:01", // the orphan scan finds a planted namespace quickly
            ["Logging__LogLevel__Default"] = "Warning",
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await Api.DisposeAsync();
        await Redis.DisposeAsync();
        Directory.Delete(Home, recursive: true);
    }

    /// <summary>Runs <c>storefleet ARGS</c> as its own process (output redirected: the plain form scripts see).</summary>
    public Task<CliResult> RunAsync(IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        CliRunner.RunAsync(Home, args, stdin, environment, timeout);

    public Dictionary<string, string> Environment(IReadOnlyDictionary<string, string>? extra = null) => CliRunner.Environment(Home, extra);

    /// <summary>A context signed in as a new member (login with --token-stdin through the CLI itself).</summary>
    public async Task<string> SignInAsMemberAsync(string subject)
    {
        using var http = new HttpClient { BaseAddress = Server };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
        var created = await http.PostAsync("/api/v1/tokens", new StringContent($$"""{"subject":"{{subject}}","role":"member"}""", System.Text.Encoding.UTF8, "application/json"));
        created.EnsureSuccessStatusCode();
        var token = System.Text.Json.Nodes.JsonNode.Parse(await created.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
        var login = await RunAsync(["login", Server.ToString(), "--token-stdin", "--name", subject], stdin: token);
        Assert.True(login.ExitCode == 0, login.ToString());
        return token;
    }
}

/// <summary>The built CLI run as its own process (<c>dotnet storefleet.dll</c>) with a private home and configuration file.</summary>
public static class CliRunner
{
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "storefleet.dll");

    public static Task<CliResult> RunAsync(string home, IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        Storefleet.Testing.Cli.RunAsync("dotnet", [CliDll, .. args], Environment(home, environment), stdin, timeout ?? TimeSpan.FromMinutes(3));

    public static Dictionary<string, string> Environment(string home, IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["STOREFLEET_CONFIG"] = Path.Combine(home, "config.json"),
            ["HOME"] = home,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return environment;
    }
}

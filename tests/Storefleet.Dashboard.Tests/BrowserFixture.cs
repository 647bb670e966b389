using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Redis;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Dashboard.Tests;

/// <summary>
/// The whole product for end-to-end tests: redis-server, the Kubernetes API test double (workloads take a
/// moment, so phases can be watched), the control plane as its own process with access control on, and
/// Debian's Chromium driven by Playwright (never a downloaded browser).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private ControlPlaneProcess? _server;

    public RedisServerProcess Redis { get; private set; } = null!;

    public KubeApiTestServer Api { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public string KeyPrefix { get; } = $"e2e{Guid.NewGuid():N}:";

    public string AdminToken { get; } = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";

    public string AliceToken { get; private set; } = null!;

    public string BobToken { get; private set; } = null!;

    public RedisStoreRepository Repository { get; private set; } = null!;

    public string ServerOutput => _server?.Output ?? string.Empty;

    public async Task InitializeAsync()
    {
        Redis = await RedisServerProcess.StartAsync();
        Api = await KubeApiTestServer.StartAsync();
        Api.Simulation.ReadyDelay = TimeSpan.FromMilliseconds(800);
        Api.Simulation.JobDuration = TimeSpan.FromMilliseconds(1200);
        _server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = Redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = KeyPrefix,
            ["Storefleet__Access__BootstrapAdminToken"] = AdminToken,
            ["Storefleet__Access__MaxStoresPerOwner"] = "50",
            // One test seeds a thousand stores; whatever order the tests run in, the others can still create theirs.
            ["Storefleet__Access__MaxStoresTotal"] = "100000",
            // The tests of this class share alice and run in any order: do not let one test's stores block another's.
            ["Storefleet__Access__MaxConcurrentProvisioningPerOwner"] = "50",
            ["Storefleet__Access__RateLimits__RequestsPerMinute"] = "100000",
            ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "10000",
            ["Storefleet__Engine__Kubeconfig"] = Api.KubeconfigPath,
            ["Storefleet__Engine__HelmPath"] = RepositoryPaths.Helm,
            ["Storefleet__Engine__ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Logging__LogLevel__Default"] = "Warning",
        });
        BaseAddress = _server.BaseAddress;
        AliceToken = await CreateTokenAsync("alice", "member");
        BobToken = await CreateTokenAsync("bob", "member");
        var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        Repository = new RedisStoreRepository(redis, new RedisKeys(KeyPrefix), Options.Create(new StateOptions()));

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await Api.DisposeAsync();
        await Redis.DisposeAsync();
    }

    public HttpClient Client(string token)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A browser context signed in to the dashboard with <paramref name="token"/>, on the stores page.</summary>
    public async Task<IPage> SignedInPageAsync(string token, int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/sign-in");
        await page.FillAsync("#token", token);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(new Uri(BaseAddress, "/").ToString());
        await page.WaitForSelectorAsync("h1:has-text('Stores')");
        await WaitForCircuitAsync(page);
        return page;
    }

    /// <summary>The interactive circuit drives the page (buttons work) once the layout says so; the prerendered page says false.</summary>
    public static async Task WaitForCircuitAsync(IPage page) =>
        await page.WaitForSelectorAsync("[data-interactive='true']", new PageWaitForSelectorOptions { Timeout = 15000 });

    public async Task<string> CreateStoreAsync(string token, string name)
    {
        var response = await Client(token).PostAsJsonAsync("/api/v1/stores", new { name });
        response.EnsureSuccessStatusCode();
        return name;
    }

    private async Task<string> CreateTokenAsync(string subject, string role)
    {
        var response = await Client(AdminToken).PostAsJsonAsync("/api/v1/tokens", new { subject, role });
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.Playwright;
using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Dashboard.Tests;

/// <summary>
/// The dashboard in Chromium, signed in as a member, against the real control plane, Redis, helm and
/// the Kubernetes API test double: create, watch it go live without reloading, read the timeline,
/// reveal credentials, delete — while a second browser sees every change live.
/// </summary>
public sealed class EndToEndTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string RecordPhases = """
        (name) => {
          window.__phases = [];
          window.__loadedOnce = 'yes';
          const record = () => {
            const badge = document.querySelector(`tr[data-store="${name}"] [data-phase]`);
            const phase = badge && badge.getAttribute('data-phase');
            if (phase && window.__phases[window.__phases.length - 1] !== phase) window.__phases.push(phase);
          };
          new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
          record();
        }
        """;

    [Fact]
    public async Task AMember_CreatesAStore_AndWatchesItGoLive_WhileASecondBrowserSeesItToo_ThenDeletesIt()
    {
        var bobs = await fixture.CreateStoreAsync(fixture.BobToken, $"bob-{Guid.NewGuid():N}"[..12]);
        var name = $"e2e-{Guid.NewGuid():N}"[..12];
        var page = await fixture.SignedInPageAsync(fixture.AliceToken);
        var second = await fixture.SignedInPageAsync(fixture.AliceToken);
        await page.EvaluateAsync(RecordPhases, name);
        await second.EvaluateAsync(RecordPhases, name);

        await page.ClickAsync("#create-store");
        await page.FillAsync("#create-name", name);
        await page.SelectOptionAsync("#create-plan", "small");
        await page.ClickAsync("#create-submit");

        try
        {
            await page.WaitForSelectorAsync($"tr[data-store='{name}'] [data-phase='ready']", new PageWaitForSelectorOptions { Timeout = 30000 });
        }
        catch (TimeoutException e)
        {
            var record = await fixture.Repository.GetAsync(name);
            throw new TimeoutException($"{e.Message}\nstore record: {record?.Phase}\npage: {await page.InnerTextAsync("main")}\nphases: {string.Join(",", await page.EvaluateAsync<string[]>("() => window.__phases"))}\nserver: {fixture.ServerOutput}", e);
        }

        await second.WaitForSelectorAsync($"tr[data-store='{name}'] [data-phase='ready']", new PageWaitForSelectorOptions { Timeout = 30000 });
        var phases = await page.EvaluateAsync<string[]>("() => window.__phases");
        var seenBySecond = await second.EvaluateAsync<string[]>("() => window.__phases");
        Assert.Equal("yes", await page.EvaluateAsync<string>("() => window.__loadedOnce"));
        Assert.Contains(phases[0], new[] { "requested", "provisioning" });
        AssertInOrder(phases, "provisioning", "bootstrapping", "ready");
        AssertInOrder(seenBySecond, "provisioning", "bootstrapping", "ready");
        Assert.Equal(0, await page.Locator($"tr[data-store='{bobs}']").CountAsync());
        Assert.Contains("storefront", await page.InnerTextAsync($"tr[data-store='{name}']"));

        // The store page: timeline, credentials (masked until revealed), then delete with confirmation.
        await page.ClickAsync($"tr[data-store='{name}'] a[href='/stores/{name}']");
        await page.WaitForSelectorAsync("h1:has-text('" + name + "')");
        await BrowserFixture.WaitForCircuitAsync(page);
        Assert.True(await page.Locator("table.timeline tbody tr").CountAsync() >= 5);
        Assert.Contains("helm-upgrade", await page.InnerTextAsync("table.timeline"));
        await page.ClickAsync("#show-credentials");
        string masked;
        try
        {
            masked = await page.Locator("[data-testid=admin-password]").InnerTextAsync(new LocatorInnerTextOptions { Timeout = 10000 });
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\npage: {await page.InnerTextAsync("main")}\nserver: {fixture.ServerOutput}", e);
        }

        Assert.Matches("^•+$", masked);
        await page.ClickAsync("#reveal-password");
        var expected = JsonNode.Parse(await fixture.Client(fixture.AliceToken).GetStringAsync($"/api/v1/stores/{name}/credentials"))!["adminPassword"]!.GetValue<string>();
        await Assertions.Expect(page.Locator("[data-testid=admin-password]")).ToHaveTextAsync(expected);

        Assert.NotNull(await page.Locator("#delete").GetAttributeAsync("disabled")); // enabled only once the name is typed
        await page.FillAsync("#confirm-name", name);
        await page.ClickAsync("#delete");
        await page.WaitForSelectorAsync("[data-testid=gone]", new PageWaitForSelectorOptions { Timeout = 30000 });
        await second.WaitForSelectorAsync($"tr[data-store='{name}']", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached, Timeout = 30000 });
        Assert.Equal("yes", await second.EvaluateAsync<string>("() => window.__loadedOnce"));
    }

    [Fact]
    public async Task TheAdminAuditPage_ListsActionsAndRefusals()
    {
        var name = await fixture.CreateStoreAsync(fixture.AliceToken, $"aud-{Guid.NewGuid():N}"[..12]);
        await fixture.Client(fixture.BobToken).DeleteAsync($"/api/v1/stores/{name}");
        var page = await fixture.SignedInPageAsync(fixture.AdminToken);

        await page.ClickAsync("nav >> text=Audit");
        await page.WaitForSelectorAsync("h1:has-text('Audit trail')");
        await page.FillAsync("#audit-store", name);
        await page.PressAsync("#audit-store", "Enter");

        await Assertions.Expect(page.Locator("table.audit")).ToContainTextAsync("store.create");
        await Assertions.Expect(page.Locator("table.audit tr.refused")).ToContainTextAsync("bob");
        var member = await fixture.SignedInPageAsync(fixture.AliceToken);
        Assert.Equal(0, await member.Locator("nav >> text=Audit").CountAsync());
    }

    [Fact]
    public async Task LiveUpdates_ReachThePage_Pushed_WithTheirLatencyPrinted()
    {
        var name = await fixture.CreateStoreAsync(fixture.AliceToken, $"lat-{Guid.NewGuid():N}"[..12]);
        await Eventually.WaitUntilAsync(async () => (await fixture.Repository.GetAsync(name))?.Phase == StorePhase.Ready, TimeSpan.FromSeconds(30), "the store to be ready");
        var page = await fixture.SignedInPageAsync(fixture.AliceToken);
        await page.WaitForSelectorAsync($"tr[data-store='{name}']");
        await page.EvaluateAsync("""
            (name) => {
              window.__seen = {};
              const cell = () => document.querySelector(`tr[data-store="${name}"] .latest`);
              new MutationObserver(() => { const c = cell(); if (c && !window.__seen[c.textContent]) window.__seen[c.textContent] = Date.now(); })
                .observe(document.body, { subtree: true, childList: true, characterData: true });
            }
            """, name);

        var latencies = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var message = $"engine event {i} {Guid.NewGuid():N}";
            var sent = DateTimeOffset.UtcNow;
            var store = (await fixture.Repository.GetAsync(name))!;
            await fixture.Repository.UpdateAsync(store with { UpdatedAt = sent }, [new StoreEvent(sent, StoreEventType.Warning, store.Phase, message)]);
            var shown = await Eventually.WaitForAsync(
                async () => await page.EvaluateAsync<double?>("(m) => window.__seen[m] ?? null", message),
                TimeSpan.FromSeconds(10), $"event {i} on the page");
            latencies.Add(shown!.Value - sent.ToUnixTimeMilliseconds());
        }

        latencies.Sort();
        var p95 = latencies[(int)Math.Ceiling(latencies.Count * 0.95) - 1];
        Console.WriteLine($"live update latency: median {latencies[latencies.Count / 2]:0} ms, p95 {p95:0} ms");
        // Expected well under a second; bounded at ten times that on a loaded machine, the figures printed.
        Assert.True(p95 < 10_000, $"p95 {p95:0} ms: [{string.Join(", ", latencies.Select(l => l.ToString("0")))}]");
    }

    [Fact]
    public async Task ADegradedStore_StandsOutWithItsReason_AndItsPlanChangesFromItsPage_AfterShowingTheNewLimits()
    {
        var name = await fixture.CreateStoreAsync(fixture.AliceToken, $"day2-{Guid.NewGuid():N}"[..12]);
        var ns = $"store-{name}";
        await Eventually.WaitUntilAsync(async () => (await fixture.Repository.GetAsync(name))?.Phase == StorePhase.Ready, TimeSpan.FromSeconds(60), "the store to be ready");
        var page = await fixture.SignedInPageAsync(fixture.AliceToken);

        fixture.Api.Simulation.AddPodFault(Storefleet.Testing.KubeApi.Simulation.PodFault.CrashLoopBackOff, ns, "wordpress:6");
        try
        {
            await page.WaitForSelectorAsync($"tr[data-store='{name}'] [data-phase='degraded']", new PageWaitForSelectorOptions { Timeout = 60000 });
            var reason = await page.InnerTextAsync($"tr[data-store='{name}'] [data-testid='degraded-reason']");
            Assert.Contains("CrashLoopBackOff", reason);
            Assert.Contains("container wordpress", reason);

            await page.SelectOptionAsync("#phase-filter", "degraded");
            // The filtered list replaces the rows over the circuit: wait for the ready rows to go, with our store still shown.
            await Assertions.Expect(page.Locator("tr[data-store] [data-phase='ready']")).ToHaveCountAsync(0, new() { Timeout = 30000 });
            await Assertions.Expect(page.Locator($"tr[data-store='{name}'] [data-phase='degraded']")).ToBeVisibleAsync();
        }
        finally
        {
            fixture.Api.Simulation.RemovePodFaults(ns);
        }

        await page.GotoAsync($"/stores/{name}");
        await BrowserFixture.WaitForCircuitAsync(page);
        await page.WaitForSelectorAsync("[data-phase='ready']", new PageWaitForSelectorOptions { Timeout = 60000 });
        await EnableVolumeExpansionAsync();

        await page.SelectOptionAsync("#new-plan", "medium");
        var limits = await page.InnerTextAsync("[data-testid='plan-limits']");
        Assert.Contains("15Gi", limits);
        Assert.Contains("3Gi / 6Gi", limits);
        Assert.NotNull(await page.Locator("#change-plan").GetAttributeAsync("disabled")); // enabled only once confirmed
        await page.CheckAsync("#confirm-plan");
        await page.ClickAsync("#change-plan");

        await Eventually.WaitUntilAsync(async () => await fixture.Repository.GetAsync(name) is { Phase: StorePhase.Ready, AppliedPlan.Id: "medium" },
            TimeSpan.FromSeconds(60), "the store to be ready on plan medium");
        await page.WaitForSelectorAsync("text=Plan changed to medium", new PageWaitForSelectorOptions { Timeout = 30000 });
        Assert.Contains("medium", await page.InnerTextAsync("section.facts"));
    }

    private async Task EnableVolumeExpansionAsync()
    {
        var kube = new k8s.Kubernetes(k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(fixture.Api.KubeconfigPath));
        await kube.StorageV1.PatchStorageClassAsync(new k8s.Models.V1Patch("""{"allowVolumeExpansion":true}""", k8s.Models.V1Patch.PatchType.MergePatch),
            Storefleet.Testing.KubeApi.KubeApiState.DefaultStorageClass);
    }

    [Fact]
    public async Task WithAThousandStores_TheFirstPageRendersFiftyOfThem_Promptly()
    {
        var owner = $"bulk{Guid.NewGuid():N}"[..12];
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 1000; i++)
        {
            // Seeded as failed: records the engine leaves alone, so the other tests' stores are not queued behind a thousand.
            var store = Store.Request($"bulk{i:0000}-{owner}"[..Math.Min(40, 9 + owner.Length)], new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), owner, now.AddSeconds(-i))
                .Take(StoreTrigger.Fail, now, new StoreCondition(ConditionTypes.Failed, true, "Seeded", "seeded for a rendering test", now));
            await fixture.Repository.CreateAsync(store, new StoreEvent(now, StoreEventType.Created, StorePhase.Failed, "seeded"));
        }

        using var http = fixture.Client(fixture.AdminToken);
        (await http.GetAsync("/")).EnsureSuccessStatusCode(); // warm
        var timings = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            var html = await http.GetStringAsync("/");
            timings.Add(stopwatch.Elapsed.TotalMilliseconds);
            Assert.Equal(50, System.Text.RegularExpressions.Regex.Count(html, "data-store="));
        }

        Console.WriteLine($"first page with 1000+ stores: {string.Join(", ", timings.Select(t => t.ToString("0")))} ms");
        // Expected in tens of milliseconds (an index read and one page of records); bounded generously.
        Assert.True(timings.Order().ElementAt(2) < 10_000, $"median render {timings.Order().ElementAt(2):0} ms");
    }

    [Fact]
    public async Task Screenshots_OfTheStoresAndStorePages_ComeFromARealRun()
    {
        var names = new List<string>();
        foreach (var shop in new[] { "coffee-roasters", "vinyl-corner", "trail-gear" })
        {
            names.Add(await fixture.CreateStoreAsync(fixture.AliceToken, $"{shop}-{Guid.NewGuid():N}"[..(shop.Length + 3)]));
        }

        var page = await fixture.SignedInPageAsync(fixture.AliceToken);
        foreach (var name in names)
        {
            await page.WaitForSelectorAsync($"tr[data-store='{name}'] [data-phase='ready']", new PageWaitForSelectorOptions { Timeout = 60000 });
        }

        var directory = Environment.GetEnvironmentVariable("STOREFLEET_SCREENSHOTS") is { Length: > 0 } target ? target : Directory.CreateTempSubdirectory("screens-").FullName;
        Directory.CreateDirectory(directory);
        var dashboard = Path.Combine(directory, "dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = dashboard, FullPage = true });
        var first = await page.Locator("tr[data-store] a").First.GetAttributeAsync("href");
        await page.GotoAsync(first!);
        await BrowserFixture.WaitForCircuitAsync(page);
        await page.Locator("table.timeline tbody tr").First.WaitForAsync();
        await page.Locator("[data-phase='ready']").First.WaitForAsync();
        var store = Path.Combine(directory, "store.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = store, FullPage = true });
        var phone = await fixture.SignedInPageAsync(fixture.AliceToken, 390, 844);
        var mobile = Path.Combine(directory, "dashboard-phone.png");
        await phone.ScreenshotAsync(new PageScreenshotOptions { Path = mobile, FullPage = true });

        Assert.All(new[] { dashboard, store, mobile }, f => Assert.True(new FileInfo(f).Length > 10_000, f));
    }

    [Fact]
    public async Task TheFleetOverview_ForAnAdmin_ShowsTheFleetLive_WithChartsTheirValuesAndLinks()
    {
        var first = await fixture.CreateStoreAsync(fixture.AliceToken, $"ov-{Guid.NewGuid():N}"[..10]);
        await Eventually.WaitUntilAsync(async () => (await fixture.Repository.GetAsync(first))?.Phase == StorePhase.Ready, TimeSpan.FromSeconds(60), "the store to be ready");
        var page = await fixture.SignedInPageAsync(fixture.AdminToken);

        await page.ClickAsync("nav a[href='/overview']");
        await page.WaitForURLAsync("**/overview");
        await Assertions.Expect(page.Locator("[data-testid=slowest-steps] tr[data-step='helm-upgrade']")).ToBeVisibleAsync(new() { Timeout = 15000 });
        await Assertions.Expect(page.Locator("[data-testid=ready-times] tr[data-window='24h'] td").First).Not.ToHaveTextAsync("0");
        // The chart is drawn (SVG with a bar per step) next to its values as a table.
        await Assertions.Expect(page.Locator("figure.chart .rz-tick-text", new() { HasTextString = "helm-upgrade" })).ToBeVisibleAsync();
        var widest = await page.EvaluateAsync<double>("() => Math.max(0, ...[...document.querySelectorAll('figure.chart .rz-bar-series path')].map(p => p.getBoundingClientRect().width))");
        Assert.True(widest > 50, $"the widest bar is {widest} px");
        var ready = int.Parse(await page.InnerTextAsync("[data-phase-count='ready'] .count"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(ready >= 1, $"{ready} ready stores shown");

        // Live: a store that becomes Ready raises the count without a reload.
        var second = await fixture.CreateStoreAsync(fixture.AliceToken, $"ov-{Guid.NewGuid():N}"[..10]);
        await Eventually.WaitUntilAsync(async () => (await fixture.Repository.GetAsync(second))?.Phase == StorePhase.Ready, TimeSpan.FromSeconds(60), "the second store to be ready");
        await Eventually.WaitUntilAsync(
            async () => int.Parse(await page.InnerTextAsync("[data-phase-count='ready'] .count"), System.Globalization.CultureInfo.InvariantCulture) > ready,
            TimeSpan.FromSeconds(30), "the overview to count the new ready store");

        if (Environment.GetEnvironmentVariable("STOREFLEET_SCREENSHOTS") is { Length: > 0 } directory)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "overview.png"), FullPage = true });
        }

        // A phase card opens the stores list filtered by that phase.
        await page.ClickAsync("[data-phase-count='ready'] a");
        await page.WaitForURLAsync("**/?phase=ready");
        await BrowserFixture.WaitForCircuitAsync(page);
        await Assertions.Expect(page.Locator("#phase-filter")).ToHaveValueAsync("ready");
        await Assertions.Expect(page.Locator("tr[data-store] [data-phase]:not([data-phase='ready'])")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task EveryControl_IsLabelled_ReachableByKeyboard_AndThePageFitsAPhone()
    {
        var name = await fixture.CreateStoreAsync(fixture.AliceToken, $"a11y-{Guid.NewGuid():N}"[..12]);
        var page = await fixture.SignedInPageAsync(fixture.AliceToken);
        const string Unlabelled = """
            () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(e => !e.getAttribute('aria-label') && !(e.id && document.querySelector(`label[for="${e.id}"]`)))
              .map(e => e.outerHTML)
            """;

        // Keyboard: focus the create button and open the dialog with Enter; the name field is labelled.
        await page.FocusAsync("#create-store");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForSelectorAsync("#create-name");
        Assert.Empty(await page.EvaluateAsync<string[]>(Unlabelled));

        await page.GotoAsync($"/stores/{name}");
        await BrowserFixture.WaitForCircuitAsync(page);
        Assert.Empty(await page.EvaluateAsync<string[]>(Unlabelled));

        var phone = await fixture.SignedInPageAsync(fixture.AliceToken, 390, 844);
        await phone.WaitForSelectorAsync($"tr[data-store='{name}']");
        Assert.True(await phone.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "the stores page scrolls sideways on a phone");
    }

    private static void AssertInOrder(IReadOnlyList<string> seen, params string[] expected)
    {
        var position = 0;
        foreach (var phase in seen)
        {
            if (position < expected.Length && phase == expected[position])
            {
                position++;
            }
        }

        Assert.True(position == expected.Length, $"expected {string.Join(" → ", expected)} in order, saw {string.Join(" → ", seen)}");
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Storefleet.Core.Pool;
using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// The warm pool on the test double with the real helm and Redis: members provisioned ahead per plan, claimed by creates
/// (atomically, across replicas) and personalised — own host, credentials and labels — with a cold provision whenever no
/// member is idle or personalising fails; the pool refilled after claims and recycled when the chart changes.
/// </summary>
public sealed class WarmPoolTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    private static Dictionary<string, string?> Pool(int small, int maxProvisioning = 3) => new()
    {
        ["Storefleet:Engine:WarmPool:small"] = small.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Storefleet:Engine:WarmPoolKeeping:Interval"] = "00:00:01",
        ["Storefleet:Engine:WarmPoolKeeping:MaxProvisioning"] = maxProvisioning.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task APoolOfThree_GivesThreeCreatesTheirOwnHostOwnerCredentialsAndLabels_AndRefills()
    {
        await using var plane = fixture.StartControlPlane(Pool(3));
        var members = await WaitForIdleAsync(plane, 3);
        var memberPasswords = members.ToDictionary(m => m, m => AdminPassword($"store-{m}", m));
        Assert.All(members, m => Assert.Equal("true", NamespaceLabels($"store-{m}")["storefleet.io/warm-pool-member"]?.GetValue<string>()));
        var names = Enumerable.Range(0, 3).Select(i => EngineFixture.NewStoreName($"warm{i}")).ToList();

        foreach (var name in names)
        {
            await plane.CreateStoreAsync(name);
        }

        var claimed = new HashSet<string>();
        foreach (var name in names)
        {
            var store = await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
            var member = store.Claim?.Member;
            Assert.True(member is not null && members.Contains(member), $"store {name} was not claimed from the pool: {await plane.DescribeAsync(name)}");
            Assert.True(claimed.Add(member!), $"member {member} claimed twice");
            Assert.Equal(PoolClaimStage.Done, store.Claim!.Stage);
            var ns = $"store-{member}";

            // Its own host (the Ingress the member never had), its own labels, its own credentials.
            Assert.Equal($"http://{name}.localtest.me/", store.Urls!.Storefront);
            var ingress = Object(ns, "Ingress", member!);
            Assert.Equal($"{name}.localtest.me", ingress["spec"]!["rules"]![0]!["host"]!.GetValue<string>());
            Assert.Equal(name, NamespaceLabels(ns)["storefleet.io/store"]!.GetValue<string>());
            Assert.Null(NamespaceLabels(ns)["storefleet.io/warm-pool-member"]);
            var secret = Object(ns, "Secret", $"{member}-credentials");
            Assert.Equal(name, secret["metadata"]!["labels"]!["storefleet.io/store"]!.GetValue<string>());
            Assert.NotEqual(memberPasswords[member!], AdminPassword(ns, member!));
            Assert.NotEqual(WarmPool.Owner, store.Owner);

            // The bootstrap personalised it: a new Job in personalise mode, the store's URL and title.
            var bootstrap = Jobs(ns, "-bootstrap-").Select(j => j["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray())
                .Single(env => env.Any(e => e!["name"]!.GetValue<string>() == "PERSONALISE_FROM"));
            Assert.Contains(bootstrap, e => e!["name"]!.GetValue<string>() == "PERSONALISE_FROM" && e!["value"]!.GetValue<string>() == member);
            Assert.Contains(bootstrap, e => e!["name"]!.GetValue<string>() == "SITE_URL" && e!["value"]!.GetValue<string>() == $"http://{name}.localtest.me");
            Assert.Contains(bootstrap, e => e!["name"]!.GetValue<string>() == "SITE_TITLE" && e!["value"]!.GetValue<string>() == name);

            // The timeline says where it came from, and how long personalising took.
            var events = (await plane.EventsAsync(name)).Select(e => e!.Text("message")).ToList();
            Assert.Contains(events, m => m.StartsWith($"Claimed from the warm pool: member {member}", StringComparison.Ordinal));
            Assert.Contains(events, m => m.StartsWith("Store is ready", StringComparison.Ordinal) && m.Contains($"Claimed from the warm pool (member {member}) and personalised in", StringComparison.Ordinal));
            // The member's own record is gone; its timeline keeps a tombstone naming the store.
            Assert.Null(await plane.Repository.GetAsync(member!));
        }

        // The pool refills to three, with new members.
        var refilled = await WaitForIdleAsync(plane, 3);
        Assert.Empty(refilled.Intersect(members));

        // The create→Ready histogram tells warm from cold.
        var metrics = await plane.CreateClient().GetStringAsync("/metrics");
        var warm = metrics.Split('\n').Where(l => l.StartsWith("storefleet_store_ready_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("source=\"warm\"", StringComparison.Ordinal)).ToList();
        Assert.True(warm.Count == 1 && double.Parse(warm[0].Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture) >= 3, string.Join('\n', metrics.Split('\n').Where(l => l.Contains("ready_duration", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task TenConcurrentCreatesAgainstAPoolOfThree_AcrossTwoReplicas_ClaimEachMemberOnce_AndTheRestGoCold()
    {
        var prefix = EngineFixture.NewPrefix();
        var settings = Pool(3);
        settings["Storefleet:Engine:MaxConcurrentHelm"] = "4";
        await using var a = fixture.StartControlPlane(settings, prefix);
        await using var b = fixture.StartControlPlane(settings, prefix);
        var members = await WaitForIdleAsync(a, 3);
        var names = Enumerable.Range(0, 10).Select(i => EngineFixture.NewStoreName($"rush{i}")).ToList();

        await Task.WhenAll(names.Select((name, i) => (i % 2 == 0 ? a : b).CreateStoreAsync(name)));

        var stores = new List<Store>();
        foreach (var name in names)
        {
            stores.Add(await a.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromMinutes(4)));
        }

        var warm = stores.Where(s => s.Claim is not null).ToList();
        Assert.Equal(3, warm.Count);
        Assert.Equal(members.Order(), warm.Select(s => s.Claim!.Member).Order());
        Assert.All(stores.Where(s => s.Claim is null), s => Assert.Null(s.Placement));
        foreach (var store in stores)
        {
            // Each store in its own namespace: the member's for a claimed one, its own for a cold one.
            var ns = $"store-{store.ClusterName}";
            Assert.Equal(store.Name, NamespaceLabels(ns)["storefleet.io/store"]!.GetValue<string>());
            Assert.Equal(store.Uid, NamespaceLabels(ns)["storefleet.io/store-uid"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task APersonalisationThatFails_DiscardsTheMember_AndTheStoreIsReadyFromAColdProvision()
    {
        await using var plane = fixture.StartControlPlane(Pool(1, maxProvisioning: 1));
        var member = (await WaitForIdleAsync(plane, 1)).Single();
        fixture.Api.Simulation.FailJobs($"store-{member}", "-bootstrap-", "Error: wp search-replace failed");
        var name = EngineFixture.NewStoreName("pfail");

        await plane.CreateStoreAsync(name);
        var store = await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);

        Assert.Null(store.Claim);
        Assert.Null(store.Placement);
        Assert.Equal($"http://{name}.localtest.me/", store.Urls!.Storefront);
        var events = (await plane.EventsAsync(name)).Select(e => e!.Text("message")).ToList();
        Assert.Contains(events, m => m.StartsWith($"Claimed from the warm pool: member {member}", StringComparison.Ordinal));
        Assert.Contains(events, m => m.StartsWith($"Personalising warm-pool member {member} failed (BootstrapFailed)", StringComparison.Ordinal)
            && m.Contains("The member is discarded (never reused) and the store is provisioned from scratch.", StringComparison.Ordinal));
        Assert.Contains(events, m => m.StartsWith($"Warm-pool member {member} discarded", StringComparison.Ordinal));
        // The member is gone for good (its namespace deleted), never back in the pool; the store lives in its own namespace.
        await Eventually.WaitUntilAsync(() => Task.FromResult(Namespace($"store-{member}") is null),
            Generous, "the discarded member's namespace to be gone");
        Assert.Equal(name, NamespaceLabels($"store-{name}")["storefleet.io/store"]!.GetValue<string>());
        var pool = await PoolAsync(plane);
        Assert.DoesNotContain(pool["plans"]!.AsArray().SelectMany(p => p!["members"]!.AsArray()), m => m!.Text("name") == member);
    }

    [Fact]
    public async Task AChartVersionChange_RecyclesTheMembers_WhileCreatesKeepWorking()
    {
        var prefix = EngineFixture.NewPrefix();
        List<string> old;
        await using (var before = fixture.StartControlPlane(Pool(2), prefix))
        {
            old = await WaitForIdleAsync(before, 2);
        }

        using var newer = ChartCopy.Create("0.1.1");
        var settings = Pool(2);
        settings["Storefleet:Engine:ChartsDirectory"] = newer.Directory;
        await using var after = fixture.StartControlPlane(settings, prefix);
        var name = EngineFixture.NewStoreName("recy");
        await after.CreateStoreAsync(name);

        var store = await after.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        Assert.Equal("0.1.1", store.Pin!.ChartVersion);
        // An outdated member is never claimed (its WordPress and WooCommerce files would stay the old versions).
        Assert.DoesNotContain(store.Claim?.Member ?? "cold", old);
        // Every old member recycled (or claimed), the pool full again on the new chart.
        var members = await Eventually.WaitForAsync(async () =>
        {
            var plan = (await PoolAsync(after))["plans"]!.AsArray().Single(p => p!.Text("plan") == "small")!;
            var all = plan["members"]!.AsArray().Select(m => m!).ToList();
            return all.Count == 2 && all.All(m => m.Text("state") == "idle" && m.Text("chartVersion") == "0.1.1") ? all.Select(m => m.Text("name")).ToList() : null;
        }, TimeSpan.FromMinutes(4), "the pool recycled onto chart 0.1.1");
        Assert.Empty(members.Intersect(old));
        foreach (var member in old)
        {
            var tombstone = (await after.Repository.GetEventsAsync(member)).Select(e => e.Message).ToList();
            Assert.Contains(tombstone, m => m.Contains("it is recycled (deleted, then replaced)", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task APoolSizeChange_TakesEffectByItself_ShrinkingThenGrowingThePool()
    {
        await using var plane = fixture.StartControlPlane(Pool(2));
        var members = await WaitForIdleAsync(plane, 2);
        var configuration = (Microsoft.Extensions.Configuration.IConfigurationRoot)Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>(plane.Services);

        // A reloaded setting, no restart: one member too many goes (the newest), then the pool grows back to two.
        configuration["Storefleet:Engine:WarmPool:small"] = "1";
        configuration.Reload();
        var kept = (await Eventually.WaitForAsync(async () =>
        {
            var all = (await PoolAsync(plane))["plans"]!.AsArray().Single(p => p!.Text("plan") == "small")!["members"]!.AsArray();
            return all.Count == 1 && all[0]!.Text("state") == "idle" ? all : null;
        }, Generous, "the pool shrunk to one"))[0]!.Text("name");
        Assert.Equal(members[0], kept);
        var gone = members.Single(m => m != kept);
        Assert.Contains((await plane.Repository.GetEventsAsync(gone)).Select(e => e.Message), m => m.Contains("is set to 1", StringComparison.Ordinal));

        configuration["Storefleet:Engine:WarmPool:small"] = "2";
        configuration.Reload();
        var grown = await WaitForIdleAsync(plane, 2);
        Assert.Contains(kept, grown);
    }

    [Fact]
    public async Task KilledMidClaim_TheStoreIsReadyOnce_OnItsMember_WhichNeverReturnsToThePool()
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Redis"] = fixture.Redis.ConnectionString,
            ["Storefleet:State:KeyPrefix"] = EngineFixture.NewPrefix(),
            ["Storefleet:Engine:Kubeconfig"] = fixture.Api.KubeconfigPath,
            ["Storefleet:Engine:HelmPath"] = RepositoryPaths.Helm,
            ["Storefleet:Engine:ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Storefleet:Engine:LeaseTtl"] = "00:00:03",
            ["Storefleet:Engine:RetryBaseDelay"] = "00:00:00.100",
            ["Storefleet:Engine:RetryMaxDelay"] = "00:00:01",
            ["Storefleet:Engine:HelmTimeout"] = "00:02:00",
            ["Storefleet:Engine:PendingReleaseGrace"] = "00:00:02",
            ["Storefleet:Access:RateLimits:AnonymousRequestsPerMinute"] = "1000000",
        };
        foreach (var (key, value) in Pool(1, maxProvisioning: 1))
        {
            settings[key] = value!;
        }

        var name = EngineFixture.NewStoreName("pkill");
        var plane = await ControlPlaneProcess.StartAsync(settings);
        try
        {
            string member;
            using (var http = new HttpClient { BaseAddress = plane.BaseAddress })
            {
                member = await Eventually.WaitForAsync(async () => IdleMembers(JsonNode.Parse(await http.GetStringAsync("/api/v1/pool"))!).SingleOrDefault(), TimeSpan.FromMinutes(3), "an idle member");
                fixture.Api.Simulation.HoldJobs($"store-{member}", "-bootstrap-");
                Assert.True((await http.PostAsync("/api/v1/stores", JsonContent(new JsonObject { ["name"] = name, ["plan"] = "small" }))).IsSuccessStatusCode);
            }

            // Killed (SIGKILL) while the member is half-personalised: adopted, its release upgraded, the bootstrap running.
            await Eventually.WaitUntilAsync(() => Task.FromResult(Jobs($"store-{member}", "-bootstrap-").Any(j => j["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
                .Any(e => e!["name"]!.GetValue<string>() == "PERSONALISE_FROM"))), Generous, "the personalising bootstrap Job");
            await plane.KillAsync();
            await plane.DisposeAsync();
            fixture.Api.Simulation.ReleaseJobs($"store-{member}");
            plane = await ControlPlaneProcess.StartAsync(settings);

            using var after = new HttpClient { BaseAddress = plane.BaseAddress };
            var store = await Eventually.WaitForAsync(async () =>
            {
                var view = JsonNode.Parse(await after.GetStringAsync($"/api/v1/stores/{name}"))!;
                return view.Text("phase") == "ready" ? view : null;
            }, Generous, $"store {name} to be ready");
            Assert.Equal(member, store["claimedFromPool"]!.Text("member"));
            Assert.Equal($"store-{member}", store.Text("namespace"));
            var events = JsonNode.Parse(await after.GetStringAsync($"/api/v1/stores/{name}/events"))!["items"]!.AsArray().Select(e => e!.Text("message")).ToList();
            Assert.Single(events, m => m.StartsWith("Store is ready", StringComparison.Ordinal));
            Assert.Single(events, m => m.StartsWith("Claimed from the warm pool", StringComparison.Ordinal));
            // The member never comes back: the pool refills with a new one.
            var refilled = await Eventually.WaitForAsync(async () => IdleMembers(JsonNode.Parse(await after.GetStringAsync("/api/v1/pool"))!).SingleOrDefault(), TimeSpan.FromMinutes(3), "the pool refilled");
            Assert.NotEqual(member, refilled);
        }
        finally
        {
            await plane.DisposeAsync();
        }
    }

    private static StringContent JsonContent(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static IEnumerable<string> IdleMembers(JsonNode pool) =>
        pool["plans"]!.AsArray().Single(p => p!.Text("plan") == "small")!["members"]!.AsArray().Where(m => m!.Text("state") == "idle").Select(m => m!.Text("name"));

    private static async Task<JsonObject> PoolAsync(ControlPlane plane)
    {
        var response = await plane.CreateClient().GetAsync("/api/v1/pool");
        Assert.True(response.IsSuccessStatusCode, $"GET /api/v1/pool: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static Task<List<string>> WaitForIdleAsync(ControlPlane plane, int count) =>
        Eventually.WaitForAsync(async () =>
        {
            var small = (await PoolAsync(plane))["plans"]!.AsArray().Single(p => p!.Text("plan") == "small")!;
            var idle = small["members"]!.AsArray().Where(m => m!.Text("state") == "idle").Select(m => m!.Text("name")).ToList();
            return idle.Count == count ? idle : null;
        }, TimeSpan.FromMinutes(3), $"{count} idle warm-pool members");

    private JsonObject Object(string ns, string kind, string name) =>
        fixture.Api.Store.InNamespace(ns).Single(o => o.Object["kind"]!.GetValue<string>() == kind && o.Object["metadata"]!["name"]!.GetValue<string>() == name).Object;

    private JsonObject? Namespace(string ns) => fixture.Api.Store.Get(fixture.Api.State.Catalog.Find(string.Empty, "v1", "namespaces")!, null, ns);

    private JsonNode NamespaceLabels(string ns) => Namespace(ns)!["metadata"]!["labels"]!;

    private List<JsonObject> Jobs(string ns, string search) =>
        [.. fixture.Api.Store.InNamespace(ns).Where(o => o.Object["kind"]!.GetValue<string>() == "Job" && o.Object["metadata"]!["name"]!.GetValue<string>().Contains(search, StringComparison.Ordinal)).Select(o => o.Object)];

    private string AdminPassword(string ns, string member) =>
        Encoding.UTF8.GetString(Convert.FromBase64String(Object(ns, "Secret", $"{member}-credentials")["data"]!["wordpress-admin-password"]!.GetValue<string>()));
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// Versions are visible: every store records the chart, values digest and application versions it is installed with,
/// and <c>GET /api/v1/fleet</c> summarises the fleet against what the answering control plane ships — without
/// upgrading an outdated Ready store behind anyone's back.
/// </summary>
public sealed class FleetVersionTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task StoresRecordTheirVersions_TheFleetSaysWhichAreOutdated_AndNoReadyStoreIsUpgradedUnasked()
    {
        // The older control plane ships chart 0.0.9 with WordPress 6.8.2; this repository's chart is 0.1.0 with 6.8.3.
        using var olderCharts = ChartCopy.Create("0.0.9", values => ChartCopy.Replace(values, "tag: \"6.8.3-php8.3-apache\"", "tag: \"6.8.2-php8.3-apache\""));
        var olderSettings = new Dictionary<string, string?> { ["Storefleet:Engine:ChartsDirectory"] = olderCharts.Directory };
        var prefix = EngineFixture.NewPrefix();
        var outdated = new[] { EngineFixture.NewStoreName("old"), EngineFixture.NewStoreName("old") }.Order(StringComparer.Ordinal).ToArray();
        await using (var older = fixture.StartControlPlane(olderSettings, prefix))
        {
            foreach (var name in outdated)
            {
                await older.CreateStoreAsync(name);
            }

            foreach (var name in outdated)
            {
                await older.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
            }
        }

        var revisionsBefore = outdated.ToDictionary(n => n, n => ReleaseRevisions($"store-{n}"));

        // The newer one resyncs live stores every second, so it looks at the outdated ones many times below.
        await using var newer = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:SteadyResyncInterval"] = "00:00:01" }, prefix);
        var current = EngineFixture.NewStoreName("new");
        await newer.CreateStoreAsync(current);
        await newer.WaitForPhaseAsync(current, StorePhase.Ready, Generous);

        // Each store shows what it runs.
        var old = (await newer.GetStoreAsync(outdated[0]))!["versions"]!;
        Assert.Equal("0.0.9", old.Text("chartVersion"));
        Assert.Equal("6.8.2-php8.3-apache", old.Text("wordPress"));
        Assert.Equal("10.2.2", old.Text("wooCommerce"));
        Assert.Equal("8.4.6", old.Text("mySql"));
        Assert.Equal(ReleaseDigest($"store-{outdated[0]}"), old.Text("valuesDigest"));
        var fresh = (await newer.GetStoreAsync(current))!["versions"]!;
        Assert.Equal("0.1.0", fresh.Text("chartVersion"));
        Assert.Equal("6.8.3-php8.3-apache", fresh.Text("wordPress"));

        // The fleet, as the newer control plane sees it.
        var fleet = await FleetAsync(newer);
        Console.WriteLine(fleet.Pretty());
        var shipped = Assert.Single(fleet["shipped"]!.AsArray())!;
        Assert.Equal(("woocommerce", "0.1.0", "6.8.3-php8.3-apache", "10.2.2", "8.4.6"),
            (shipped.Text("engine"), shipped.Text("chartVersion"), shipped["apps"]!.Text("wordPress"), shipped["apps"]!.Text("wooCommerce"), shipped["apps"]!.Text("mySql")));
        Assert.Equal(3, fleet["stores"]!.GetValue<int>());
        Assert.Equal(0, fleet["unpinned"]!.GetValue<int>());
        var versions = fleet["versions"]!.AsArray().Select(v => (v!.Text("chartVersion"), v!["apps"]!.Text("wordPress"), v!["stores"]!.GetValue<int>(), v!["current"]!.GetValue<bool>())).ToList();
        Assert.Equal([("0.1.0", "6.8.3-php8.3-apache", 1, true), ("0.0.9", "6.8.2-php8.3-apache", 2, false)], versions);
        Assert.Equal(2, fleet["outdated"]!["count"]!.GetValue<int>());
        Assert.Equal(outdated, fleet["outdated"]!["names"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(0, fleet["ahead"]!["count"]!.GetValue<int>());

        // Outdated Ready stores were looked at by the newer engine, and left as they were: no new revision, same pin.
        var mark = DateTimeOffset.UtcNow;
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(outdated.All(n => newer.Activity.Steps.Count(s => s.Store == n && s.Time > mark) >= 3)), Generous, "the newer engine to look at the outdated stores three more times");
        foreach (var name in outdated)
        {
            Assert.Equal(revisionsBefore[name], ReleaseRevisions($"store-{name}"));
            var store = await newer.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
            Assert.Equal("0.0.9", store.Pin!.ChartVersion);
        }

        // A record from before versions were recorded (a pin without them) gets them on the engine's next look.
        await Eventually.WaitUntilAsync(async () =>
        {
            var record = (await newer.Repository.GetAsync(current))!;
            return await newer.Repository.UpdateAsync(record with { Pin = record.Pin! with { Apps = null } }, []) is UpdateStoreResult.Updated;
        }, Generous, "the pin's application versions to be removed");
        await Eventually.WaitUntilAsync(async () => (await newer.Repository.GetAsync(current))!.Pin!.Apps is not null, Generous, "the engine to record them again");
        Assert.Equal("6.8.3-php8.3-apache", (await newer.GetStoreAsync(current))!["versions"]!.Text("wordPress"));

        // The same fleet, as a control plane that still ships the older chart sees it: the new store is ahead of it.
        await using var olderAgain = fixture.StartControlPlane(olderSettings, prefix);
        var fromOlder = await FleetAsync(olderAgain);
        Assert.Equal(0, fromOlder["outdated"]!["count"]!.GetValue<int>());
        Assert.Equal([current], fromOlder["ahead"]!["names"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal([false, true], fromOlder["versions"]!.AsArray().Select(v => v!["current"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task AnOutdatedStore_MovesOnlyWhenAskedPerStore_AndAFailedUpgradeReturnsItToWhatItRan()
    {
        using var olderCharts = ChartCopy.Create("0.0.9", values => ChartCopy.Replace(values, "tag: \"6.8.3-php8.3-apache\"", "tag: \"6.8.2-php8.3-apache\""));
        var prefix = EngineFixture.NewPrefix();
        var (good, bad) = (EngineFixture.NewStoreName("upg"), EngineFixture.NewStoreName("upgfail"));
        var served = new Dictionary<string, ReleasePin>();
        await using (var older = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ChartsDirectory"] = olderCharts.Directory }, prefix))
        {
            await older.CreateStoreAsync(good);
            await older.CreateStoreAsync(bad);
            served[good] = (await older.WaitForPhaseAsync(good, StorePhase.Ready, Generous)).Pin!;
            served[bad] = (await older.WaitForPhaseAsync(bad, StorePhase.Ready, Generous)).Pin!;
        }

        await using var newer = fixture.StartControlPlane(keyPrefix: prefix);
        var client = newer.CreateClient();
        var revisions = ReleaseRevisions($"store-{good}");

        // Asked for, one store moves to what this control plane ships: one new revision, the new versions recorded.
        var accepted = await client.PostAsync($"/api/v1/stores/{good}/upgrade", null);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var upgraded = await Eventually.WaitForAsync(async () =>
            await newer.Repository.GetAsync(good) is { Phase: StorePhase.Ready } s && s.ObservedGeneration == s.Generation && s.Pin!.Generation == s.Generation ? s : null,
            Generous, "the upgraded store to be ready");
        Assert.Equal(("0.1.0", "6.8.3-php8.3-apache"), (upgraded.Pin!.ChartVersion, upgraded.Pin.Apps!.WordPress));
        Assert.Equal(revisions + 1, ReleaseRevisions($"store-{good}"));
        Assert.Equal(upgraded.Pin.Digest, ReleaseDigest($"store-{good}"));
        Assert.Contains(await newer.Repository.GetEventsAsync(good), e => e.Message.Contains("Upgrade requested by", StringComparison.Ordinal)
            && e.Message.Contains("chart 0.0.9", StringComparison.Ordinal) && e.Message.Contains("chart 0.1.0", StringComparison.Ordinal));
        Assert.Equal([bad], (await FleetAsync(newer))["outdated"]!["names"]!.AsArray().Select(n => n!.GetValue<string>()));

        // Asking again changes nothing.
        var again = await client.PostAsync($"/api/v1/stores/{good}/upgrade", null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(revisions + 1, ReleaseRevisions($"store-{good}"));

        // An upgrade that fails is rolled back: the store runs the chart and versions it ran, pinned to them again.
        var ns = $"store-{bad}";
        var fault = fixture.Api.Faults.FailNext("PATCH", $"/namespaces/{ns}/resourcequotas/", 403, times: 1);
        try
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/api/v1/stores/{bad}/upgrade", null)).StatusCode);
            var degraded = await Eventually.WaitForAsync(async () =>
                await newer.Repository.GetAsync(bad) is { Phase: StorePhase.Degraded or StorePhase.Failed } s ? s : null, Generous, "the failed upgrade to be rolled back");
            Assert.True(degraded.Phase == StorePhase.Degraded, await newer.DescribeAsync(bad));
            Assert.Equal(served[bad] with { Generation = degraded.Generation }, degraded.Pin);
            Assert.Equal(served[bad].Digest, ReleaseDigest(ns));
            Assert.Contains("rolled back", degraded.Condition(ConditionTypes.UpdateFailed)!.Message, StringComparison.Ordinal);
        }
        finally
        {
            fixture.Api.Faults.Remove(fault);
        }
    }

    [Fact]
    public async Task AChartWhoseValuesChangedWithoutAVersionBump_MakesItsStoresOutdated_ByTheirVersions()
    {
        var prefix = EngineFixture.NewPrefix();
        var name = EngineFixture.NewStoreName("same");
        await using (var plane = fixture.StartControlPlane(keyPrefix: prefix))
        {
            await plane.CreateStoreAsync(name);
            await plane.WaitForPhaseAsync(name, StorePhase.Ready, Generous);
        }

        // The values digest covers the chart's version and the values files, not values.yaml: the versions tell.
        using var edited = ChartCopy.Create("0.1.0", values => ChartCopy.Replace(values, "tag: \"6.8.3-php8.3-apache\"", "tag: \"6.8.4-php8.3-apache\""));
        await using var patched = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ChartsDirectory"] = edited.Directory }, prefix);
        var fleet = await FleetAsync(patched);

        Assert.Equal("6.8.4-php8.3-apache", fleet["shipped"]![0]!["apps"]!.Text("wordPress"));
        Assert.Equal([name], fleet["outdated"]!["names"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal([false], fleet["versions"]!.AsArray().Select(v => v!["current"]!.GetValue<bool>()));

        // No upgrade could be told apart from the release the store runs: refused, saying to bump the chart's version.
        var refused = await patched.CreateClient().PostAsync($"/api/v1/stores/{name}/upgrade", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("chart-version-unchanged", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<JsonObject> FleetAsync(ControlPlane plane)
    {
        var response = await plane.CreateClient().GetAsync("/api/v1/fleet");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private int ReleaseRevisions(string ns) => fixture.Api.ReleaseRecordsIn(ns).Count;

    private string? ReleaseDigest(string ns) => fixture.Api.ReleaseRecordsIn(ns)[^1].Digest;
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Engine.Tests;

/// <summary>
/// Fleet rollouts on the test double with real helm and Redis: a fleet installed by a control plane shipping chart 0.0.9
/// (WordPress 6.8.2) is moved by a newer one (chart 0.1.0, WordPress 6.8.3) in a canary and batches — every store exactly
/// one revision further, failures rolled back and pausing the rollout, the in-flight limit kept.
/// </summary>
public sealed class RolloutTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task TwentyOutdatedStores_MoveInACanaryThenBatchesOfFive_OneRevisionEach_WhileStoresAreCreatedAndDeleted()
    {
        var prefix = EngineFixture.NewPrefix();
        var fleet = await CreateOutdatedFleetAsync(prefix, 20, "ra");
        var victim = (await CreateOutdatedFleetAsync(prefix, 1, "rz"))[0]; // sorts last: in the last batch
        var revisions = fleet.ToDictionary(n => n, n => ReleaseRevisions($"store-{n}"));

        await using var plane = fixture.StartControlPlane(keyPrefix: prefix);
        var client = plane.CreateClient();
        var created = await client.PostAsJsonAsync("/api/v1/rollouts", new { strategy = new { canary = 1, batchSize = 5, maxInFlight = 3 } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var rollout = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = rollout.Text("id");
        Assert.Equal(21, rollout["counts"]!["total"]!.GetValue<int>());
        Assert.Equal(5, rollout["batches"]!.GetValue<int>());
        Assert.Equal("0.1.0", rollout["target"]!.Text("chartVersion"));

        // Mid-rollout: a store created now is created at the new version; a store deleted before its turn is skipped.
        await WaitForRolloutAsync(client, id, r => r["currentBatch"]!.GetValue<int>() >= 2, "the rollout to reach its second batch");
        var fresh = EngineFixture.NewStoreName("rnew");
        await plane.CreateStoreAsync(fresh);
        await plane.DeleteStoreAsync(victim);

        var done = await WaitForRolloutAsync(client, id, r => r.Text("state") != "running", "the rollout to finish");
        Assert.True(done.Text("state") == "succeeded", done.Pretty());
        Assert.Equal((20, 0, 1), (Count(done, "succeeded"), Count(done, "failed"), Count(done, "skipped")));
        var skipped = done["stores"]!.AsArray().Single(s => s!.Text("state") == "skipped")!;
        Assert.Equal(victim, skipped.Text("name"));
        Assert.Contains("Deleted", skipped.Text("reason"), StringComparison.Ordinal);

        foreach (var name in fleet)
        {
            var store = (await plane.Repository.GetAsync(name))!;
            Assert.Equal(StorePhase.Ready, store.Phase);
            Assert.Equal(("0.1.0", "6.8.3-php8.3-apache"), (store.Pin!.ChartVersion, store.Pin.Apps!.WordPress));
            Assert.Equal(revisions[name] + 1, ReleaseRevisions($"store-{name}"));
            Assert.Contains(await plane.Repository.GetEventsAsync(name), e => e.Message.StartsWith($"Upgrade requested by rollout {id} ", StringComparison.Ordinal));
        }

        Assert.Equal("0.1.0", (await plane.WaitForPhaseAsync(fresh, StorePhase.Ready, Generous)).Pin!.ChartVersion);
        await plane.WaitForGoneAsync(victim, Generous);

        // The rollout's timeline tells the whole story; the stores' own timelines show at most 3 upgrades at once.
        var events = done["events"]!.AsArray().Select(e => e!.Text("message")).ToList();
        Assert.Contains(events, e => e.StartsWith("Rollout created by", StringComparison.Ordinal));
        Assert.Equal(4, events.Count(e => e.StartsWith("Batch ", StringComparison.Ordinal) && e.Contains(" started", StringComparison.Ordinal)));
        Assert.All(fleet, name => Assert.Contains(events, e => e.StartsWith($"{name} succeeded: Upgraded from chart 0.0.9 to 0.1.0", StringComparison.Ordinal)));
        Assert.Contains(events, e => e.StartsWith("Rollout succeeded: 20 succeeded, 0 failed, 1 skipped of 21", StringComparison.Ordinal));
        Assert.InRange(await MostUpgradesAtOnceAsync(plane, fleet, id), 1, 3);
        Assert.Empty((await FleetAsync(client))["outdated"]!["names"]!.AsArray());
    }

    /// <summary>N stores installed and Ready by a control plane shipping chart 0.0.9 with WordPress 6.8.2 (outdated for the repository's chart).</summary>
    private async Task<IReadOnlyList<string>> CreateOutdatedFleetAsync(string prefix, int count, string stem)
    {
        using var olderCharts = ChartCopy.Create("0.0.9", values => ChartCopy.Replace(values, "tag: \"6.8.3-php8.3-apache\"", "tag: \"6.8.2-php8.3-apache\""));
        await using var older = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:ChartsDirectory"] = olderCharts.Directory }, prefix);
        var names = Enumerable.Range(0, count).Select(_ => EngineFixture.NewStoreName(stem)).Order(StringComparer.Ordinal).ToList();
        foreach (var name in names)
        {
            await older.CreateStoreAsync(name);
        }

        foreach (var name in names)
        {
            Assert.Equal("0.0.9", (await older.WaitForPhaseAsync(name, StorePhase.Ready, Generous)).Pin!.ChartVersion);
        }

        return names;
    }

    internal static async Task<JsonObject> WaitForRolloutAsync(HttpClient client, string id, Func<JsonObject, bool> condition, string what) =>
        await Eventually.WaitForAsync(async () => await client.GetFromJsonAsync<JsonObject>($"/api/v1/rollouts/{id}") is { } r && condition(r) ? r : null, Generous, what);

    internal static int Count(JsonObject rollout, string state) => rollout["counts"]![state]!.GetValue<int>();

    /// <summary>The most store upgrades under way at one moment, from each store's own timeline (requested → upgraded or rolled back).</summary>
    private static async Task<int> MostUpgradesAtOnceAsync(ControlPlane plane, IEnumerable<string> names, string id)
    {
        var edges = new List<(DateTimeOffset Time, int Delta)>();
        foreach (var name in names)
        {
            var events = await plane.Repository.GetEventsAsync(name);
            var requested = events.Single(e => e.Message.StartsWith($"Upgrade requested by rollout {id} ", StringComparison.Ordinal)).Time;
            var ended = events.First(e => e.Time >= requested && e.Phase is StorePhase.Ready or StorePhase.Degraded && e.Type is StoreEventType.PhaseChanged or StoreEventType.StepFailed).Time;
            edges.Add((requested, 1));
            edges.Add((ended, -1));
        }

        var (most, current) = (0, 0);
        foreach (var (_, delta) in edges.OrderBy(e => e.Time).ThenBy(e => e.Delta))
        {
            current += delta;
            most = Math.Max(most, current);
        }

        return most;
    }

    private static async Task<JsonObject> FleetAsync(HttpClient client) => (await client.GetFromJsonAsync<JsonObject>("/api/v1/fleet"))!;

    private int ReleaseRevisions(string ns) => fixture.Api.ReleaseRecordsIn(ns).Count;
}

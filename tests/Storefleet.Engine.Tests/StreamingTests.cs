using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Core.Stores;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// The streaming reads against a real provisioning run (engine, helm, Redis, the double): a follower sees every event
/// of a store's life in order, exactly once, across a forced reconnect with Last-Event-ID; a watch sees a store added,
/// modified and deleted; another owner's store never appears.
/// </summary>
public sealed class StreamingTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AFollower_SeesEveryEventOfAProvisioningRun_InOrder_ExactlyOnce_AcrossAReconnect()
    {
        await using var plane = fixture.StartControlPlane();
        var name = EngineFixture.NewStoreName("follow");
        await plane.CreateStoreAsync(name);
        var client = plane.CreateClient();
        var received = new List<(long Id, string Type, string Message)>();

        // Follow until the third event, drop the connection, and follow again from the last id seen.
        await using (var first = await SseStream.OpenAsync(client, $"/api/v1/stores/{name}/events?follow=true"))
        {
            Assert.Equal("text/event-stream", first.Response.Content.Headers.ContentType?.MediaType);
            while (received.Count < 3)
            {
                received.Add(Parse(await first.NextAsync(Generous)));
            }
        }

        await using (var second = await SseStream.OpenAsync(client, $"/api/v1/stores/{name}/events?follow=true", lastEventId: received[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            while (!received.Any(e => e.Message.StartsWith("Store is ready", StringComparison.Ordinal)))
            {
                received.Add(Parse(await second.NextAsync(Generous)));
            }

            await plane.DeleteStoreAsync(name);
            while (received[^1].Type != "deleted")
            {
                received.Add(Parse(await second.NextAsync(Generous)));
            }

            Assert.True(await second.EndedAsync(Generous), "the stream goes on after the store's deletion");
        }

        var timeline = JsonNode.Parse(await client.GetStringAsync($"/api/v1/stores/{name}/events"))!["items"]!.AsArray();
        Assert.Equal(timeline.Select(e => e!["message"]!.GetValue<string>()), received.Select(e => e.Message));
        Assert.Equal(Enumerable.Range(1, received.Count).Select(i => (long)i), received.Select(e => e.Id));
        Assert.Equal("created", received[0].Type);
    }

    [Fact]
    public async Task AWatch_SeesAStoreAddedModifiedAndDeleted_AndNeverAnotherOwnersStore()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Access:BootstrapAdminToken"] = AdminToken });
        var alice = await TokenAsync(plane, "alice");
        var bob = await TokenAsync(plane, "bob");
        var mine = EngineFixture.NewStoreName("mine");
        var theirs = EngineFixture.NewStoreName("theirs");

        await using var watch = await SseStream.OpenAsync(Client(plane, alice), "/api/v1/stores?watch=true");
        var synced = await watch.NextAsync(Generous);
        Assert.Equal("synced", synced.EventType);
        (await Client(plane, bob).PostAsJsonAsync("/api/v1/stores", new { name = theirs })).EnsureSuccessStatusCode();
        (await Client(plane, alice).PostAsJsonAsync("/api/v1/stores", new { name = mine })).EnsureSuccessStatusCode();
        await plane.WaitForPhaseAsync(mine, StorePhase.Ready, Generous);
        await plane.WaitForPhaseAsync(theirs, StorePhase.Ready, Generous);
        (await Client(plane, alice).DeleteAsync($"/api/v1/stores/{mine}")).EnsureSuccessStatusCode();

        var seen = new List<(string Type, string Name, string? Phase)>();
        while (seen.Count == 0 || seen[^1].Type != "deleted")
        {
            var item = await watch.NextAsync(Generous);
            var data = JsonNode.Parse(item.Data)!;
            seen.Add((item.EventType, data["name"]!.GetValue<string>(), data["phase"]?.GetValue<string>()));
        }

        Assert.DoesNotContain(seen, e => e.Name == theirs);
        Assert.Equal(("added", mine), (seen[0].Type, seen[0].Name));
        Assert.Contains(seen, e => e.Type == "modified" && e.Phase == "ready");
        Assert.Equal(("deleted", mine), (seen[^1].Type, seen[^1].Name));
        Assert.All(seen.Skip(1).SkipLast(1), e => Assert.Equal("modified", e.Type));
    }

    [Fact]
    public async Task AWatchResumingFromAPositionTheFeedNoLongerHas_IsToldToListAgain_AndTooManyStreamsAre429()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?>
        {
            ["Storefleet:State:MaxChanges"] = "100",
            ["Storefleet:Streams:MaxStreamsPerClient"] = "2",
        });
        for (var i = 0; i < 110; i++)
        {
            await plane.Repository.CreateAsync(Store.Request($"feed{i:000}-{Guid.NewGuid():N}"[..16], new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "local", DateTimeOffset.UtcNow)
                .Take(StoreTrigger.Fail, DateTimeOffset.UtcNow, new StoreCondition(ConditionTypes.Failed, true, "Seeded", "seeded", DateTimeOffset.UtcNow)),
                new StoreEvent(DateTimeOffset.UtcNow, StoreEventType.Created, StorePhase.Failed, "seeded"));
        }

        var client = plane.CreateClient();
        await using var behind = await SseStream.OpenAsync(client, "/api/v1/stores?watch=true", lastEventId: "1");
        var relist = await behind.NextAsync(Generous);
        var ended = await behind.EndedAsync(Generous);

        // The ended stream no longer counts: two more may open (the limit), a third may not.
        await using var second = await SseStream.OpenAsync(client, "/api/v1/stores?watch=true");
        await using var third = await SseStream.OpenAsync(client, "/api/v1/stores?watch=true");
        await using var fourth = await SseStream.OpenAsync(client, "/api/v1/stores?watch=true");

        Assert.Equal("relist", relist.EventType);
        Assert.Contains("List the stores again", relist.Data);
        Assert.True(ended);
        Assert.Equal(HttpStatusCode.OK, second.Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.Response.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.Response.StatusCode);
        Assert.NotNull(fourth.Response.Headers.RetryAfter);
        var badId = await SseStream.OpenAsync(client, "/api/v1/stores?watch=true", lastEventId: "not-a-number");
        Assert.Equal(HttpStatusCode.BadRequest, badId.Response.StatusCode);
        await badId.DisposeAsync();
    }

    private const string AdminToken = "bootstrap-streaming-tests-0123456789abcdef0123456789abcdef";

    private static (long Id, string Type, string Message) Parse(System.Net.ServerSentEvents.SseItem<string> item)
    {
        Assert.Equal("store-event", item.EventType);
        var data = JsonNode.Parse(item.Data)!;
        return (long.Parse(item.EventId!, System.Globalization.CultureInfo.InvariantCulture), data["type"]!.GetValue<string>(), data["message"]!.GetValue<string>());
    }

    private static HttpClient Client(ControlPlane plane, string token)
    {
        var client = plane.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<string> TokenAsync(ControlPlane plane, string subject)
    {
        var response = await Client(plane, AdminToken).PostAsJsonAsync("/api/v1/tokens", new { subject, role = "member" });
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
    }
}

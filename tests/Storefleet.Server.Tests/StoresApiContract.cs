using System.Net;
using System.Text.Json;
using Storefleet.Core.Stores;

namespace Storefleet.Server.Tests;

/// <summary>The stores API end to end, once on a real redis-server and once on the embedded Garnet.</summary>
public abstract class StoresApiContract(ApiFixture fixture)
{
    private readonly HttpClient _client = fixture.Factory.CreateClient();

    private static string UniqueName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..Math.Min(40, stem.Length + 13)];

    [Fact]
    public async Task Create_NewStore_Returns201WithLocationAndIsRecordedAsRequested()
    {
        var name = UniqueName("shop");

        var response = await _client.PostAsync("/api/v1/stores", Json.Store(name, "medium"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/v1/stores/{name}", response.Headers.Location?.ToString());
        var body = await response.ReadAsync();
        Assert.Equal("requested", body.GetProperty("phase").GetString());
        Assert.Equal("medium", body.GetProperty("plan").GetString());
        Assert.Equal("local", body.GetProperty("owner").GetString());

        var fetched = await _client.GetAsync($"/api/v1/stores/{name}");
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal(name, (await fetched.ReadAsync()).GetProperty("name").GetString());

        var events = await (await _client.GetAsync($"/api/v1/stores/{name}/events")).ReadAsync();
        var first = Assert.Single(events.GetProperty("items").EnumerateArray());
        Assert.Equal("created", first.GetProperty("type").GetString());
    }

    [Fact]
    public async Task WarmPoolMembers_HaveReservedNames_KeepTheirPlan_AndCannotBeDeletedWhileClaimed()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsync("/api/v1/stores", Json.Store("pool-0123456789"))).StatusCode);
        var now = DateTimeOffset.UtcNow;
        var member = Store.Request(Storefleet.Core.Pool.WarmPool.NewMemberName(), new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), Storefleet.Core.Pool.WarmPool.Owner, now);
        Assert.IsType<CreateStoreResult.Created>(await fixture.Factory.Repository.CreateAsync(member, new StoreEvent(now, StoreEventType.Created, StorePhase.Requested, "member")));
        var created = (await fixture.Factory.Repository.GetAsync(member.Name))!;
        Assert.IsType<UpdateStoreResult.Updated>(await fixture.Factory.Repository.UpdateAsync(created with { Phase = StorePhase.Ready }, []));

        // An admin reads a member like any store, but its plan is the pool's business.
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/api/v1/stores/{member.Name}")).StatusCode);
        var replan = await _client.PatchAsync($"/api/v1/stores/{member.Name}", Json.Body("""{"plan":"medium"}""", "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.Conflict, replan.StatusCode);
        Assert.EndsWith("pool-member", (await replan.ReadAsync()).GetProperty("type").GetString());

        // Claimed by a store: deleting it would delete that store's new home.
        var pool = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Storefleet.Core.Pool.IWarmPoolState>(fixture.Factory.Services);
        await pool.RegisterAsync(member.Name, Storefleet.Core.Pool.WarmPool.Kind(member.Spec));
        Assert.Equal(member.Name, await pool.ClaimAsync(UniqueName("claimer"), Storefleet.Core.Pool.WarmPool.Kind(member.Spec)));
        var delete = await _client.DeleteAsync($"/api/v1/stores/{member.Name}");
        Assert.Equal(HttpStatusCode.Conflict, delete.StatusCode);
        Assert.EndsWith("pool-member-claimed", (await delete.ReadAsync()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Create_DefaultsEngineAndPlan()
    {
        var response = await _client.PostAsync("/api/v1/stores", Json.Body($$"""{"name":"{{UniqueName("dflt")}}"}"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.ReadAsync();
        Assert.Equal("woocommerce", body.GetProperty("engine").GetString());
        Assert.Equal("small", body.GetProperty("plan").GetString());
    }

    [Fact]
    public async Task Create_SameNameSameSpec_Returns200WithTheExistingStore()
    {
        var name = UniqueName("same");
        var first = await (await _client.PostAsync("/api/v1/stores", Json.Store(name))).ReadAsync();

        var again = await _client.PostAsync("/api/v1/stores", Json.Store(name));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first.GetProperty("createdAt").GetString(), (await again.ReadAsync()).GetProperty("createdAt").GetString());
    }

    [Fact]
    public async Task Create_SameNameOtherSpec_Returns409SayingWhatExists()
    {
        var name = UniqueName("diff");
        await _client.PostAsync("/api/v1/stores", Json.Store(name, "small"));

        var response = await _client.PostAsync("/api/v1/stores", Json.Store(name, "large"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("plan 'small'", (await response.ReadAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Create_FiftyParallelIdenticalRequests_OneCreatedFortyNineOk()
    {
        var name = UniqueName("race");

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _client.PostAsync("/api/v1/stores", Json.Store(name))));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(49, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Single(await fixture.Factory.Repository.GetEventsAsync(name));
        var owned = await fixture.Factory.Repository.ListAsync(new StoreQuery(StoreQuery.MaxLimit));
        Assert.Single(owned.Items, s => s.Name == name);
    }

    [Fact]
    public async Task Create_TwoSpecsRacing_OneWinsAndTheLoserIsConsistentlyRefused()
    {
        var name = UniqueName("duel");

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            var plan = i % 2 == 0 ? "small" : "large";
            return (Plan: plan, Response: await _client.PostAsync("/api/v1/stores", Json.Store(name, plan)));
        }));

        var winner = (await fixture.Factory.Repository.GetAsync(name))!.Spec.Plan.Id;
        Assert.Single(responses, r => r.Response.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.Plan == winner), r => Assert.True(r.Response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK));
        Assert.All(responses.Where(r => r.Plan != winner), r => Assert.Equal(HttpStatusCode.Conflict, r.Response.StatusCode));
    }

    [Fact]
    public async Task Create_FiftyDistinctNamesInParallel_AllCreatedAndListed()
    {
        var stem = UniqueName("many")[..12];
        var names = Enumerable.Range(0, 50).Select(i => $"{stem}-{i:D2}").ToArray();

        var responses = await Task.WhenAll(names.Select(n => _client.PostAsync("/api/v1/stores", Json.Store(n))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var listed = new List<string>();
        string? token = null;
        do
        {
            var page = await (await _client.GetAsync("/api/v1/stores?limit=17" + (token is null ? string.Empty : $"&continue={token}"))).ReadAsync();
            listed.AddRange(page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("name").GetString()!));
            token = page.GetProperty("continue").GetString();
        }
        while (token is not null);

        Assert.Equal(listed.Count, listed.Distinct().Count());
        Assert.Subset(listed.ToHashSet(), names.ToHashSet());
    }

    [Fact]
    public async Task List_SearchesByName_PagingWithinTheSearch()
    {
        var stem = UniqueName("find")[..12];
        var names = Enumerable.Range(0, 5).Select(i => $"{stem}-{i}").ToArray();
        foreach (var n in names)
        {
            await _client.PostAsync("/api/v1/stores", Json.Store(n));
        }

        await _client.PostAsync("/api/v1/stores", Json.Store(UniqueName("other")));
        var first = await (await _client.GetAsync($"/api/v1/stores?name={stem}&limit=3")).ReadAsync();
        var rest = await (await _client.GetAsync($"/api/v1/stores?name={stem}&limit=3&continue={first.GetProperty("continue").GetString()}")).ReadAsync();
        var bad = await _client.GetAsync("/api/v1/stores?name=Bad_Name");

        var found = first.GetProperty("items").EnumerateArray().Concat(rest.GetProperty("items").EnumerateArray()).Select(s => s.GetProperty("name").GetString()).Order();
        Assert.Equal(names.Order(), found);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task List_FiltersByPhaseAndOwner()
    {
        var name = UniqueName("filt");
        await _client.PostAsync("/api/v1/stores", Json.Store(name));

        var requested = await (await _client.GetAsync("/api/v1/stores?phase=requested&owner=local&limit=500")).ReadAsync();
        var ready = await (await _client.GetAsync("/api/v1/stores?phase=ready&limit=500")).ReadAsync();
        var nobody = await (await _client.GetAsync("/api/v1/stores?owner=nobody")).ReadAsync();

        Assert.Contains(requested.GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == name);
        Assert.DoesNotContain(ready.GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == name);
        Assert.Empty(nobody.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task IdempotencyKey_ReplaysTheFirstResponseByteForByte()
    {
        var name = UniqueName("idem");
        var key = Guid.NewGuid().ToString();

        var first = await SendWithKeyAsync(key, Json.Store(name));
        var firstBytes = await first.Content.ReadAsByteArrayAsync();
        var replay = await SendWithKeyAsync(key, Json.Store(name));
        var replayBytes = await replay.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal(firstBytes, replayBytes);
        Assert.Equal(first.Headers.Location, replay.Headers.Location);
        Assert.Equal(first.Content.Headers.ContentType, replay.Content.Headers.ContentType);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));

        // Without the key the same request is a plain 200 "already exists", proving the replay came from the stored answer.
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsync("/api/v1/stores", Json.Store(name))).StatusCode);
    }

    [Fact]
    public async Task IdempotencyKey_ReusedForAnotherBody_Is422()
    {
        var key = Guid.NewGuid().ToString();
        await SendWithKeyAsync(key, Json.Store(UniqueName("idem")));

        var response = await SendWithKeyAsync(key, Json.Store(UniqueName("other")));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task IdempotencyKey_ConcurrentRequestsWithOneKey_CreateOnceAndAgreeOnTheAnswer()
    {
        var name = UniqueName("idpar");
        var key = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => SendWithKeyAsync(key, Json.Store(name))));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, r.StatusCode.ToString()));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created && !r.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(await fixture.Factory.Repository.GetEventsAsync(name));
    }

    [Fact]
    public async Task Delete_Returns202AndIsIdempotentWhileDeleting()
    {
        var name = UniqueName("del");
        await _client.PostAsync("/api/v1/stores", Json.Store(name));

        var first = await _client.DeleteAsync($"/api/v1/stores/{name}");
        var second = await _client.DeleteAsync($"/api/v1/stores/{name}");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal("deleting", (await second.ReadAsync()).GetProperty("phase").GetString());
        var events = await fixture.Factory.Repository.GetEventsAsync(name);
        Assert.Single(events, e => e.Type == StoreEventType.DeleteRequested);
    }

    [Fact]
    public async Task Create_WhileDeleting_Is409SayingToWait()
    {
        var name = UniqueName("reuse");
        await _client.PostAsync("/api/v1/stores", Json.Store(name));
        await _client.DeleteAsync($"/api/v1/stores/{name}");

        var response = await _client.PostAsync("/api/v1/stores", Json.Store(name));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("being deleted", (await response.ReadAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Delete_UnknownStore_Is404()
    {
        var response = await _client.DeleteAsync($"/api/v1/stores/{UniqueName("ghost")}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Retry_WhenNotFailed_Is409()
    {
        var name = UniqueName("nofail");
        await _client.PostAsync("/api/v1/stores", Json.Store(name));

        var response = await _client.PostAsync($"/api/v1/stores/{name}/retry", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("requested", (await response.ReadAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Retry_WhenFailed_Returns202AndResumesTheFailedPhase()
    {
        var name = UniqueName("failed");
        await _client.PostAsync("/api/v1/stores", Json.Store(name));
        var repository = fixture.Factory.Repository;
        var store = (await repository.GetAsync(name))!;
        var now = DateTimeOffset.UtcNow;
        var provisioning = Assert.IsType<UpdateStoreResult.Updated>(await repository.UpdateAsync(store.Take(StoreTrigger.StartProvisioning, now), [])).Store;
        await repository.UpdateAsync(provisioning.Take(StoreTrigger.Fail, now, new StoreCondition(ConditionTypes.Failed, true, "HelmInstallFailed", "chart invalid", now)), []);

        var response = await _client.PostAsync($"/api/v1/stores/{name}/retry", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.ReadAsync();
        Assert.Equal("provisioning", body.GetProperty("phase").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("failedPhase").ValueKind);
        Assert.Contains(await repository.GetEventsAsync(name), e => e.Type == StoreEventType.RetryRequested);
    }

    [Fact]
    public async Task Retry_UnknownStore_Is404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsync($"/api/v1/stores/{UniqueName("ghost")}/retry", null)).StatusCode);
    }

    [Fact]
    public async Task Get_UnknownStore_Is404ProblemSayingWhatToDo()
    {
        var response = await _client.GetAsync($"/api/v1/stores/{UniqueName("ghost")}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("GET /api/v1/stores", (await response.ReadAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/v1/stores/{UniqueName("ghost")}/events")).StatusCode);
    }

    [Fact]
    public async Task CreatedStore_StaysRequested_WithoutAProvisioningEngine()
    {
        var name = UniqueName("idle");
        await _client.PostAsync("/api/v1/stores", Json.Store(name));

        var store = await (await _client.GetAsync($"/api/v1/stores/{name}")).ReadAsync();

        Assert.Equal("requested", store.GetProperty("phase").GetString());
        Assert.Equal(1, store.GetProperty("version").GetInt64());
    }

    private Task<HttpResponseMessage> SendWithKeyAsync(string key, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/stores") { Content = content };
        request.Headers.Add("Idempotency-Key", key);
        return _client.SendAsync(request);
    }
}

public sealed class RedisStoresApiTests(RedisApiFixture fixture) : StoresApiContract(fixture), IClassFixture<RedisApiFixture>;

public sealed class GarnetStoresApiTests(GarnetApiFixture fixture) : StoresApiContract(fixture), IClassFixture<GarnetApiFixture>;

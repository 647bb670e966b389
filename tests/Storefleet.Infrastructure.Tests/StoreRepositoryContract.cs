using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Infrastructure.Tests;

/// <summary>
/// The behaviour every <see cref="IStoreRepository"/> backend must have. Runs once against a real
/// redis-server and once against the embedded Garnet. Each test uses its own key prefix.
/// </summary>
public abstract class StoreRepositoryContract(IStateBackendFixture backend)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly RedisKeys _keys = new($"t{Guid.NewGuid():N}:");
    private readonly StateOptions _options = new() { MaxEventsPerStore = 10, TombstoneRetention = TimeSpan.FromMinutes(5), MaxChanges = 100 };

    private RedisStoreRepository Repository => new(backend.Redis, _keys, Options.Create(_options));

    [Fact]
    public async Task Create_NewName_WritesRecordIndexesAndFirstEvent()
    {
        var store = NewStore("shop", "alice");

        var result = await Repository.CreateAsync(store, Created(store));

        var created = Assert.IsType<CreateStoreResult.Created>(result);
        Assert.Equal(1, created.Store.Version);
        var read = await Repository.GetAsync("shop");
        Assert.NotNull(read);
        Assert.Equal(store with { Version = 1 }, read with { Conditions = store.Conditions });
        Assert.Equal(StorePhase.Requested, read.Phase);
        Assert.Single(await Repository.GetEventsAsync("shop"));
        var db = backend.Redis.GetDatabase();
        Assert.NotNull(await db.SortedSetScoreAsync(_keys.AllStores, "shop"));
        Assert.NotNull(await db.SortedSetScoreAsync(_keys.StoresByOwner("alice"), "shop"));
        Assert.NotNull(await db.SortedSetScoreAsync(_keys.StoresByPhase("requested"), "shop"));
    }

    [Fact]
    public async Task Create_ExistingName_ReturnsTheExistingRecordAndChangesNothing()
    {
        var first = NewStore("shop", "alice");
        await Repository.CreateAsync(first, Created(first));
        var second = NewStore("shop", "bob", StorePlan.Large);

        var result = await Repository.CreateAsync(second, Created(second));

        var existing = Assert.IsType<CreateStoreResult.AlreadyExists>(result).Existing;
        Assert.Equal("alice", existing.Owner);
        Assert.Equal(StorePlan.Small, existing.Spec.Plan);
        Assert.Single(await Repository.GetEventsAsync("shop"));
        Assert.Null(await backend.Redis.GetDatabase().SortedSetScoreAsync(_keys.StoresByOwner("bob"), "shop"));
    }

    [Fact]
    public async Task Create_FiftyParallelCreatesOfOneName_ExactlyOneWins()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
        {
            var store = NewStore("race", $"owner{i}");
            return Repository.CreateAsync(store, Created(store));
        }));

        Assert.Single(results.OfType<CreateStoreResult.Created>());
        Assert.Equal(49, results.OfType<CreateStoreResult.AlreadyExists>().Count());
        Assert.Equal(1, await backend.Redis.GetDatabase().SortedSetLengthAsync(_keys.AllStores));
        Assert.Single(await Repository.GetEventsAsync("race"));
    }

    [Fact]
    public async Task Update_WithCurrentVersion_MovesThePhaseIndexAndAppendsEvents()
    {
        var store = await CreateAsync("shop");
        var provisioning = store.Take(StoreTrigger.StartProvisioning, T0.AddSeconds(1));

        var result = await Repository.UpdateAsync(provisioning, [Event(StorePhase.Provisioning, "started")]);

        Assert.Equal(2, Assert.IsType<UpdateStoreResult.Updated>(result).Store.Version);
        var db = backend.Redis.GetDatabase();
        Assert.Null(await db.SortedSetScoreAsync(_keys.StoresByPhase("requested"), "shop"));
        Assert.NotNull(await db.SortedSetScoreAsync(_keys.StoresByPhase("provisioning"), "shop"));
        Assert.Equal(StorePhase.Provisioning, (await Repository.GetAsync("shop"))!.Phase);
        Assert.Equal(2, (await Repository.GetEventsAsync("shop")).Count);
    }

    [Fact]
    public async Task Update_KeepsTheReleasePins_TheCurrentAndTheOneServedBeforeTheUpdate()
    {
        var store = await CreateAsync("shop");
        var pinned = store with
        {
            Pin = new ReleasePin(2, 1, "0.1.0", "medium", new AppVersions("6.8", "9.9", "8.0")),
            PreviousPin = new ReleasePin(1, 1, "0.0.9", "small", new AppVersions("6.7", "9.8", "8.0")),
            Upgrade = new UpgradeRun(2, Snapshot: true),
        };

        await Repository.UpdateAsync(pinned, [Event(StorePhase.Requested, "pinned")]);

        var read = (await Repository.GetAsync("shop"))!;
        Assert.Equal(pinned.Pin, read.Pin);
        Assert.Equal(pinned.PreviousPin, read.PreviousPin);
        Assert.Equal(pinned.Upgrade, read.Upgrade);
    }

    [Fact]
    public async Task Update_WithStaleVersion_IsAConflictAndChangesNothing()
    {
        var store = await CreateAsync("shop");
        await Repository.UpdateAsync(store.Take(StoreTrigger.StartProvisioning, T0), []);

        var result = await Repository.UpdateAsync(store.Take(StoreTrigger.RequestDelete, T0), [Event(StorePhase.Deleting, "stale")]);

        Assert.Equal(2, Assert.IsType<UpdateStoreResult.VersionConflict>(result).CurrentVersion);
        Assert.Equal(StorePhase.Provisioning, (await Repository.GetAsync("shop"))!.Phase);
        Assert.Single(await Repository.GetEventsAsync("shop"));
    }

    [Fact]
    public async Task Update_ParallelWritersOfOneVersion_ExactlyOneSucceeds()
    {
        var store = await CreateAsync("shop");

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Repository.UpdateAsync(store with { Attempts = i + 1 }, [Event(StorePhase.Requested, $"writer {i}")])));

        Assert.Single(results.OfType<UpdateStoreResult.Updated>());
        Assert.Equal(19, results.OfType<UpdateStoreResult.VersionConflict>().Count());
        Assert.Equal(2, (await Repository.GetEventsAsync("shop")).Count);
    }

    [Fact]
    public async Task Update_MissingStore_IsNotFound()
    {
        var result = await Repository.UpdateAsync(NewStore("ghost", "alice") with { Version = 1 }, []);

        Assert.IsType<UpdateStoreResult.NotFound>(result);
    }

    [Fact]
    public async Task Events_AreCappedKeepingTheNewest()
    {
        var store = await CreateAsync("shop");
        for (var i = 0; i < 15; i++)
        {
            await Repository.AppendEventAsync("shop", Event(StorePhase.Requested, $"event {i}"));
        }

        var events = await Repository.GetEventsAsync("shop");

        Assert.Equal(_options.MaxEventsPerStore, events.Count);
        Assert.Equal("event 14", events[^1].Message);
        Assert.Equal(store.Name, (await Repository.GetAsync("shop"))!.Name);
    }

    [Fact]
    public async Task TimelineIds_AreStable_WhenOlderEntriesAreTrimmed_AndNeverReusedAfterARecreate()
    {
        var store = await CreateAsync("shop");
        for (var i = 0; i < 14; i++)
        {
            await Repository.AppendEventAsync("shop", Event(StorePhase.Requested, $"event {i}"));
        }

        var timeline = await Repository.GetTimelineAsync("shop");
        var updated = await Repository.UpdateAsync((await Repository.GetAsync("shop"))!.Take(StoreTrigger.StartProvisioning, T0), [Event(StorePhase.Provisioning, "a"), Event(StorePhase.Provisioning, "b")]);
        var after = await Repository.GetTimelineAsync("shop");
        await Repository.RemoveAsync(((UpdateStoreResult.Updated)updated).Store, new StoreEvent(T0, StoreEventType.Deleted, StorePhase.Provisioning, "gone"));
        await CreateAsync("shop");
        var recreated = await Repository.GetTimelineAsync("shop");

        // 15 events appended (created + 14), 10 kept: ids 6..15; then two more: 8..17.
        Assert.Equal(Enumerable.Range(6, 10).Select(i => (long)i), timeline.Select(e => e.Id));
        Assert.Equal("event 13", timeline[^1].Event.Message);
        Assert.Equal(Enumerable.Range(8, 10).Select(i => (long)i), after.Select(e => e.Id));
        Assert.Equal(timeline.Single(e => e.Event.Message == "event 9").Id, after.Single(e => e.Event.Message == "event 9").Id);
        Assert.Equal(19, Assert.Single(recreated).Id);
        Assert.Equal($"created {store.Name}", recreated[0].Event.Message);
    }

    [Fact]
    public async Task TheChangeFeed_ListsAddedModifiedDeleted_InOrder_AndSaysWhenAReaderFellBehind()
    {
        var start = (await Repository.GetChangesAsync(0)).Latest;
        var store = await CreateAsync("shop");
        var moved = (UpdateStoreResult.Updated)await Repository.UpdateAsync(store.Take(StoreTrigger.StartProvisioning, T0), []);
        await Repository.RemoveAsync(moved.Store, new StoreEvent(T0, StoreEventType.Deleted, StorePhase.Provisioning, "gone"));

        var page = await Repository.GetChangesAsync(start);
        var fromMiddle = await Repository.GetChangesAsync(start + 1);

        Assert.Equal([StoreChangeType.Added, StoreChangeType.Modified, StoreChangeType.Deleted], page.Changes.Select(c => c.Type));
        Assert.All(page.Changes, c => Assert.Equal(("shop", "alice"), (c.Name, c.Owner)));
        Assert.Equal([start + 1, start + 2, start + 3], page.Changes.Select(c => c.Sequence));
        Assert.Equal([start + 2, start + 3], fromMiddle.Changes.Select(c => c.Sequence));
        Assert.False(page.Missed(start));

        for (var i = 0; i < 120; i++)
        {
            await CreateAsync($"many{i}");
        }

        var late = await Repository.GetChangesAsync(start);
        Assert.True(late.Missed(start), "a reader 120 changes behind a feed of 100 must be told to list again");
        Assert.Equal(100, (await Repository.GetChangesAsync(late.Oldest - 1)).Changes.Count);
    }

    [Fact]
    public async Task AppendEvent_ForAStoreThatDoesNotExist_WritesNothing()
    {
        await Repository.AppendEventAsync("ghost", Event(StorePhase.Requested, "nobody"));

        Assert.False(await backend.Redis.GetDatabase().KeyExistsAsync(_keys.Events("ghost")));
    }

    [Fact]
    public async Task Remove_DeletesRecordAndIndexesAndKeepsAnExpiringTombstone()
    {
        var store = await CreateAsync("shop");
        var deleting = (await Repository.UpdateAsync(store.Take(StoreTrigger.RequestDelete, T0), [])) as UpdateStoreResult.Updated;

        var result = await Repository.RemoveAsync(deleting!.Store, new StoreEvent(T0, StoreEventType.Deleted, StorePhase.Deleting, "gone"));

        Assert.IsType<UpdateStoreResult.Updated>(result);
        Assert.Null(await Repository.GetAsync("shop"));
        var db = backend.Redis.GetDatabase();
        Assert.Equal(0, await db.SortedSetLengthAsync(_keys.AllStores));
        Assert.Equal(0, await db.SortedSetLengthAsync(_keys.StoresByOwner("alice")));
        Assert.Equal(0, await db.SortedSetLengthAsync(_keys.StoresByPhase("deleting")));
        var events = await Repository.GetEventsAsync("shop");
        Assert.Equal(StoreEventType.Deleted, events[^1].Type);
        Assert.NotNull(await db.KeyTimeToLiveAsync(_keys.Events("shop")));
        Assert.Equal(1, await db.ListLengthAsync(_keys.Tombstones));

        Assert.IsType<UpdateStoreResult.NotFound>(await Repository.RemoveAsync(deleting.Store, events[^1]));
    }

    [Fact]
    public async Task Create_AfterRemove_StartsAFreshTimeline()
    {
        var store = await CreateAsync("shop");
        await Repository.RemoveAsync(store, new StoreEvent(T0, StoreEventType.Deleted, StorePhase.Requested, "gone"));

        await CreateAsync("shop");

        Assert.Single(await Repository.GetEventsAsync("shop"));
    }

    [Fact]
    public async Task List_PagesNewestFirstWithoutGapsOrDuplicates_EvenWithinOneMillisecond()
    {
        // 25 stores, several sharing a creation millisecond, paged 4 at a time.
        for (var i = 0; i < 25; i++)
        {
            await CreateAsync($"shop-{i:D2}", createdAt: T0.AddMilliseconds(i / 3));
        }

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Repository.ListAsync(new StoreQuery(4, token));
            Assert.True(page.Items.Count <= 4);
            seen.AddRange(page.Items.Select(s => s.Name));
            token = page.Continue;
            pages++;
        }
        while (token is not null);

        Assert.Equal(7, pages);
        Assert.Equal(25, seen.Distinct().Count());
        var expectedOrder = Enumerable.Range(0, 25)
            .Select(i => (Name: $"shop-{i:D2}", Ms: i / 3))
            .OrderByDescending(x => x.Ms).ThenByDescending(x => x.Name, StringComparer.Ordinal)
            .Select(x => x.Name);
        Assert.Equal(expectedOrder, seen);
    }

    [Fact]
    public async Task List_FiltersByPhaseAndOwner()
    {
        await CreateAsync("a-one", "alice");
        await CreateAsync("a-two", "alice");
        await CreateAsync("b-one", "bob");
        var moved = await Repository.GetAsync("a-two");
        await Repository.UpdateAsync(moved!.Take(StoreTrigger.StartProvisioning, T0), []);

        Assert.Equal(["a-two", "a-one"], (await Repository.ListAsync(new StoreQuery(10, Owner: "alice"))).Items.Select(s => s.Name));
        Assert.Equal(["a-two"], (await Repository.ListAsync(new StoreQuery(10, Phase: StorePhase.Provisioning))).Items.Select(s => s.Name));
        Assert.Equal(["b-one"], (await Repository.ListAsync(new StoreQuery(10, Phase: StorePhase.Requested, Owner: "bob"))).Items.Select(s => s.Name));
        Assert.Empty((await Repository.ListAsync(new StoreQuery(10, Phase: StorePhase.Ready))).Items);
    }

    [Fact]
    public async Task NameSearch_FindsNamesAndWordsStartingWithTheText_NewestFirst_FromTheIndex()
    {
        await CreateAsync("alice-shop", "alice", createdAt: T0.AddSeconds(1));
        await CreateAsync("shop-1", "bob", createdAt: T0.AddSeconds(2));
        await CreateAsync("bookshop", "alice", createdAt: T0.AddSeconds(3));
        await CreateAsync("shopper", "alice", createdAt: T0.AddSeconds(4));
        await CreateAsync("shop-shop", "alice", createdAt: T0.AddSeconds(5));

        Assert.Equal(["shop-shop", "shopper", "shop-1", "alice-shop"], await NamesAsync(new StoreQuery(10, NameSearch: "shop")));
        Assert.Equal(["shop-shop", "shopper", "alice-shop"], await NamesAsync(new StoreQuery(10, Owner: "alice", NameSearch: "shop")));
        Assert.Equal(["shop-shop", "shop-1"], await NamesAsync(new StoreQuery(10, NameSearch: "shop-")));
        Assert.Empty(await NamesAsync(new StoreQuery(10, NameSearch: "hop")));
        Assert.Equal(["bookshop"], await NamesAsync(new StoreQuery(10, NameSearch: "book")));

        var first = await Repository.ListAsync(new StoreQuery(2, NameSearch: "shop"));
        var second = await Repository.ListAsync(new StoreQuery(2, first.Continue, NameSearch: "shop"));
        Assert.Equal(["shop-shop", "shopper"], first.Items.Select(s => s.Name));
        Assert.Equal(["shop-1", "alice-shop"], second.Items.Select(s => s.Name));
        Assert.Null(second.Continue);

        var removed = await Repository.GetAsync("shop-1");
        await Repository.RemoveAsync(removed!, Event(StorePhase.Deleting, "gone"));
        Assert.Equal(["shop-shop", "shopper", "alice-shop"], await NamesAsync(new StoreQuery(10, NameSearch: "shop")));
        Assert.Equal(["alice-shop alice-shop", "bookshop bookshop", "shop alice-shop", "shop shop-shop", "shop-shop shop-shop", "shopper shopper"],
            (await backend.Redis.GetDatabase().SortedSetRangeByRankAsync(_keys.NameIndex)).Select(e => (string)e!));
    }

    [Fact]
    public async Task NameIndex_IsBuiltOnceForStoresThatPredateIt()
    {
        await CreateAsync("old-shop", "alice");
        var db = backend.Redis.GetDatabase();
        await db.KeyDeleteAsync(_keys.NameIndex); // as before the index existed

        Assert.Empty(await NamesAsync(new StoreQuery(10, NameSearch: "shop")));
        await Repository.EnsureNameIndexAsync();
        Assert.Equal(["old-shop"], await NamesAsync(new StoreQuery(10, NameSearch: "shop")));
        Assert.True(await db.KeyExistsAsync(_keys.NameIndexBuilt));
    }

    [Fact]
    public async Task CountsByPhaseAndPlan_FollowCreatesPhaseMovesPlanChangesAndRemoves()
    {
        var a = await CreateAsync("count-a");
        await CreateAsync("count-b");
        var c = Assert.IsType<CreateStoreResult.Created>(await Repository.CreateAsync(NewStore("count-c", "bob", StorePlan.Medium), Created(NewStore("count-c", "bob")))).Store;

        var moved = Assert.IsType<UpdateStoreResult.Updated>(await Repository.UpdateAsync(a with { Phase = StorePhase.Ready }, [])).Store;
        Assert.IsType<UpdateStoreResult.Updated>(await Repository.UpdateAsync(moved.WithPlan(StorePlan.Large, T0), []));
        Assert.IsType<UpdateStoreResult.Updated>(await Repository.RemoveAsync(c, Event(StorePhase.Deleting, "gone")));

        var counts = (await Repository.CountByPhaseAndPlanAsync()).Where(x => x.Count > 0).Select(x => $"{x.Phase.ToWire()}/{x.Plan}={x.Count}");
        Assert.Equal(["requested/small=1", "ready/large=1"], counts);
        // Every phase on every plan ever used is reported, zeros included (a gauge that drops to 0 stays visible).
        Assert.Equal(Enum.GetValues<StorePhase>().Length * 3, (await Repository.CountByPhaseAndPlanAsync()).Count);
    }

    [Fact]
    public async Task PlanIndex_IsBuiltOnceForStoresThatPredateIt()
    {
        await CreateAsync("old-plan");
        var db = backend.Redis.GetDatabase();
        await db.KeyDeleteAsync([_keys.StoresByPlan("small"), _keys.Plans]); // as before the index existed

        // Until the backfill, the store still counts in its phase, on the plan "unknown".
        Assert.Equal(["requested/unknown=1"], (await Repository.CountByPhaseAndPlanAsync()).Select(x => $"{x.Phase.ToWire()}/{x.Plan}={x.Count}"));
        await Repository.EnsurePlanIndexAsync();
        Assert.Equal(["requested/small=1"], (await Repository.CountByPhaseAndPlanAsync()).Where(x => x.Count > 0).Select(x => $"{x.Phase.ToWire()}/{x.Plan}={x.Count}"));
        Assert.True(await db.KeyExistsAsync(_keys.PlanIndexBuilt));
    }

    private async Task<IReadOnlyList<string>> NamesAsync(StoreQuery query) => [.. (await Repository.ListAsync(query)).Items.Select(s => s.Name)];

    [Fact]
    public async Task List_FilteredPaging_FillsPagesAcrossNonMatchingEntries()
    {
        for (var i = 0; i < 12; i++)
        {
            await CreateAsync($"shop-{i:D2}", i % 3 == 0 ? "alice" : "bob", createdAt: T0.AddSeconds(i));
        }

        var page = await Repository.ListAsync(new StoreQuery(2, Phase: StorePhase.Requested, Owner: "alice"));
        var next = await Repository.ListAsync(new StoreQuery(2, page.Continue, StorePhase.Requested, "alice"));

        Assert.Equal(["shop-09", "shop-06"], page.Items.Select(s => s.Name));
        Assert.Equal(["shop-03", "shop-00"], next.Items.Select(s => s.Name));
        Assert.Null(next.Continue);
    }

    [Theory]
    [InlineData("not-base64!")]
    [InlineData("eyJ4IjoxfQ")]
    public async Task List_BadContinueToken_IsRefused(string token)
    {
        await Assert.ThrowsAsync<InvalidContinueTokenException>(() => Repository.ListAsync(new StoreQuery(5, token)));
    }

    [Fact]
    public async Task List_TokenFromAnotherFilter_IsRefused()
    {
        await CreateAsync("a-one");
        await CreateAsync("a-two");
        var page = await Repository.ListAsync(new StoreQuery(1));

        await Assert.ThrowsAsync<InvalidContinueTokenException>(() => Repository.ListAsync(new StoreQuery(1, page.Continue, Owner: "alice")));
    }

    [Fact]
    public async Task Create_FiftyDistinctNamesInParallel_KeepsIndexesConsistent()
    {
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => CreateAsync($"shop-{i:D2}", i % 2 == 0 ? "alice" : "bob")));

        var db = backend.Redis.GetDatabase();
        Assert.Equal(50, await db.SortedSetLengthAsync(_keys.AllStores));
        Assert.Equal(25, await db.SortedSetLengthAsync(_keys.StoresByOwner("alice")));
        Assert.Equal(25, await db.SortedSetLengthAsync(_keys.StoresByOwner("bob")));
        Assert.Equal(50, await db.SortedSetLengthAsync(_keys.StoresByPhase("requested")));
        Assert.Equal(50, (await Repository.ListAsync(new StoreQuery(500))).Items.Count);
    }

    private async Task<Store> CreateAsync(string name, string owner = "alice", DateTimeOffset? createdAt = null)
    {
        var store = NewStore(name, owner) with { CreatedAt = createdAt ?? T0, UpdatedAt = createdAt ?? T0 };
        var result = await Repository.CreateAsync(store, Created(store));
        return Assert.IsType<CreateStoreResult.Created>(result).Store;
    }

    private static Store NewStore(string name, string owner, StorePlan? plan = null) =>
        Store.Request(name, new StoreSpec(StoreEngine.WooCommerce, plan ?? StorePlan.Small), owner, T0);

    private static StoreEvent Created(Store store) => new(T0, StoreEventType.Created, StorePhase.Requested, $"created {store.Name}");

    private static StoreEvent Event(StorePhase phase, string message) => new(T0, StoreEventType.StepSucceeded, phase, message, TimeSpan.FromMilliseconds(12), "test");
}

public sealed class RedisServerStoreRepositoryTests(RedisServerFixture backend) : StoreRepositoryContract(backend), IClassFixture<RedisServerFixture>;

public sealed class GarnetStoreRepositoryTests(GarnetFixture backend) : StoreRepositoryContract(backend), IClassFixture<GarnetFixture>;

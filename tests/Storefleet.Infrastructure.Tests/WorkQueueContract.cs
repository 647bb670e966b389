using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Infrastructure.Tests;

/// <summary>
/// The work queue and leases, on a real redis-server and on the embedded Garnet: due-time order,
/// one holder per store, fencing tokens that grow, lost leases that cannot write, changes during
/// work that are never missed.
/// </summary>
public abstract class WorkQueueContract(IStateBackendFixture backend)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private readonly RedisKeys _keys = new($"q{Guid.NewGuid():N}:");
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    private RedisWorkQueue Queue => new(backend.Redis, _keys, _clock);

    [Fact]
    public async Task Claim_TakesOnlyDueStores_EarliestFirst()
    {
        var queue = Queue;
        await queue.EnqueueAsync("later", _clock.Now.AddMinutes(1));
        await queue.EnqueueAsync("second", _clock.Now.AddSeconds(-1));
        await queue.EnqueueAsync("first", _clock.Now.AddSeconds(-2));

        var leases = await queue.ClaimAsync("a", 10, Ttl);

        Assert.Equal(["first", "second"], leases.Select(l => l.Store));
        // Leased stores stay queued, due again when their lease would have lapsed (a holder that dies loses nothing).
        Assert.Equal(_clock.Now + Ttl, await queue.NextDueAsync());
    }

    [Fact]
    public async Task Enqueue_KeepsTheEarlierDueTime()
    {
        var queue = Queue;
        await queue.EnqueueAsync("shop", _clock.Now);
        await queue.EnqueueAsync("shop", _clock.Now.AddMinutes(5));

        Assert.Single(await queue.ClaimAsync("a", 10, Ttl));
    }

    [Fact]
    public async Task AStore_IsLeasedToOneHolderAtATime_AndEachLeaseHasAHigherFence()
    {
        var queue = Queue;
        await queue.EnqueueAsync("shop", _clock.Now);

        var claims = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => queue.ClaimAsync($"worker{i}", 1, Ttl)));
        var first = Assert.Single(claims.SelectMany(c => c));
        await queue.CompleteAsync(first, _clock.Now);
        var second = Assert.Single(await queue.ClaimAsync("other", 1, Ttl));

        Assert.True(second.Fence > first.Fence);
    }

    [Fact]
    public async Task AnExpiredLease_CanBeTakenByAnother_AndTheOldHolderCanNoLongerWrite()
    {
        var queue = Queue;
        var repository = new RedisStoreRepository(backend.Redis, _keys, Options.Create(new StateOptions()));
        var store = Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", _clock.Now);
        await repository.CreateAsync(store, new StoreEvent(_clock.Now, StoreEventType.Created, StorePhase.Requested, "created"));
        await queue.EnqueueAsync("shop", _clock.Now);
        var stale = Assert.Single(await queue.ClaimAsync("old", 1, TimeSpan.FromMilliseconds(200)));
        _clock.Advance(TimeSpan.FromSeconds(1));

        await Storefleet.Testing.Eventually.WaitUntilAsync(async () => (await queue.ClaimAsync("new", 1, Ttl)).Count == 1, TimeSpan.FromSeconds(5), "the lease to expire and be taken");
        var current = (await repository.GetAsync("shop"))!;

        Assert.IsType<UpdateStoreResult.LeaseLost>(await repository.UpdateAsync(current with { Attempts = 9 }, [], stale));
        Assert.IsType<UpdateStoreResult.LeaseLost>(await repository.RemoveAsync(current, new StoreEvent(_clock.Now, StoreEventType.Deleted, StorePhase.Requested, "x"), stale));
        Assert.False(await queue.RenewAsync(stale, Ttl));
        Assert.Equal(0, (await repository.GetAsync("shop"))!.Attempts);
    }

    [Fact]
    public async Task AWriteUnderTheCurrentLease_Succeeds()
    {
        var queue = Queue;
        var repository = new RedisStoreRepository(backend.Redis, _keys, Options.Create(new StateOptions()));
        var store = Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", _clock.Now);
        await repository.CreateAsync(store, new StoreEvent(_clock.Now, StoreEventType.Created, StorePhase.Requested, "created"));
        await queue.EnqueueAsync("shop", _clock.Now);
        var lease = Assert.Single(await queue.ClaimAsync("a", 1, Ttl));

        var result = await repository.UpdateAsync(store with { Version = 1, Attempts = 1 }, [], lease);

        Assert.IsType<UpdateStoreResult.Updated>(result);
        Assert.True(await queue.RenewAsync(lease, Ttl));
    }

    [Fact]
    public async Task AChangeWhileLeased_RunsTheStoreAgainAsSoonAsItIsReleased()
    {
        var queue = Queue;
        await queue.EnqueueAsync("shop", _clock.Now);
        var lease = Assert.Single(await queue.ClaimAsync("a", 1, Ttl));

        await queue.EnqueueAsync("shop", _clock.Now); // e.g. a watch event or a delete request during the work
        Assert.Empty(await queue.ClaimAsync("b", 1, Ttl)); // still leased: nobody else takes it
        await queue.CompleteAsync(lease, _clock.Now.AddMinutes(10));

        Assert.Single(await queue.ClaimAsync("b", 1, Ttl));
    }

    [Fact]
    public async Task Complete_WithoutANextTime_LeavesTheQueue_AndWithOne_SchedulesIt()
    {
        var queue = Queue;
        await queue.EnqueueAsync("done", _clock.Now);
        await queue.EnqueueAsync("again", _clock.Now);
        var leases = await queue.ClaimAsync("a", 2, Ttl);

        await queue.CompleteAsync(leases.Single(l => l.Store == "done"), null);
        await queue.CompleteAsync(leases.Single(l => l.Store == "again"), _clock.Now.AddSeconds(30));

        Assert.Empty(await queue.ClaimAsync("a", 2, Ttl));
        _clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(["again"], (await queue.ClaimAsync("a", 2, Ttl)).Select(l => l.Store));
    }

    [Fact]
    public async Task AHolderThatDies_LeavesTheStoreDueAgainAfterTheLeaseTtl()
    {
        var queue = Queue;
        await queue.EnqueueAsync("shop", _clock.Now);
        Assert.Single(await queue.ClaimAsync("dies", 1, TimeSpan.FromMilliseconds(100)));

        _clock.Advance(TimeSpan.FromSeconds(1));
        var taken = await Storefleet.Testing.Eventually.WaitForAsync(async () => (await queue.ClaimAsync("survivor", 1, Ttl)).SingleOrDefault(), TimeSpan.FromSeconds(5), "the store to be due again");

        Assert.Equal("survivor", taken.Holder);
    }

    [Fact]
    public async Task AClaimWhoseFenceIncrementWasLost_GetsAFreshToken_SoTheEarlierHolderStillCannotWrite()
    {
        var queue = Queue;
        var repository = new RedisStoreRepository(backend.Redis, _keys, Options.Create(new StateOptions()));
        var store = Store.Request("shop", new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small), "alice", _clock.Now);
        await repository.CreateAsync(store, new StoreEvent(_clock.Now, StoreEventType.Created, StorePhase.Requested, "created"));
        await queue.EnqueueAsync("shop", _clock.Now);
        var earlier = Assert.Single(await queue.ClaimAsync("replica-1", 1, Ttl));

        // A failover loses the last claim: its lease and its fence increment are gone; the same holder claims again.
        var db = backend.Redis.GetDatabase();
        await db.KeyDeleteAsync(_keys.Lease("shop"));
        await db.StringDecrementAsync(_keys.Fence("shop"));
        await queue.EnqueueAsync("shop", _clock.Now);
        var later = Assert.Single(await queue.ClaimAsync("replica-1", 1, Ttl));

        Assert.Equal(earlier.Fence, later.Fence);
        Assert.NotEqual(earlier.Token, later.Token);
        Assert.False(await queue.RenewAsync(earlier, Ttl));
        Assert.IsType<UpdateStoreResult.LeaseLost>(await repository.UpdateAsync((await repository.GetAsync("shop"))! with { Attempts = 5 }, [], earlier));
        Assert.Null(await repository.GetIfLeasedAsync(earlier));
        Assert.NotNull(await repository.GetIfLeasedAsync(later));
    }

    [Fact]
    public async Task FenceCounters_Expire_SoThoseOfDeletedStoresDoNotPileUp()
    {
        var queue = Queue;
        await queue.EnqueueAsync("gone", _clock.Now);
        Assert.Single(await queue.ClaimAsync("a", 1, Ttl));

        var ttl = await backend.Redis.GetDatabase().KeyTimeToLiveAsync(_keys.Fence("gone"));

        Assert.NotNull(ttl);
        Assert.True(ttl > TimeSpan.FromDays(6) && ttl <= RedisWorkQueue.FenceRetention, $"fence TTL {ttl}");
    }

    [Fact]
    public async Task AReplicaWhoseClockIsAMinuteBehind_WritesDueTimesInRedissTime()
    {
        var behind = new RedisClock(new SkewedClock(TimeSpan.FromMinutes(-1)), backend.Redis, Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisClock>.Instance);
        var onTime = new RedisClock(TimeProvider.System, backend.Redis, Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisClock>.Instance);
        await behind.SyncAsync(CancellationToken.None);
        await onTime.SyncAsync(CancellationToken.None);
        var skewedQueue = new RedisWorkQueue(backend.Redis, _keys, behind);
        var queue = new RedisWorkQueue(backend.Redis, _keys, onTime);

        // The skewed replica takes a due store: its lease keeps the store queued until the lease would lapse.
        await skewedQueue.EnqueueAsync("shop", behind.GetUtcNow());
        Assert.Single(await skewedQueue.ClaimAsync("behind", 1, Ttl));
        var due = await queue.NextDueAsync();

        // Seen from a replica with the right time, that is a lease TTL ahead — not half a minute in the past
        // (which would make every idle replica poll the queue in a tight loop until the lease ends).
        Assert.NotNull(due);
        Assert.InRange((due!.Value - onTime.GetUtcNow()).TotalSeconds, Ttl.TotalSeconds - 10, Ttl.TotalSeconds + 1);
        Assert.InRange(behind.Offset.TotalSeconds, 55, 65);
    }

    [Fact]
    public async Task Enqueue_Now_SignalsIdleWorkers()
    {
        var queue = Queue;
        var signalled = new TaskCompletionSource();
        queue.Signalled += () => signalled.TrySetResult();
        await Storefleet.Testing.Eventually.WaitUntilAsync(async () =>
        {
            await queue.EnqueueAsync($"s{Guid.NewGuid():N}", _clock.Now);
            return signalled.Task.IsCompleted;
        }, TimeSpan.FromSeconds(5), "the queue signal");
    }
}

/// <summary>This machine's clock, off by a fixed amount (a replica whose clock is wrong).</summary>
public sealed class SkewedClock(TimeSpan skew) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + skew;
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public DateTimeOffset Now => _now;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

public sealed class RedisServerWorkQueueTests(RedisServerFixture backend) : WorkQueueContract(backend), IClassFixture<RedisServerFixture>;

public sealed class GarnetWorkQueueTests(GarnetFixture backend) : WorkQueueContract(backend), IClassFixture<GarnetFixture>;

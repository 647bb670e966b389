using Microsoft.Extensions.Options;
using Storefleet.Core.Pool;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Infrastructure.Tests;

/// <summary>
/// The warm pool's shared state on both backends (redis-server and the embedded Garnet): a claim takes the oldest idle
/// member of its kind — Ready, unclaimed, not retiring, not stale — one member for one store even under a rush, the same
/// member again for the same store, and members do not count against a person's create at the total limit.
/// </summary>
public abstract class WarmPoolStateContract(IStateBackendFixture backend)
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly StoreSpec Small = new(StoreEngine.WooCommerce, StorePlan.Small);
    private readonly RedisKeys _keys = new($"t{Guid.NewGuid():N}:");

    private RedisStoreRepository Repository => new(backend.Redis, _keys, Options.Create(new StateOptions()));

    private RedisWarmPoolState Pool => new(backend.Redis, _keys);

    [Fact]
    public async Task AClaim_TakesTheOldestReadyMemberOfItsKind_AndAskingAgainForTheSameStoreReturnsIt()
    {
        var older = await MemberAsync(StorePhase.Ready, T0);
        var newer = await MemberAsync(StorePhase.Ready, T0.AddMinutes(1));
        await MemberAsync(StorePhase.Provisioning, T0.AddMinutes(-5));
        await MemberAsync(StorePhase.Ready, T0.AddMinutes(-10), new StoreSpec(StoreEngine.WooCommerce, StorePlan.Large));

        Assert.Equal(older, await Pool.ClaimAsync("shop", WarmPool.Kind(Small)));
        Assert.Equal(older, await Pool.ClaimAsync("shop", WarmPool.Kind(Small)));
        Assert.Equal(newer, await Pool.ClaimAsync("other", WarmPool.Kind(Small)));
        Assert.Null(await Pool.ClaimAsync("third", WarmPool.Kind(Small)));
        Assert.Equal("shop", await Pool.StoreOfAsync(older));
        Assert.Equal(new Dictionary<string, string> { ["shop"] = older, ["other"] = newer }, await Pool.PendingClaimsAsync());

        // Recorded: the member stays placed with the store; the store's name claims afresh.
        await Pool.ClaimRecordedAsync("shop");
        Assert.Equal("shop", await Pool.StoreOfAsync(older));
        Assert.Null(await Pool.ClaimAsync("shop", WarmPool.Kind(Small)));
    }

    [Fact]
    public async Task ARush_OfTwentyClaimsForThreeMembers_ClaimsEachOnce()
    {
        var members = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            members.Add(await MemberAsync(StorePhase.Ready, T0.AddSeconds(i)));
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Pool.ClaimAsync($"rush{i}", WarmPool.Kind(Small))));

        Assert.Equal(members.Order(), claims.OfType<string>().Order());
    }

    [Fact]
    public async Task RetiringAndStaleMembers_AreNeverClaimed_AndAClaimedMemberCannotBeRetired()
    {
        var retiring = await MemberAsync(StorePhase.Ready, T0);
        var stale = await MemberAsync(StorePhase.Ready, T0.AddSeconds(1));
        var idle = await MemberAsync(StorePhase.Ready, T0.AddSeconds(2));
        Assert.True(await Pool.RetireAsync(retiring));
        await Pool.SetStaleAsync([stale]);

        Assert.Equal(idle, await Pool.ClaimAsync("shop", WarmPool.Kind(Small)));
        Assert.False(await Pool.RetireAsync(idle));
        Assert.Equal([retiring], await Pool.RetiringAsync());

        // The keeper's next view replaces the stale set; a released claim makes the member idle again.
        await Pool.SetStaleAsync([]);
        await Pool.ReleaseClaimAsync(idle, "shop");
        Assert.Equal(stale, await Pool.ClaimAsync("other", WarmPool.Kind(Small)));
        Assert.Equal(idle, await Pool.ClaimAsync("third", WarmPool.Kind(Small)));
    }

    [Fact]
    public async Task AHeldClaimOfAnotherKind_IsGivenBack_AndTheStoreClaimsOneOfItsOwnKind()
    {
        var small = await MemberAsync(StorePhase.Ready, T0);
        var large = await MemberAsync(StorePhase.Ready, T0.AddSeconds(1), new StoreSpec(StoreEngine.WooCommerce, StorePlan.Large));
        Assert.Equal(small, await Pool.ClaimAsync("shop", WarmPool.Kind(Small)));

        // The store was deleted and created again with another plan before its claim was cleared.
        Assert.Equal(large, await Pool.ClaimAsync("shop", "woocommerce/large"));
        Assert.Null(await Pool.StoreOfAsync(small));
    }

    [Fact]
    public async Task Members_DoNotCountAgainstAPersonsCreate_ButTheKeeperStopsAtTheTotal()
    {
        await MemberAsync(StorePhase.Ready, T0);
        await MemberAsync(StorePhase.Ready, T0.AddSeconds(1));
        var limits = new CreateLimits(0, 2, 0);

        var person = Store.Request("shop", Small, "alice", T0);
        Assert.IsType<CreateStoreResult.Created>(await Repository.CreateAsync(person, Created(person), limits));
        var member = Store.Request(WarmPool.NewMemberName(), Small, WarmPool.Owner, T0);
        var refused = Assert.IsType<CreateStoreResult.LimitReached>(await Repository.CreateAsync(member, Created(member), limits));
        Assert.Equal(CreateLimits.StoresTotal, refused.Limit);
        var second = Store.Request("shop-two", Small, "alice", T0);
        Assert.IsType<CreateStoreResult.Created>(await Repository.CreateAsync(second, Created(second), limits));
        var third = Store.Request("shop-three", Small, "alice", T0);
        Assert.IsType<CreateStoreResult.LimitReached>(await Repository.CreateAsync(third, Created(third), limits));
    }

    private async Task<string> MemberAsync(StorePhase phase, DateTimeOffset created, StoreSpec? spec = null)
    {
        var member = Store.Request(WarmPool.NewMemberName(), spec ?? Small, WarmPool.Owner, created);
        Assert.IsType<CreateStoreResult.Created>(await Repository.CreateAsync(member, Created(member)));
        if (phase != StorePhase.Requested)
        {
            var stored = (await Repository.GetAsync(member.Name))!;
            Assert.IsType<UpdateStoreResult.Updated>(await Repository.UpdateAsync(stored with { Phase = phase }, []));
        }

        await Pool.RegisterAsync(member.Name, WarmPool.Kind(member.Spec));
        return member.Name;
    }

    private static StoreEvent Created(Store store) => new(store.CreatedAt, StoreEventType.Created, StorePhase.Requested, "created");
}

public sealed class RedisServerWarmPoolStateTests(RedisServerFixture backend) : WarmPoolStateContract(backend), IClassFixture<RedisServerFixture>;

public sealed class GarnetWarmPoolStateTests(GarnetFixture backend) : WarmPoolStateContract(backend), IClassFixture<GarnetFixture>;

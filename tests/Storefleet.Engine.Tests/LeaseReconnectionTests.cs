using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Storefleet.Engine.Reconciling;
using Storefleet.Infrastructure.Redis;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// A failover can lose a lease (replication is asynchronous). A worker re-checks its lease as soon as its connection
/// to Redis is restored, not at its next renewal tick, and stops touching the store if the lease is gone.
/// </summary>
public sealed class LeaseReconnectionTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    [Fact]
    public async Task ALeaseLostWhileDisconnected_StopsTheWork_AsSoonAsTheConnectionIsBack()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(fixture.Redis.ConnectionString + ",allowAdmin=true");
        var keys = new RedisKeys(EngineFixture.NewPrefix());
        using var queue = new RedisWorkQueue(redis, keys, TimeProvider.System);
        var store = EngineFixture.NewStoreName("relink");
        await queue.EnqueueAsync(store, DateTimeOffset.UtcNow.AddSeconds(-1));
        var claimedAt = Stopwatch.GetTimestamp();
        var lease = (await queue.ClaimAsync("replica-a", 1, TimeSpan.FromMinutes(1))).Single();
        // TTL 60 s: the next renewal tick is 20 s away; only the reconnection can make the keeper look sooner.
        await using var keeper = new LeaseKeeper(lease, queue, TimeSpan.FromMinutes(1), TimeProvider.System, NullLogger.Instance, claimedAt, CancellationToken.None);

        // A failover that lost the lease: the key is gone, and every connection dropped (interactive and subscription).
        await redis.GetDatabase().KeyDeleteAsync(keys.Lease(store));
        var dropped = Stopwatch.StartNew();
        foreach (var type in new[] { "normal", "pubsub" })
        {
            (await Cli.RunAsync("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", fixture.Redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "CLIENT", "KILL", "TYPE", type])).EnsureSuccessStatusCode();
        }

        await Eventually.WaitUntilAsync(() => Task.FromResult(keeper.Token.IsCancellationRequested), TimeSpan.FromSeconds(10), "the keeper to notice the lost lease after the reconnection");
        Assert.True(keeper.Lost);
        Assert.Throws<LeaseLapsedException>(keeper.EnsureHeld);
        Assert.True(dropped.Elapsed < TimeSpan.FromSeconds(15), $"noticed after {dropped.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task AfterARedisReconnection_NoNewStoreIsClaimed_ForOneLeaseTtl()
    {
        await using var plane = fixture.StartControlPlane(new Dictionary<string, string?> { ["Storefleet:Engine:LeaseTtl"] = "00:00:05" });
        (await plane.CreateClient().GetAsync("/healthz")).EnsureSuccessStatusCode();
        await Eventually.WaitUntilAsync(() => Task.FromResult(plane.Activity.ClaimAttempts > 0), TimeSpan.FromSeconds(30), "the engine to poll its queue");
        var name = EngineFixture.NewStoreName("hold");

        var killedAt = DateTimeOffset.UtcNow;
        foreach (var type in new[] { "normal", "pubsub" })
        {
            (await Cli.RunAsync("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", fixture.Redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "CLIENT", "KILL", "TYPE", type])).EnsureSuccessStatusCode();
        }

        var http = plane.CreateClient();
        await Eventually.WaitUntilAsync(async () =>
        {
            var answer = await System.Net.Http.Json.HttpClientJsonExtensions.PostAsJsonAsync(http, "/api/v1/stores", new { name });
            return answer.StatusCode is System.Net.HttpStatusCode.Created or System.Net.HttpStatusCode.OK
                || (answer.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable ? false : throw new GiveUpException($"create answered {(int)answer.StatusCode}"));
        }, TimeSpan.FromSeconds(30), "the create to be accepted after the reconnection (503 meanwhile)");
        var started = await Eventually.WaitForAsync(async () => (await plane.Repository.GetEventsAsync(name)).FirstOrDefault(e => e.Step == "start"),
            TimeSpan.FromSeconds(60), "provisioning to start");

        // Claimed no sooner than one lease TTL after the connection came back (which is after the kill).
        Assert.True(started!.Time - killedAt >= TimeSpan.FromSeconds(4.5), $"provisioning started {(started.Time - killedAt).TotalSeconds:0.0} s after the connections were killed");
    }
}

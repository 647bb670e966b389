using System.Net;
using System.Net.Http.Headers;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// Three replicas on one Redis enforce one budget per client: the rate limits (token buckets on Redis) and the
/// bad-token throttle (a sliding window on Redis) refuse a client spread over three replicas exactly as one replica would.
/// </summary>
public sealed class SharedLimitsTests : IAsyncLifetime
{
    private const int Budget = 20;
    private readonly string _adminToken = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";
    private RedisServerProcess _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServerProcess.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task AClientSpreadOverThreeReplicas_IsRefusedAtTheSameBudgetAsAgainstOne()
    {
        var alone = await AcceptedReadsAsync(replicas: 1);
        var spread = await AcceptedReadsAsync(replicas: 3);

        // The bucket refills one token every 3 s (20 a minute): a slow run may see one more.
        Assert.InRange(alone, Budget, Budget + 1);
        Assert.InRange(spread, Budget, Budget + 1);
    }

    [Fact]
    public async Task BadTokensPresentedToDifferentReplicas_AddUpToOneThrottle()
    {
        var replicas = Replicas(3, new Dictionary<string, string?> { ["Storefleet:Access:RateLimits:FailedSignInsPerMinute"] = "4" });
        try
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 6; i++)
            {
                statuses.Add((await Client(replicas[i % 3], $"sfat_guess{i}{Guid.NewGuid():N}").GetAsync("/api/v1/stores")).StatusCode);
            }

            var good = await Client(replicas[2], _adminToken).GetAsync("/api/v1/stores");

            Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
            Assert.Equal(HttpStatusCode.TooManyRequests, good.StatusCode); // even a right token waits out the throttle
            Assert.NotNull(good.Headers.RetryAfter);
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    private async Task<int> AcceptedReadsAsync(int replicas)
    {
        var factories = Replicas(replicas, new Dictionary<string, string?> { ["Storefleet:Access:RateLimits:ReadsPerMinute"] = Budget.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        try
        {
            var clients = factories.Select(f => Client(f, _adminToken)).ToArray();
            var accepted = 0;
            for (var i = 0; i < Budget + 10; i++)
            {
                var status = (await clients[i % clients.Length].GetAsync("/api/v1/stores")).StatusCode;
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"read {i} answered {(int)status}");
                accepted += status == HttpStatusCode.OK ? 1 : 0;
            }

            return accepted;
        }
        finally
        {
            foreach (var factory in factories)
            {
                await factory.DisposeAsync();
            }
        }
    }

    /// <summary>Replicas of one installation: the same Redis and key prefix.</summary>
    private List<StorefleetApiFactory> Replicas(int count, Dictionary<string, string?> settings)
    {
        settings["Storefleet:State:KeyPrefix"] = $"limits{Guid.NewGuid():N}:";
        settings["Storefleet:Access:BootstrapAdminToken"] = _adminToken;
        return [.. Enumerable.Range(0, count).Select(_ => new StorefleetApiFactory(_redis.ConnectionString, settings))];
    }

    private static HttpClient Client(StorefleetApiFactory factory, string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}

using System.Security.Claims;
using StackExchange.Redis;
using Storefleet.Core.Stores;
using Storefleet.Engine.Helm;
using Storefleet.Engine.Kubernetes;
using Storefleet.Engine.Reconciling;
using Storefleet.Server.Access;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Dashboard;

/// <summary>Where the browser connected from, for the audit trail of actions taken in the dashboard.</summary>
public sealed record DashboardClient(string Address);

/// <summary>
/// Store changes as a stream for open dashboards: one Redis subscription per process (the repository's
/// change channel, fed by every replica), fanned out to every circuit that listens.
/// </summary>
public sealed class StoreFeed : IDisposable
{
    private readonly IStoreRepository _repository;

    public StoreFeed(IStoreRepository repository)
    {
        _repository = repository;
        _repository.Changed += OnChanged;
    }

    /// <summary>Raised with the name of a store that changed (created, moved, deleted).</summary>
    public event Action<string>? Changed;

    public void Dispose() => _repository.Changed -= OnChanged;

    private void OnChanged(string name) => Changed?.Invoke(name);
}

/// <summary>What the status bar shows: Redis and cluster reachability, engine load.</summary>
public sealed record PlatformState(bool RedisReachable, string RedisMessage, bool ClusterReachable, string ClusterMessage, int HelmRunning, int HelmLimit, int ActiveReconciles);

public sealed class PlatformStatus(IConnectionMultiplexer redis, ClusterConnection cluster, HelmRunner helm, EngineActivity activity)
{
    public async Task<PlatformState> ReadAsync()
    {
        bool redisUp;
        string redisMessage;
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2));
            redisUp = true;
            redisMessage = $"Redis answered in {latency.TotalMilliseconds:0.#} ms";
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            redisUp = false;
            redisMessage = $"Redis is unreachable ({e.Message}). Store data cannot be read or changed until it returns.";
        }

        var clusterState = cluster.State;
        return new PlatformState(redisUp, redisMessage, clusterState.Reachable, clusterState.Message, helm.Running, helm.Limit, activity.ActiveReconciles);
    }
}

public static class DashboardActors
{
    /// <summary>The actor of a dashboard session (the same rules as the API).</summary>
    public static Actor From(ClaimsPrincipal user) => ClaimsActorAccessor.From(user);

    public static bool CanWrite(this Actor actor) => actor.Role is Roles.Admin or Roles.Member;
}

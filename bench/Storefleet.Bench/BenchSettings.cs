using System.Globalization;
using Storefleet.Testing;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Bench;

/// <summary>The control plane's settings for benchmark runs: redis-server, the test double, the real helm, one fast client.</summary>
public static class BenchSettings
{
    public static Dictionary<string, string> ControlPlane(RedisServerProcess redis, KubeApiTestServer api, int concurrency) => new()
    {
        ["ConnectionStrings__Redis"] = redis.ConnectionString,
        ["Storefleet__State__KeyPrefix"] = $"bench{Guid.NewGuid():N}:",
        ["Storefleet__Engine__Kubeconfig"] = api.KubeconfigPath,
        ["Storefleet__Engine__HelmPath"] = RepositoryPaths.Helm,
        ["Storefleet__Engine__ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
        ["Storefleet__Engine__MaxConcurrentHelm"] = concurrency.ToString(CultureInfo.InvariantCulture),
        ["Logging__LogLevel__Default"] = "Warning",
        // The benchmark is one client creating stores as fast as it can: lift the per-client rate limits.
        ["Storefleet__Access__RateLimits__AnonymousRequestsPerMinute"] = "1000000",
        ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "1000000",
    };
}

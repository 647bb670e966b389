using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Storefleet.Engine.Kubernetes;

/// <summary>
/// The Kubernetes client, created on first use from the configured kubeconfig, <c>KUBECONFIG</c>,
/// <c>~/.kube/config</c> or the in-cluster service account, and the cluster's last known reachability.
/// With no configuration at all the engine keeps running: stores wait and say why.
/// </summary>
public sealed partial class ClusterConnection(IOptions<EngineOptions> options, ILogger<ClusterConnection> logger, TimeProvider clock, Telemetry.StorefleetMetrics? metrics = null) : IDisposable
{
    private readonly Lock _gate = new();
    private k8s.Kubernetes? _client;
    private string? _configurationError;

    /// <summary>Reachability as last seen by any call (for /readyz, the dashboard and store conditions).</summary>
    public ClusterState State { get; private set; } = new(false, "not contacted yet", clock.GetUtcNow());

    /// <summary>The client, or null with <paramref name="reason"/> when no cluster is configured.</summary>
    public IKubernetes? TryGetClient(out string reason)
    {
        lock (_gate)
        {
            if (_client is null && _configurationError is null)
            {
                try
                {
                    _client = metrics is null
                        ? new k8s.Kubernetes(LoadConfiguration(options.Value.Kubeconfig), new TransientRetryHandler())
                        : new k8s.Kubernetes(LoadConfiguration(options.Value.Kubeconfig), new Telemetry.KubeRequestMetricsHandler(metrics), new TransientRetryHandler());
                }
                catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or FileNotFoundException or InvalidOperationException or DirectoryNotFoundException)
                {
                    _configurationError = $"No Kubernetes cluster is configured ({e.Message}). Set KUBECONFIG or Storefleet:Engine:Kubeconfig, or run inside a cluster.";
                    LogNoCluster(logger, _configurationError);
                    State = new ClusterState(false, _configurationError, clock.GetUtcNow());
                }
            }

            reason = _configurationError ?? string.Empty;
            return _client;
        }
    }

    public void ReportReachable()
    {
        if (!State.Reachable)
        {
            State = new ClusterState(true, "reachable", clock.GetUtcNow());
            LogReachable(logger);
        }
    }

    public void ReportUnreachable(string reason)
    {
        if (State.Reachable || State.Message != reason)
        {
            State = new ClusterState(false, reason, clock.GetUtcNow());
            LogUnreachable(logger, reason);
        }
    }

    public void Dispose() => _client?.Dispose();

    private static KubernetesClientConfiguration LoadConfiguration(string? kubeconfig)
    {
        if (!string.IsNullOrWhiteSpace(kubeconfig))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment) || File.Exists(KubernetesClientConfiguration.KubeConfigDefaultLocation))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(fromEnvironment);
        }

        return KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : throw new FileNotFoundException("no kubeconfig found and not running in a cluster");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Reason}")]
    private static partial void LogNoCluster(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kubernetes cluster is reachable.")]
    private static partial void LogReachable(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kubernetes cluster is unreachable: {Reason}. Stores wait; work resumes when it returns.")]
    private static partial void LogUnreachable(ILogger logger, string reason);
}

/// <summary>Whether the cluster answered last time, and what it said.</summary>
public sealed record ClusterState(bool Reachable, string Message, DateTimeOffset Since);

using k8s;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Hosting;

/// <summary>
/// Is the Kubernetes API reachable? Degraded (not unhealthy) when it is not: the API and dashboard keep
/// serving and recording intent; stores wait and resume when the cluster returns.
/// </summary>
public sealed class ClusterHealthCheck(ClusterConnection cluster) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var client = cluster.TryGetClient(out var reason);
        if (client is null)
        {
            return HealthCheckResult.Degraded(reason);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            var version = await client.Version.GetCodeAsync(timeout.Token);
            cluster.ReportReachable();
            return HealthCheckResult.Healthy($"Kubernetes {version.GitVersion} is reachable.");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var message = KubeErrors.Describe(e);
            cluster.ReportUnreachable(message);
            return HealthCheckResult.Degraded($"The Kubernetes API is unreachable ({message}). Stores wait; check the kubeconfig or the cluster.");
        }
    }
}

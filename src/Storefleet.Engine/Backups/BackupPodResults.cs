using k8s;

namespace Storefleet.Engine.Backups;

/// <summary>What a backup or restore pod said about its run: the termination messages its containers left.</summary>
public static class BackupPodResults
{
    /// <summary>
    /// The result of the Job's latest pod: the first container that reported a failure, else the last that reported
    /// (the upload's snapshot); null when none left a result.
    /// </summary>
    public static async Task<BackupResult?> ReadAsync(IKubernetes client, string ns, string job, CancellationToken cancellationToken)
    {
        var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"batch.kubernetes.io/job-name={job}", cancellationToken: cancellationToken);
        var pod = pods.Items.OrderByDescending(p => p.Metadata.CreationTimestamp).FirstOrDefault();
        var messages = (pod?.Status?.InitContainerStatuses ?? []).Concat(pod?.Status?.ContainerStatuses ?? [])
            .Select(s => s.State?.Terminated?.Message ?? s.LastState?.Terminated?.Message)
            .Select(BackupJobs.Result)
            .OfType<BackupResult>()
            .ToList();
        return messages.FirstOrDefault(m => !m.Ok) ?? messages.LastOrDefault();
    }
}

using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Watches (never polls) the store namespaces' Pods, Deployments, StatefulSets, Jobs and PVCs, and the
/// namespaces themselves, across the cluster by label, and enqueues the store an event belongs to at
/// once — so readiness and pod problems reach the API within a reconcile of happening. A dropped or
/// expired watch is listed again and resumed.
/// </summary>
public sealed partial class ClusterWatcher(
    ClusterConnection cluster,
    IWorkQueue queue,
    CronRunReporter cronRuns,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<ClusterWatcher> logger) : BackgroundService
{
    private const string StoreObjects = "app.kubernetes.io/name=store";
    private static readonly string StoreNamespaces = $"{StoreClusterNames.ManagedByLabel}={StoreClusterNames.ManagedByValue}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(
        FlushLoopAsync(stoppingToken),
        WatchLoopAsync<V1Pod, V1PodList>("pods", (c, rv, w, ct) => c.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: w ? true : null, timeoutSeconds: w ? 600 : null, cancellationToken: ct), stoppingToken),
        WatchLoopAsync<V1Deployment, V1DeploymentList>("deployments", (c, rv, w, ct) => c.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: w ? true : null, timeoutSeconds: w ? 600 : null, cancellationToken: ct), stoppingToken),
        WatchLoopAsync<V1StatefulSet, V1StatefulSetList>("statefulsets", (c, rv, w, ct) => c.AppsV1.ListStatefulSetForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: w ? true : null, timeoutSeconds: w ? 600 : null, cancellationToken: ct), stoppingToken),
        WatchLoopAsync<V1Job, V1JobList>("jobs", (c, rv, w, ct) => c.BatchV1.ListJobForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: w ? true : null, timeoutSeconds: w ? 600 : null, cancellationToken: ct), stoppingToken),
        WatchLoopAsync<V1PersistentVolumeClaim, V1PersistentVolumeClaimList>("persistentvolumeclaims", (c, rv, w, ct) => c.CoreV1.ListPersistentVolumeClaimForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: w ? true : null, timeoutSeconds: w ? 600 : null, cancellationToken: ct), stoppingToken),
        WatchLoopAsync<V1Namespace, V1NamespaceList>("namespaces", (c, rv, w, ct) => c.CoreV1.ListNamespaceWithHttpMessagesAsync(labelSelector: StoreNamespaces, resourceVersion: rv, watch: w, allowWatchBookmarks: w ? true : null, timeoutSeconds: w ? 600 : null, cancellationToken: ct), stoppingToken));

    private delegate Task<HttpOperationResponse<TList>> ListCall<TList>(IKubernetes client, string? resourceVersion, bool watch, CancellationToken cancellationToken);

    private async Task WatchLoopAsync<T, TList>(string resource, ListCall<TList> list, CancellationToken stoppingToken)
        where T : IKubernetesObject<V1ObjectMeta>
        where TList : IKubernetesObject<V1ListMeta>, IItems<T>
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            var client = cluster.TryGetClient(out _);
            if (client is null)
            {
                await Task.Delay(options.Value.ClusterRetryDelay, clock, stoppingToken);
                continue;
            }

            try
            {
                // List first (enqueueing every store seen: events may have been missed), then watch from there.
                using var listed = await list(client, null, false, stoppingToken);
                foreach (var item in listed.Body.Items)
                {
                    await EnqueueAsync(item);
                }

                var resourceVersion = listed.Body.Metadata.ResourceVersion;
                cluster.ReportReachable();
                var watchStarted = clock.GetTimestamp();
                Exception? watchError = null;
#pragma warning disable CS0618 // The replacement (per-resource WatchListAsync clients) has no all-namespaces form with our label selector for every kind.
                var events = list(client, resourceVersion, true, stoppingToken).WatchAsync<T, TList>(e => watchError = e, stoppingToken);
#pragma warning restore CS0618
                await foreach (var (type, item) in events)
                {
                    if (type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted)
                    {
                        await EnqueueAsync(item);
                    }
                }

                if (watchError is not null)
                {
                    LogWatchEnded(logger, resource, watchError.Message);
                }

                // A watch that ended cleanly (a proxy closing streams, the server's timeout) is listed again — but
                // not in a tight loop: a watch that lasted less than a second waits with backoff and jitter first.
                if (clock.GetElapsedTime(watchStarted) < TimeSpan.FromSeconds(1))
                {
                    await Task.Delay(Jittered(delay), clock, stoppingToken);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, options.Value.ClusterRetryDelay.TotalMilliseconds));
                }
                else
                {
                    delay = TimeSpan.FromMilliseconds(200);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (KubeErrors.IsUnreachable(e))
                {
                    cluster.ReportUnreachable(KubeErrors.Describe(e));
                }

                LogWatchFailed(logger, resource, KubeErrors.Describe(e), delay.TotalMilliseconds);
                await Task.Delay(Jittered(delay), clock, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, options.Value.ClusterRetryDelay.TotalMilliseconds));
            }
        }
    }

    private static TimeSpan Jittered(TimeSpan delay) => delay * (0.8 + (Random.Shared.NextDouble() * 0.4));

    /// <summary>
    /// Collects the store an event belongs to; a flusher enqueues each collected store once. A burst of
    /// events for one store (a rollout touches pods, ReplicaSets, the Deployment...) becomes one enqueue.
    /// </summary>
    private Task EnqueueAsync(IKubernetesObject<V1ObjectMeta> item)
    {
        var store = StoreOf(item);
        if (store is not null && item is V1Job job && CronRunReporter.IsFailedCronRun(job))
        {
            return cronRuns.ReportAsync(job, store, CancellationToken.None);
        }

        if (store is not null && _pending.TryAdd(store, 0))
        {
            _flush.Writer.TryWrite(true);
        }

        return Task.CompletedTask;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _pending = new();
    private readonly System.Threading.Channels.Channel<bool> _flush = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });

    private async Task FlushLoopAsync(CancellationToken stoppingToken)
    {
        await foreach (var signal in _flush.Reader.ReadAllAsync(stoppingToken))
        {
            foreach (var store in _pending.Keys)
            {
                _pending.TryRemove(store, out _);
                try
                {
                    await queue.EnqueueAsync(store, clock.GetUtcNow(), stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The periodic resync enqueues the store anyway.
                    LogEnqueueFailed(logger, store, e.Message);
                }
            }
        }
    }

    private string? StoreOf(IKubernetesObject<V1ObjectMeta> item)
    {
        var labels = item.Metadata?.Labels ?? new Dictionary<string, string>();
        if (item is V1Namespace)
        {
            return labels.TryGetValue(StoreClusterNames.StoreLabel, out var owner) ? owner : null;
        }

        var ns = item.Metadata?.NamespaceProperty;
        var prefix = options.Value.NamespacePrefix;
        return labels.TryGetValue("app.kubernetes.io/instance", out var instance) ? instance
            : (ns is not null && ns.StartsWith(prefix, StringComparison.Ordinal) ? ns[prefix.Length..] : null);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Watch of {Resource} ended ({Reason}); listing again.")]
    private static partial void LogWatchEnded(ILogger logger, string resource, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watch of {Resource} failed ({Reason}); retrying in {DelayMs} ms.")]
    private static partial void LogWatchFailed(ILogger logger, string resource, string reason, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not enqueue store {Store} after a cluster event ({Reason}); the resync will.")]
    private static partial void LogEnqueueFailed(ILogger logger, string store, string reason);
}

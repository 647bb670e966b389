using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Watching;

/// <summary>
/// The engine's watch caches of every store namespace (informers, see <see cref="ResourceCache{T, TList, TView}"/>):
/// the namespaces themselves, the release's objects (label <c>app.kubernetes.io/name=store</c>), pods and claims,
/// helm's release records and the credentials Secrets (metadata only). A live store is observed from here alone —
/// no request per store — and any change to one of its objects reports the store at once.
/// </summary>
public sealed class StoreCaches
{
    private const string StoreObjects = "app.kubernetes.io/name=store";
    private const string Metadata = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    private const string MetadataWatch = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    private static readonly string StoreNamespaces = $"{StoreClusterNames.ManagedByLabel}={StoreClusterNames.ManagedByValue}";

    private readonly List<IResourceCache> _all = [];
    private readonly EngineOptions _options;
    private readonly TimeProvider _clock;

    public StoreCaches(ClusterConnection cluster, IOptions<EngineOptions> options, TimeProvider clock, ILogger<StoreCaches> logger)
    {
        _options = options.Value;
        _clock = clock;
        ResourceCache<T, TList, TView> Add<T, TList, TView>(string resource, ListCall<TList> call, Func<T, TView> project)
            where T : IKubernetesObject<V1ObjectMeta>
            where TList : IKubernetesObject<V1ListMeta>, IItems<T>
            where TView : ICachedObject
        {
            var cache = new ResourceCache<T, TList, TView>(resource, call, project, cluster, clock, logger);
            cache.Changed += (ns, item) => OnChanged(ns, item);
            _all.Add(cache);
            return cache;
        }

        Namespaces = Add<V1Namespace, V1NamespaceList, CachedNamespace>("namespaces",
            (c, rv, w, next, ct) => c.CoreV1.ListNamespaceWithHttpMessagesAsync(labelSelector: StoreNamespaces, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
            CachedNamespace.From);
        Pods = Add<V1Pod, V1PodList, CachedPod>("pods",
            (c, rv, w, next, ct) => c.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
            CachedPod.From);
        Deployments = Add<V1Deployment, V1DeploymentList, CachedWorkload>("deployments",
            (c, rv, w, next, ct) => c.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
            CachedWorkload.From);
        StatefulSets = Add<V1StatefulSet, V1StatefulSetList, CachedWorkload>("statefulsets",
            (c, rv, w, next, ct) => c.AppsV1.ListStatefulSetForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
            CachedWorkload.From);
        Claims = Add<V1PersistentVolumeClaim, V1PersistentVolumeClaimList, CachedClaim>("persistentvolumeclaims",
            (c, rv, w, next, ct) => c.CoreV1.ListPersistentVolumeClaimForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
            CachedClaim.From);
        Jobs = Add<V1Job, V1JobList, CachedObject>("jobs",
            (c, rv, w, next, ct) => c.BatchV1.ListJobForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
            j => CachedObject.From("Job", j.Metadata));
        Objects = new Dictionary<string, Func<string, IReadOnlyCollection<CachedObject>>>(StringComparer.Ordinal)
        {
            ["Service"] = Add<V1Service, V1ServiceList, CachedObject>("services",
                (c, rv, w, next, ct) => c.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                s => CachedObject.From("Service", s.Metadata)).InNamespace,
            ["Ingress"] = Add<V1Ingress, V1IngressList, CachedObject>("ingresses",
                (c, rv, w, next, ct) => c.NetworkingV1.ListIngressForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                i => CachedObject.From("Ingress", i.Metadata)).InNamespace,
            ["NetworkPolicy"] = Add<V1NetworkPolicy, V1NetworkPolicyList, CachedObject>("networkpolicies",
                (c, rv, w, next, ct) => c.NetworkingV1.ListNetworkPolicyForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                p => CachedObject.From("NetworkPolicy", p.Metadata)).InNamespace,
            ["ResourceQuota"] = Add<V1ResourceQuota, V1ResourceQuotaList, CachedObject>("resourcequotas",
                (c, rv, w, next, ct) => c.CoreV1.ListResourceQuotaForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                q => CachedObject.From("ResourceQuota", q.Metadata)).InNamespace,
            ["LimitRange"] = Add<V1LimitRange, V1LimitRangeList, CachedObject>("limitranges",
                (c, rv, w, next, ct) => c.CoreV1.ListLimitRangeForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                l => CachedObject.From("LimitRange", l.Metadata)).InNamespace,
            ["ConfigMap"] = Add<V1ConfigMap, V1ConfigMapList, CachedObject>("configmaps",
                (c, rv, w, next, ct) => c.CoreV1.ListConfigMapForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                m => CachedObject.From("ConfigMap", m.Metadata)).InNamespace,
            ["ServiceAccount"] = Add<V1ServiceAccount, V1ServiceAccountList, CachedObject>("serviceaccounts",
                (c, rv, w, next, ct) => c.CoreV1.ListServiceAccountForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                a => CachedObject.From("ServiceAccount", a.Metadata)).InNamespace,
            ["CronJob"] = Add<V1CronJob, V1CronJobList, CachedObject>("cronjobs",
                (c, rv, w, next, ct) => c.BatchV1.ListCronJobForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreObjects, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, cancellationToken: ct),
                j => CachedObject.From("CronJob", j.Metadata)).InNamespace,
            ["Deployment"] = ns => [.. Deployments.InNamespace(ns).Select(d => d.Identity)],
            ["StatefulSet"] = ns => [.. StatefulSets.InNamespace(ns).Select(s => s.Identity)],
            ["PersistentVolumeClaim"] = ns => [.. Claims.InNamespace(ns).Select(c => c.Identity)],
        };
        ReleaseRecords = Add<V1Secret, V1SecretList, CachedSecret>("secrets (helm release records)",
            (c, rv, w, next, ct) => c.CoreV1.ListSecretForAllNamespacesWithHttpMessagesAsync(labelSelector: "owner=helm", resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, customHeaders: MetadataOnly(w), cancellationToken: ct),
            CachedSecret.From);
        Credentials = Add<V1Secret, V1SecretList, CachedSecret>("secrets (store credentials)",
            (c, rv, w, next, ct) => c.CoreV1.ListSecretForAllNamespacesWithHttpMessagesAsync(labelSelector: StoreNamespaces, resourceVersion: rv, watch: w, allowWatchBookmarks: Bookmarks(w), timeoutSeconds: Timeout(w), limit: PageSize(w), continueParameter: next, customHeaders: MetadataOnly(w), cancellationToken: ct),
            CachedSecret.From);
    }

    public ResourceCache<V1Namespace, V1NamespaceList, CachedNamespace> Namespaces { get; }

    public ResourceCache<V1Pod, V1PodList, CachedPod> Pods { get; }

    public ResourceCache<V1Deployment, V1DeploymentList, CachedWorkload> Deployments { get; }

    public ResourceCache<V1StatefulSet, V1StatefulSetList, CachedWorkload> StatefulSets { get; }

    public ResourceCache<V1PersistentVolumeClaim, V1PersistentVolumeClaimList, CachedClaim> Claims { get; }

    public ResourceCache<V1Job, V1JobList, CachedObject> Jobs { get; }

    public ResourceCache<V1Secret, V1SecretList, CachedSecret> ReleaseRecords { get; }

    public ResourceCache<V1Secret, V1SecretList, CachedSecret> Credentials { get; }

    /// <summary>The release's objects in a namespace by kind (as helm's manifest names kinds).</summary>
    public IReadOnlyDictionary<string, Func<string, IReadOnlyCollection<CachedObject>>> Objects { get; }

    public IReadOnlyList<IResourceCache> All => _all;

    /// <summary>Every cache has listed: a live store can be judged from them.</summary>
    public bool Synced => _all.All(c => c.Synced);

    /// <summary>A store's object (or namespace) changed: the store's name, and the raw object when the change carried one.</summary>
    public event Action<string, object?>? StoreChanged;

    public Task RunAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_all.Select(c => c.RunAsync(_options.ClusterRetryDelay, stoppingToken)).Append(CompactAfterFirstSyncAsync(stoppingToken)));

    /// <summary>
    /// The first lists of a large fleet leave tens of megabytes of garbage (whole pages of objects, of which the caches
    /// keep a small projection) that the GC would otherwise keep committed for the life of the process: once every
    /// cache has listed, one aggressive collection returns it to the system.
    /// </summary>
    private async Task CompactAfterFirstSyncAsync(CancellationToken stoppingToken)
    {
        while (!Synced)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), _clock, stoppingToken);
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>The store a namespace belongs to (store namespaces are <c>&lt;prefix&gt;&lt;store&gt;</c>).</summary>
    public string? StoreOf(string ns) =>
        ns.StartsWith(_options.NamespacePrefix, StringComparison.Ordinal) && ns.Length > _options.NamespacePrefix.Length ? ns[_options.NamespacePrefix.Length..] : null;

    private void OnChanged(string ns, object? item)
    {
        var store = StoreOf(ns);
        if (store is not null)
        {
            StoreChanged?.Invoke(store, item);
        }
    }

    private static bool? Bookmarks(bool watch) => watch ? true : null;

    /// <summary>Lists arrive 500 objects a page (client-go's reflector's page size); watches are not paged.</summary>
    private static int? PageSize(bool watch) => watch ? null : 500;

    /// <summary>Watches end after 5–10 minutes (jittered, so many replicas never re-watch together), as client-go's reflector does.</summary>
    private static int? Timeout(bool watch) => watch ? 300 + Random.Shared.Next(300) : null;

    private static Dictionary<string, IReadOnlyList<string>> MetadataOnly(bool watch) => new() { ["Accept"] = [watch ? MetadataWatch : Metadata] };
}

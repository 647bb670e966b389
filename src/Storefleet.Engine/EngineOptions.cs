using System.ComponentModel.DataAnnotations;

namespace Storefleet.Engine;

/// <summary>
/// The provisioning engine's settings (<c>Storefleet:Engine</c>). Every default works for the README's run
/// command from the repository root; the container image sets the paths.
/// </summary>
public sealed class EngineOptions
{
    public const string SectionName = "Storefleet:Engine";

    /// <summary>Run the engine in this process (the API alone still records intent when false).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>This instance's name in leases and logs; default host name + process id.</summary>
    public string? InstanceId { get; set; }

    /// <summary>Store namespaces are <c>&lt;prefix&gt;&lt;store&gt;</c>.</summary>
    [RegularExpression("^[a-z0-9]([-a-z0-9]*)?$")]
    [MaxLength(20)]
    public string NamespacePrefix { get; set; } = "store-";

    /// <summary>Directory holding the engine charts (<c>store/</c>); default: <c>charts</c> found above the working directory.</summary>
    public string? ChartsDirectory { get; set; }

    /// <summary>
    /// Values files applied before the engine's own values, relative to the chart directory or absolute.
    /// Empty (the default) means the chart's <c>values-local.yaml</c>.
    /// </summary>
    public List<string> ValuesFiles { get; set; } = [];

    /// <summary>The helm 4 binary; default: <c>.tools/bin/helm</c> found above the working directory, else <c>helm</c> on PATH.</summary>
    public string? HelmPath { get; set; }

    /// <summary>Kubeconfig file; default: <c>KUBECONFIG</c>, <c>~/.kube/config</c>, or the in-cluster service account.</summary>
    public string? Kubeconfig { get; set; }

    [Range(1, 64)]
    public int MaxConcurrentHelm { get; set; } = 4;

    [Range(1, 256)]
    public int MaxConcurrentReconciles { get; set; } = 16;

    /// <summary>helm's own <c>--timeout</c>; the process is killed a little after it.</summary>
    public TimeSpan HelmTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a step of Provisioning or Bootstrapping may wait for progress before the store fails. The clock
    /// restarts at every successful step and stops while the cluster is unreachable (see ProgressClock).
    /// </summary>
    public TimeSpan PhaseTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long a step that moves a store's data may take (a restore's safety backup and restore Job, a clone's bootstrap):
    /// longer than those Jobs' own deadlines (backup.activeDeadlineSeconds, 2 h, plus the bootstrap's), so their failure is seen first.
    /// </summary>
    public TimeSpan DataJobTimeout { get; set; } = TimeSpan.FromMinutes(150);

    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Every store with work left is looked at again at least this often (watch events come sooner).</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Failed attempts of one step before the store is Failed.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>
    /// A release left pending-* is recovered only once its revision is older than <see cref="HelmTimeout"/> plus this
    /// (measured by the API server's clock): by then the helm that wrote it has ended or been killed.
    /// </summary>
    public TimeSpan PendingReleaseGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Age after which a pending-* release is taken to have no live writer.</summary>
    public TimeSpan StalePendingReleaseAfter => HelmTimeout + PendingReleaseGrace;

    /// <summary>
    /// The longest a healthy engine leaves a waiting store unobserved (twice the resync interval, plus a lease);
    /// a longer gap between two looks was an outage and counts only this much against the phase timeout.
    /// </summary>
    public TimeSpan MaxObservationGap => (ResyncInterval * 2) + LeaseTtl;

    /// <summary>A namespace Terminating longer than this has its blocking conditions surfaced as events.</summary>
    public TimeSpan NamespaceStuckAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often an unreachable cluster is tried again.</summary>
    public TimeSpan ClusterRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Pod Security level enforced on store namespaces.</summary>
    [RegularExpression("^(restricted|baseline|privileged)$")]
    public string PodSecurityLevel { get; set; } = "restricted";

    /// <summary>
    /// Every live (Ready or Degraded) store is looked at again at least this often, each at its own moment within the
    /// interval (never all at once). Watch events bring changes much sooner; this catches anything an event missed.
    /// </summary>
    public TimeSpan SteadyResyncInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a live store's workloads may be unavailable (a rollout, a restart) before it is Degraded.</summary>
    public TimeSpan DegradedAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Drift repair: backoff, the hourly limit, and which field managers' writes are not drift.</summary>
    public DriftOptions Drift { get; set; } = new();

    /// <summary>
    /// The warm pool's size per plan (<c>Storefleet:Engine:WarmPool:small=3</c>): that many idle, fully provisioned stores
    /// wait to be claimed by creates of that plan. Absent or 0: none (every store is provisioned from scratch).
    /// </summary>
    public Dictionary<string, int> WarmPool { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How the warm pool is kept: how often, and how many members may be provisioned at once.</summary>
    public WarmPoolKeeping WarmPoolKeeping { get; set; } = new();

    /// <summary>The configured pool size of <paramref name="plan"/> (0 when none or negative).</summary>
    public int PoolSize(string plan) => WarmPool.TryGetValue(plan, out var size) && size > 0 ? size : 0;
}

/// <summary>How the warm pool is kept (<c>Storefleet:Engine:WarmPoolKeeping</c>).</summary>
public sealed class WarmPoolKeeping
{
    /// <summary>How often the keeper looks at the pool (also right after a claim on this replica).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Members provisioned (or recycled) at once, fleet-wide: replenishing never takes more of the helm budget than this,
    /// and waits while people's stores wait for a worker.
    /// </summary>
    [Range(1, 16)]
    public int MaxProvisioning { get; set; } = 1;
}

/// <summary>How the engine repairs live stores that drift from what it applied (<c>Storefleet:Engine:Drift</c>).</summary>
public sealed class DriftOptions
{
    /// <summary>The wait after a repair before the next one; doubles with each repair within the hour.</summary>
    public TimeSpan RepairBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Repairs of one store within an hour after which repair pauses (condition DriftPersistent) until a person retries.</summary>
    [Range(1, 1000)]
    public int MaxRepairsPerHour { get; set; } = 5;

    /// <summary>
    /// Field managers whose writes to a release's objects are the cluster's own business, never drift: the controllers
    /// (kube-controller-manager; k3s runs them as "k3s"). Storefleet's own managers ("helm", "storefleet") never count.
    /// </summary>
    public List<string> IgnoredFieldManagers { get; set; } = ["kube-controller-manager", "k3s", "kube-scheduler", "kubelet"];
}

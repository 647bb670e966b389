namespace Storefleet.Testing.KubeApi.Simulation;

/// <summary>How a pod of the simulation misbehaves.</summary>
public enum PodFault
{
    ImagePullBackOff,
    CrashLoopBackOff,
    Unschedulable,

    /// <summary>The container is killed for exceeding its memory limit, again and again (last state OOMKilled, exit 137, then CrashLoopBackOff).</summary>
    OOMKilled,
}

/// <summary>
/// Knobs of the workload simulation (a stand-in for kubelet and the controllers). Thread-safe to
/// change while the server runs; changes apply to the next reconcile of each workload.
/// </summary>
public sealed class SimulationSettings
{
    private readonly object _gate = new();
    private readonly List<(string? Namespace, string? ImageContains, PodFault Fault)> _podFaults = [];
    private readonly List<(string Namespace, string? JobNameSearch, string[] LogLines)> _jobFailures = [];
    private readonly HashSet<string> _heldNamespaces = new(StringComparer.Ordinal);
    private readonly List<(string Namespace, string JobNameSearch)> _heldJobs = [];
    private readonly List<(string? Namespace, string JobNameSearch, string Container, string Message)> _terminationMessages = [];

    /// <summary>Time from a workload change until its pods are ready (and Jobs complete, PVCs bind).</summary>
    public TimeSpan ReadyDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Extra time a Job takes to finish, on top of <see cref="ReadyDelay"/> (e.g. to watch a bootstrap run).</summary>
    public TimeSpan JobDuration { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long one Job takes to finish, by the Job (null: <see cref="ReadyDelay"/> + <see cref="JobDuration"/>): e.g. a
    /// benchmark giving a store's first bootstrap and a warm-pool personalisation their realistic proportions.
    /// </summary>
    public Func<System.Text.Json.Nodes.JsonObject, TimeSpan?>? JobDurationFor { get; set; }

    /// <summary>
    /// While true the simulated controllers ignore changes (objects written meanwhile keep exactly the status they were
    /// written with) — for seeding a large fleet in a known state quickly, e.g. the idle benchmark's thousand stores.
    /// </summary>
    public bool Paused { get; set; }

    /// <summary>Time a deleted namespace stays Terminating before its contents and itself are removed.</summary>
    public TimeSpan NamespaceDeletionDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Pods in <paramref name="ns"/> (null: any) whose images contain <paramref name="imageContains"/> (null: any) get
    /// <paramref name="fault"/> — running pods too, at once (as a container that starts failing).
    /// </summary>
    public void AddPodFault(PodFault fault, string? ns = null, string? imageContains = null)
    {
        lock (_gate)
        {
            _podFaults.Add((ns, imageContains, fault));
        }

        PodFaultsChanged?.Invoke(ns);
    }

    /// <summary>The pod faults of <paramref name="ns"/> clear: its pods recover, as after a fix.</summary>
    public void RemovePodFaults(string ns)
    {
        lock (_gate)
        {
            _podFaults.RemoveAll(f => f.Namespace == ns);
        }

        PodFaultsChanged?.Invoke(ns);
    }

    /// <summary>Pod faults were added or removed (the namespace, or null for all).</summary>
    public event Action<string?>? PodFaultsChanged;

    /// <summary>Jobs in <paramref name="ns"/> whose name contains <paramref name="jobNameSearch"/> (null: any) fail, logging <paramref name="logLines"/>.</summary>
    public void FailJobs(string ns, string? jobNameSearch = null, params string[] logLines)
    {
        lock (_gate)
        {
            _jobFailures.Add((ns, jobNameSearch, logLines.Length > 0 ? logLines : ["Error: simulated failure"]));
        }
    }

    /// <summary>
    /// The container <paramref name="container"/> of Jobs in <paramref name="ns"/> (null: any) whose name contains
    /// <paramref name="jobNameSearch"/> writes <paramref name="message"/> to its termination log (the pod status's
    /// <c>state.terminated.message</c>, as a kubelet reports it) when it finishes. The latest matching setting wins.
    /// </summary>
    public void SetTerminationMessage(string? ns, string jobNameSearch, string container, string message)
    {
        lock (_gate)
        {
            _terminationMessages.Add((ns, jobNameSearch, container, message));
        }
    }

    public string? TerminationMessageFor(string ns, string jobName, string container)
    {
        lock (_gate)
        {
            for (var i = _terminationMessages.Count - 1; i >= 0; i--)
            {
                var (n, job, c, message) = _terminationMessages[i];
                if ((n is null || n == ns) && c == container && jobName.Contains(job, StringComparison.Ordinal))
                {
                    return message;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Jobs in <paramref name="ns"/> whose names contain <paramref name="jobNameSearch"/> keep running (their pod Running)
    /// until <see cref="ReleaseJobs"/>: to look at a store while one runs, or to stop a control plane in the middle of one.
    /// </summary>
    public void HoldJobs(string ns, string jobNameSearch)
    {
        lock (_gate)
        {
            _heldJobs.Add((ns, jobNameSearch));
        }
    }

    /// <summary>Lets the held Jobs of <paramref name="ns"/> finish (as they would have: succeeded, or failed when told to).</summary>
    public void ReleaseJobs(string ns)
    {
        lock (_gate)
        {
            _heldJobs.RemoveAll(h => h.Namespace == ns);
        }

        JobsReleased?.Invoke(ns);
    }

    public event Action<string>? JobsReleased;

    public bool IsJobHeld(string ns, string jobName)
    {
        lock (_gate)
        {
            return _heldJobs.Any(h => h.Namespace == ns && jobName.Contains(h.JobNameSearch, StringComparison.Ordinal));
        }
    }

    /// <summary>Keeps a namespace Terminating after deletion until <see cref="ReleaseNamespace"/>.</summary>
    public void HoldNamespace(string ns)
    {
        lock (_gate)
        {
            _heldNamespaces.Add(ns);
        }
    }

    public void ReleaseNamespace(string ns)
    {
        lock (_gate)
        {
            _heldNamespaces.Remove(ns);
        }

        NamespaceReleased?.Invoke(ns);
    }

    public event Action<string>? NamespaceReleased;

    public void ClearFaults()
    {
        lock (_gate)
        {
            _podFaults.Clear();
            _jobFailures.Clear();
            _heldNamespaces.Clear();
            _heldJobs.Clear();
            _terminationMessages.Clear();
        }

        FaultsCleared?.Invoke();
    }

    public event Action? FaultsCleared;

    public bool IsHeld(string ns)
    {
        lock (_gate)
        {
            return _heldNamespaces.Contains(ns);
        }
    }

    public PodFault? PodFaultFor(string ns, IEnumerable<string> images)
    {
        lock (_gate)
        {
            var imageList = images.ToArray();
            foreach (var (n, image, fault) in _podFaults)
            {
                if ((n is null || n == ns) && (image is null || imageList.Any(i => i.Contains(image, StringComparison.Ordinal))))
                {
                    return fault;
                }
            }

            return null;
        }
    }

    public string[]? JobFailureFor(string ns, string jobName)
    {
        lock (_gate)
        {
            foreach (var (n, job, lines) in _jobFailures)
            {
                if (n == ns && (job is null || jobName.Contains(job, StringComparison.Ordinal)))
                {
                    return lines;
                }
            }

            return null;
        }
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Testing.KubeApi.Simulation;

/// <summary>
/// A stand-in for the kubelet and the workload controllers: Deployments get a ReplicaSet and Pods,
/// StatefulSets get Pods and their PVCs, Jobs run a Pod to completion (or failure), PVCs bind, and
/// each workload reports status that helm's kstatus and kubectl wait understand. Faults from
/// <see cref="SimulationSettings"/> turn into the pod states a real cluster shows.
/// </summary>
public sealed class WorkloadSimulator
{
    private readonly ObjectStore _store;
    private readonly ObjectWriter _writer;
    private readonly SimulationSettings _settings;
    private readonly ApiResource _pods;
    private readonly ApiResource _replicaSets;
    private readonly ApiResource _pvcs;
    private readonly ApiResource _namespaces;
    private readonly ApiResource _secrets;
    private readonly ApiResource _configMaps;
    private readonly ApiResource[] _workloads;

    // One reconcile at a time per object, as each controller works one object at a time: two concurrent reconciles of a
    // Deployment could otherwise create a pod for a ReplicaSet the other had just deleted (an orphan no real cluster keeps).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, object> _objectGates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string[]> _logs = new();
    private readonly CancellationToken _stopping;

    public WorkloadSimulator(ObjectStore store, ObjectWriter writer, ApiCatalog catalog, SimulationSettings settings, CancellationToken stopping)
    {
        _store = store;
        _writer = writer;
        _settings = settings;
        _stopping = stopping;
        _pods = catalog.Find(string.Empty, "v1", "pods")!;
        _replicaSets = catalog.Find("apps", "v1", "replicasets")!;
        _pvcs = catalog.Find(string.Empty, "v1", "persistentvolumeclaims")!;
        _namespaces = catalog.Find(string.Empty, "v1", "namespaces")!;
        _secrets = catalog.Find(string.Empty, "v1", "secrets")!;
        _configMaps = catalog.Find(string.Empty, "v1", "configmaps")!;
        _workloads = [catalog.Find("apps", "v1", "deployments")!, catalog.Find("apps", "v1", "statefulsets")!, catalog.Find("batch", "v1", "jobs")!];
        store.Changed += OnChanged;
        writer.NamespaceTerminating += ns => _ = Task.Run(() => TerminateNamespaceAsync(ns), CancellationToken.None);
        settings.FaultsCleared += () => ResyncAll();
        settings.JobsReleased += ns => ResyncNamespace(ns);
        settings.PodFaultsChanged += ns =>
        {
            if (ns is null)
            {
                ResyncAll();
            }
            else
            {
                ResyncNamespace(ns);
            }
        };
    }

    public IReadOnlyList<string> LogsFor(string ns, string pod) =>
        _logs.TryGetValue($"{ns}/{pod}", out var lines) ? lines : [$"simulated container log of pod {pod}"];

    /// <summary>Re-evaluates every workload (e.g. after faults were cleared).</summary>
    public void ResyncAll()
    {
        foreach (var resource in _workloads)
        {
            foreach (var obj in _store.List(resource, null).Items)
            {
                Schedule(resource, obj);
            }
        }
    }

    private void OnChanged(WatchEvent e)
    {
        if (_settings.Paused)
        {
            return;
        }

        switch (e.Resource.GroupResource)
        {
            case "deployments.apps" or "statefulsets.apps" or "jobs.batch" or "persistentvolumeclaims" when e.Type != "DELETED":
                Schedule(e.Resource, e.Object);
                break;
            case "pods" when e.Type == "ADDED" && (e.Object["metadata"]?["ownerReferences"] is null):
                Schedule(e.Resource, e.Object);
                break;
            case "pods" when e.Type == "DELETED":
            case "secrets" or "configmaps" or "serviceaccounts" or "resourcequotas" or "limitranges":
                // What kept pods from being created or starting (a quota, a missing Secret) may be gone: look again, as the controllers' resyncs do.
                if (e.Namespace is { } ns && !Terminating(ns))
                {
                    ResyncNamespace(ns);
                }

                break;
        }
    }

    private void ResyncNamespace(string ns)
    {
        foreach (var resource in _workloads)
        {
            foreach (var obj in _store.List(resource, ns).Items)
            {
                Schedule(resource, obj);
            }
        }
    }

    private void Schedule(ApiResource resource, JsonObject obj)
    {
        var ns = obj["metadata"]!["namespace"]!.GetValue<string>();
        var name = obj["metadata"]!["name"]!.GetValue<string>();
        var delay = resource.GroupResource == "jobs.batch"
            ? _settings.JobDurationFor?.Invoke(obj) ?? _settings.ReadyDelay + _settings.JobDuration
            : _settings.ReadyDelay;
        _ = Task.Run(async () =>
        {
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _stopping);
                }

                Reconcile(resource, ns, name);
            }
            catch (OperationCanceledException)
            {
                // Server stopping.
            }
        }, CancellationToken.None);
    }

    private void RetryLater(ApiResource resource, string ns, string name, TimeSpan delay) =>
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, _stopping);
                Reconcile(resource, ns, name);
            }
            catch (OperationCanceledException)
            {
                // Server stopping.
            }
        }, CancellationToken.None);

    private void Reconcile(ApiResource resource, string ns, string name)
    {
        lock (_objectGates.GetOrAdd($"{resource.GroupResource}/{ns}/{name}", _ => new object()))
        {
            ReconcileOne(resource, ns, name);
        }
    }

    private void ReconcileOne(ApiResource resource, string ns, string name)
    {
        var obj = _store.Get(resource, ns, name);
        if (obj is null || obj["metadata"]?["deletionTimestamp"] is not null || Terminating(ns))
        {
            return;
        }

        switch (resource.GroupResource)
        {
            case "deployments.apps":
                ReconcileDeployment(resource, obj);
                break;
            case "statefulsets.apps":
                ReconcileStatefulSet(resource, obj);
                break;
            case "jobs.batch":
                ReconcileJob(resource, obj);
                break;
            case "persistentvolumeclaims":
                Bind(ns, name);
                break;
            case "pods":
                RunBarePod(obj);
                break;
        }
    }

    /// <summary>
    /// A pod nobody owns (e.g. a helm test hook): restartPolicy Always runs and becomes Ready; Never or
    /// OnFailure runs to Succeeded, or to Failed with the log lines given to <see cref="SimulationSettings.FailJobs"/>.
    /// </summary>
    private void RunBarePod(JsonObject pod)
    {
        var (ns, name, _) = Identity(pod);
        if ((pod["spec"]?["restartPolicy"]?.GetValue<string>() ?? "Always") == "Always")
        {
            SetPodStatus(ns, name, "Running", ready: true, pod);
            return;
        }

        var failure = _settings.JobFailureFor(ns, name);
        _logs[$"{ns}/{name}"] = failure ?? [$"pod {name} finished (simulated)"];
        SetPodStatus(ns, name, failure is null ? "Succeeded" : "Failed", ready: false, pod, terminatedExitCode: failure is null ? 0 : 1);
    }

    private void ReconcileDeployment(ApiResource resource, JsonObject deployment)
    {
        var (ns, name, uid) = Identity(deployment);
        var replicas = JsonNumbers.Int(deployment["spec"]?["replicas"]) ?? 1;
        var template = deployment["spec"]!["template"]!.AsObject();
        var hash = Hash(template);
        var rsName = $"{name}-{hash}";
        var rsLabels = Labels(template);
        rsLabels["pod-template-hash"] = hash;

        foreach (var old in _store.OwnedBy(uid).Where(o => o.Resource.GroupResource == "replicasets.apps" && o.Object["metadata"]!["name"]!.GetValue<string>() != rsName))
        {
            _writer.Delete(old.Resource, ns, old.Object["metadata"]!["name"]!.GetValue<string>(), dryRun: false, orphan: false);
        }

        var rs = _store.Get(_replicaSets, ns, rsName);
        if (rs is null)
        {
            var rsTemplate = (JsonObject)template.DeepClone();
            rsTemplate["metadata"] ??= new JsonObject();
            rsTemplate["metadata"]!["labels"] = (JsonObject)rsLabels.DeepClone();
            var selector = (JsonObject)(deployment["spec"]!["selector"]?.DeepClone() ?? new JsonObject());
            selector["matchLabels"] ??= new JsonObject();
            selector["matchLabels"]!["pod-template-hash"] = hash;
            _writer.Create(_replicaSets, ns, new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["name"] = rsName,
                    ["labels"] = (JsonObject)rsLabels.DeepClone(),
                    ["ownerReferences"] = Owner("apps/v1", "Deployment", name, uid),
                },
                ["spec"] = new JsonObject { ["replicas"] = replicas, ["selector"] = selector, ["template"] = rsTemplate },
            }, WriteOptions.Controller);
            rs = _store.Get(_replicaSets, ns, rsName);
        }

        if (rs is null)
        {
            return;
        }

        MarkRevision(resource, ns, name, hash);
        var (ready, total, createFailure) = EnsurePods(ns, rs, template, rsLabels, replicas, ordinal: false);
        var generation = JsonNumbers.Long(deployment["metadata"]!["generation"]) ?? 1;
        var available = ready >= replicas;
        var now = _writer.Timestamp();
        SetStatus(_replicaSets, ns, rsName, new JsonObject
        {
            ["replicas"] = total,
            ["fullyLabeledReplicas"] = total,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["observedGeneration"] = JsonNumbers.Long(rs["metadata"]!["generation"]) ?? 1,
        });
        SetStatus(resource, ns, name, new JsonObject
        {
            ["observedGeneration"] = generation,
            ["replicas"] = total,
            ["updatedReplicas"] = total,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["unavailableReplicas"] = Math.Max(0, replicas - ready),
            ["conditions"] = DeploymentConditions(available, rsName, createFailure, now),
        });
    }

    /// <summary>
    /// The deployment controller's revision annotation, written as a real cluster writes it: an update by the manager
    /// "kube-controller-manager" (so the object's managedFields show a second manager, as they do on a real server).
    /// </summary>
    private void MarkRevision(ApiResource resource, string ns, string name, string templateHash)
    {
        _store.Update(resource, ns, name, deployment =>
        {
            var annotations = deployment["metadata"]!["annotations"] as JsonObject;
            var hashes = _revisions.AddOrUpdate($"{ns}/{name}", _ => [templateHash], (_, seen) => seen.Contains(templateHash) ? seen : [.. seen, templateHash]);
            var revision = (Array.IndexOf(hashes, templateHash) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (annotations?["deployment.kubernetes.io/revision"]?.GetValue<string>() == revision)
            {
                return null;
            }

            var before = (JsonObject)deployment.DeepClone();
            annotations ??= [];
            annotations["deployment.kubernetes.io/revision"] = revision;
            deployment["metadata"]!["annotations"] = annotations;
            var managed = FieldOwnership.Next(before, deployment, null, "kube-controller-manager", FieldOperation.Update, null, false, "apps/v1", _writer.Timestamp()).ManagedFields;
            deployment["metadata"]!.AsObject().Remove("managedFields");
            if (managed is not null)
            {
                deployment["metadata"]!["managedFields"] = managed;
            }

            return deployment;
        });
    }

    private readonly ConcurrentDictionary<string, string[]> _revisions = new();

    /// <summary>Available and Progressing, and ReplicaFailure (FailedCreate) while admission refuses its pods, as the deployment controller reports them.</summary>
    private static JsonArray DeploymentConditions(bool available, string rsName, string? createFailure, string now)
    {
        var conditions = new JsonArray(
            Condition("Available", available, available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                available ? "Deployment has minimum availability." : "Deployment does not have minimum availability.", now),
            Condition("Progressing", true, available ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                available ? $"ReplicaSet \"{rsName}\" has successfully progressed." : $"ReplicaSet \"{rsName}\" is progressing.", now));
        if (createFailure is not null)
        {
            conditions.Add(Condition("ReplicaFailure", true, "FailedCreate", createFailure, now));
        }

        return conditions;
    }

    private void ReconcileStatefulSet(ApiResource resource, JsonObject sts)
    {
        var (ns, name, _) = Identity(sts);
        var replicas = JsonNumbers.Int(sts["spec"]?["replicas"]) ?? 1;
        var template = sts["spec"]!["template"]!.AsObject();
        var revision = $"{name}-{Hash(template)}";
        var labels = Labels(template);
        labels["controller-revision-hash"] = revision;
        for (var i = 0; i < replicas; i++)
        {
            foreach (var claim in sts["spec"]?["volumeClaimTemplates"]?.AsArray() ?? [])
            {
                var claimName = $"{claim!["metadata"]!["name"]!.GetValue<string>()}-{name}-{i}";
                if (_store.Get(_pvcs, ns, claimName) is null)
                {
                    var pvc = new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["name"] = claimName, ["labels"] = (JsonObject)Labels(template).DeepClone() },
                        ["spec"] = claim["spec"]!.DeepClone(),
                    };
                    _writer.Create(_pvcs, ns, pvc, WriteOptions.Controller);
                }
            }
        }

        var (ready, total, _) = EnsurePods(ns, sts, template, labels, replicas, ordinal: true);
        SetStatus(resource, ns, name, new JsonObject
        {
            ["observedGeneration"] = JsonNumbers.Long(sts["metadata"]!["generation"]) ?? 1,
            ["replicas"] = total,
            ["readyReplicas"] = ready,
            ["currentReplicas"] = total,
            ["updatedReplicas"] = total,
            ["availableReplicas"] = ready,
            ["currentRevision"] = revision,
            ["updateRevision"] = revision,
            ["collisionCount"] = 0,
        });
    }

    private void ReconcileJob(ApiResource resource, JsonObject job)
    {
        var (ns, name, uid) = Identity(job);
        if (job["status"]?["conditions"] is JsonArray { Count: > 0 })
        {
            return;
        }

        if (job["spec"]?["suspend"]?.GetValue<bool>() == true)
        {
            // As the Job controller does: a suspended Job creates no pods until spec.suspend is set to false.
            return;
        }

        var template = job["spec"]!["template"]!.AsObject();
        var labels = Labels(template);
        labels["batch.kubernetes.io/job-name"] = name;
        labels["job-name"] = name;
        labels["batch.kubernetes.io/controller-uid"] = uid;
        labels["controller-uid"] = uid;
        var failure = _settings.JobFailureFor(ns, name);
        var podName = $"{name}-{Hash(new JsonObject { ["uid"] = uid })[..5]}";
        if (_store.Get(_pods, ns, podName) is null && CreatePod(ns, podName, template, labels, Owner("batch/v1", "Job", name, uid)) is not null)
        {
            // Refused at admission (quota, service account): the Job controller tries again after a backoff.
            RetryLater(resource, ns, name, TimeSpan.FromSeconds(1));
            return;
        }

        var now = _writer.Timestamp();
        if (ConfigErrors(ns, template) is { Count: > 0 } configErrors)
        {
            // As a kubelet does: the container never starts, the Job keeps waiting.
            SetPodStatus(ns, podName, "Pending", ready: false, template, configErrors: configErrors);
            SetStatus(resource, ns, name, new JsonObject { ["startTime"] = now, ["active"] = 1, ["ready"] = 0, ["terminating"] = 0, ["uncountedTerminatedPods"] = new JsonObject() });
            return;
        }

        if (_settings.IsJobHeld(ns, name))
        {
            // Held by the test: its pod runs until the Job is released.
            SetPodStatus(ns, podName, "Running", ready: true, template);
            SetStatus(resource, ns, name, new JsonObject { ["startTime"] = now, ["active"] = 1, ["ready"] = 1, ["terminating"] = 0, ["uncountedTerminatedPods"] = new JsonObject() });
            return;
        }

        _logs[$"{ns}/{podName}"] = failure ?? ["bootstrap finished (simulated)"];
        SetPodStatus(ns, podName, failure is null ? "Succeeded" : "Failed", ready: false, template, terminatedExitCode: failure is null ? 0 : 1,
            terminationMessage: container => _settings.TerminationMessageFor(ns, name, container));
        var backoffLimit = JsonNumbers.Int(job["spec"]?["backoffLimit"]) ?? 6;
        var status = failure is null
            ? new JsonObject
            {
                ["startTime"] = now,
                ["completionTime"] = now,
                ["succeeded"] = 1,
                ["ready"] = 0,
                ["terminating"] = 0,
                ["uncountedTerminatedPods"] = new JsonObject(),
                ["conditions"] = new JsonArray(
                    Condition("SuccessCriteriaMet", true, "CompletionsReached", "Reached expected number of succeeded pods", now),
                    Condition("Complete", true, "CompletionsReached", "Reached expected number of succeeded pods", now)),
            }
            : new JsonObject
            {
                ["startTime"] = now,
                ["failed"] = backoffLimit + 1,
                ["ready"] = 0,
                ["terminating"] = 0,
                ["uncountedTerminatedPods"] = new JsonObject(),
                ["conditions"] = new JsonArray(
                    Condition("FailureTarget", true, "BackoffLimitExceeded", "Job has reached the specified backoff limit", now),
                    Condition("Failed", true, "BackoffLimitExceeded", "Job has reached the specified backoff limit", now)),
            };
        SetStatus(resource, ns, name, status);
    }

    /// <summary>Creates and runs the owner's pods; <c>CreateFailure</c> is the admission refusal that kept one from being created.</summary>
    private (int Ready, int Total, string? CreateFailure) EnsurePods(string ns, JsonObject owner, JsonObject template, JsonObject labels, int replicas, bool ordinal)
    {
        string? createFailure = null;
        var (_, ownerName, ownerUid) = Identity(owner);
        var kind = owner["kind"]?.GetValue<string>() ?? (ordinal ? "StatefulSet" : "ReplicaSet");
        var existing = _store.OwnedBy(ownerUid).Where(o => o.Resource.GroupResource == "pods").Select(o => o.Object["metadata"]!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
        for (var i = existing.Count; i < replicas; i++)
        {
            var podName = ordinal ? $"{ownerName}-{i}" : $"{ownerName}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))[..5]}";
            if (ordinal && existing.Contains(podName))
            {
                continue;
            }

            if (CreatePod(ns, podName, template, labels, Owner("apps/v1", kind, ownerName, ownerUid)) is { } refused)
            {
                createFailure = refused;
                break;
            }

            existing.Add(podName);
        }

        foreach (var extra in existing.Skip(replicas).ToArray())
        {
            _writer.Delete(_pods, ns, extra, dryRun: false, orphan: false);
            existing.Remove(extra);
        }

        var images = template["spec"]?["containers"]?.AsArray().Select(c => c!["image"]?.GetValue<string>() ?? string.Empty).ToArray() ?? [];
        var fault = _settings.PodFaultFor(ns, images);
        var claimsBound = ClaimsBound(ns, template, ordinal ? ownerName : null);
        var configErrors = ConfigErrors(ns, template);
        var volumesMissing = VolumeSourcesMissing(ns, template);
        var ready = 0;
        foreach (var pod in existing.Take(replicas))
        {
            var podReady = fault is null && claimsBound && configErrors.Count == 0 && !volumesMissing;
            var running = fault != PodFault.Unschedulable && claimsBound && configErrors.Count == 0 && !volumesMissing;
            SetPodStatus(ns, pod, running ? "Running" : "Pending", podReady, template, fault: fault, pvcPending: !claimsBound, configErrors: configErrors, creating: volumesMissing);
            ready += podReady ? 1 : 0;
        }

        return (ready, Math.Min(existing.Count, replicas), createFailure);
    }

    /// <summary>
    /// Per container, why a kubelet could not build its configuration (CreateContainerConfigError): an
    /// env or envFrom reference to a Secret, ConfigMap or key that does not exist (and is not optional).
    /// </summary>
    private Dictionary<string, string> ConfigErrors(string ns, JsonObject template)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var container in (template["spec"]?["initContainers"]?.AsArray() ?? []).Concat(template["spec"]?["containers"]?.AsArray() ?? []).OfType<JsonObject>())
        {
            var name = container["name"]?.GetValue<string>() ?? string.Empty;
            string? error = null;
            foreach (var env in container["env"]?.AsArray() ?? [])
            {
                error ??= KeyReferenceError(ns, env?["valueFrom"]?["secretKeyRef"], _secrets, "Secret", "secret")
                    ?? KeyReferenceError(ns, env?["valueFrom"]?["configMapKeyRef"], _configMaps, "ConfigMap", "configmap");
            }

            foreach (var from in container["envFrom"]?.AsArray() ?? [])
            {
                error ??= ObjectReferenceError(ns, from?["secretRef"], _secrets, "secret") ?? ObjectReferenceError(ns, from?["configMapRef"], _configMaps, "configmap");
            }

            if (error is not null)
            {
                errors[name] = error;
            }
        }

        return errors;
    }

    private string? KeyReferenceError(string ns, JsonNode? reference, ApiResource resource, string kind, string noun)
    {
        if (reference is null || reference["optional"]?.GetValue<bool>() == true)
        {
            return null;
        }

        var name = reference["name"]?.GetValue<string>() ?? string.Empty;
        var key = reference["key"]?.GetValue<string>() ?? string.Empty;
        var obj = _store.Get(resource, ns, name);
        return obj is null ? $"{noun} \"{name}\" not found"
            : obj["data"]?[key] is null && obj["binaryData"]?[key] is null ? $"couldn't find key {key} in {kind} {ns}/{name}"
            : null;
    }

    private string? ObjectReferenceError(string ns, JsonNode? reference, ApiResource resource, string noun) =>
        reference is null || reference["optional"]?.GetValue<bool>() == true || _store.Get(resource, ns, reference["name"]?.GetValue<string>() ?? string.Empty) is not null
            ? null
            : $"{noun} \"{reference["name"]?.GetValue<string>()}\" not found";

    /// <summary>A Secret or ConfigMap volume whose source does not exist: the kubelet cannot mount it, the pod stays ContainerCreating.</summary>
    private bool VolumeSourcesMissing(string ns, JsonObject template) =>
        (template["spec"]?["volumes"]?.AsArray() ?? []).Any(v =>
            (v?["secret"] is { } secret && secret["optional"]?.GetValue<bool>() != true && _store.Get(_secrets, ns, secret["secretName"]?.GetValue<string>() ?? string.Empty) is null)
            || (v?["configMap"] is { } map && map["optional"]?.GetValue<bool>() != true && _store.Get(_configMaps, ns, map["name"]?.GetValue<string>() ?? string.Empty) is null));

    private bool ClaimsBound(string ns, JsonObject template, string? statefulSet)
    {
        foreach (var volume in template["spec"]?["volumes"]?.AsArray() ?? [])
        {
            var claim = volume?["persistentVolumeClaim"]?["claimName"]?.GetValue<string>();
            if (claim is not null && _store.Get(_pvcs, ns, claim)?["status"]?["phase"]?.GetValue<string>() != "Bound")
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Creates a pod through admission, as a controller does; returns the refusal (e.g. exceeded quota), or null.</summary>
    private string? CreatePod(string ns, string name, JsonObject template, JsonObject labels, JsonArray owner)
    {
        var metadata = (JsonObject)(template["metadata"]?.DeepClone() ?? new JsonObject());
        metadata["name"] = name;
        metadata["labels"] = (JsonObject)labels.DeepClone();
        metadata["ownerReferences"] = owner;
        metadata.Remove("creationTimestamp");
        var spec = (JsonObject)template["spec"]!.DeepClone();
        spec["nodeName"] = "simulated-node";
        var (status, body) = _writer.Create(_pods, ns, new JsonObject { ["metadata"] = metadata, ["spec"] = spec }, WriteOptions.Controller);
        return status is 201 or 409 ? null : body["message"]?.GetValue<string>() ?? $"pod creation failed with {status}";
    }

    private static JsonObject Terminated(int exit, string now, string? message)
    {
        var terminated = new JsonObject { ["exitCode"] = exit, ["reason"] = exit == 0 ? "Completed" : "Error", ["startedAt"] = now, ["finishedAt"] = now };
        if (message is not null)
        {
            terminated["message"] = message;
        }

        return new JsonObject { ["terminated"] = terminated };
    }

    /// <summary>
    /// A finished pod's init containers, as the kubelet reports them: each ran to completion in order — except, in a pod
    /// that failed, the first one given a termination message (<see cref="SimulationSettings.SetTerminationMessage"/>),
    /// which failed there (those after it never ran, nor did the pod's containers). Null while the pod has not finished or has none.
    /// </summary>
    private static (JsonArray? Statuses, bool FailedInInit) InitContainerStatuses(JsonObject template, int? exitCode, string now, Func<string, string?>? terminationMessage)
    {
        if (exitCode is not { } exit || template["spec"]?["initContainers"] is not JsonArray { Count: > 0 } inits)
        {
            return (null, false);
        }

        var statuses = new JsonArray();
        foreach (var c in inits)
        {
            var name = c!["name"]?.GetValue<string>() ?? string.Empty;
            var message = terminationMessage?.Invoke(name);
            var fails = exit != 0 && message is not null;
            statuses.Add(new JsonObject
            {
                ["name"] = name,
                ["image"] = c["image"]?.GetValue<string>() ?? string.Empty,
                ["ready"] = false,
                ["started"] = false,
                ["restartCount"] = 0,
                ["state"] = Terminated(fails ? exit : 0, now, message),
            });
            if (fails)
            {
                return (statuses, true);
            }
        }

        return (statuses, false);
    }

    private void SetPodStatus(string ns, string pod, string phase, bool ready, JsonObject template, PodFault? fault = null, int? terminatedExitCode = null, bool pvcPending = false,
        IReadOnlyDictionary<string, string>? configErrors = null, bool creating = false, Func<string, string?>? terminationMessage = null)
    {
        var now = _writer.Timestamp();
        var (initContainers, failedInInit) = InitContainerStatuses(template, terminatedExitCode, now, terminationMessage);
        var containers = new JsonArray();
        foreach (var c in template["spec"]?["containers"]?.AsArray() ?? [])
        {
            var image = c!["image"]?.GetValue<string>() ?? string.Empty;
            var configError = configErrors?.GetValueOrDefault(c["name"]?.GetValue<string>() ?? string.Empty);
            var state = (fault, terminatedExitCode) switch
            {
                _ when configError is not null => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CreateContainerConfigError", ["message"] = configError } },
                _ when creating || (configErrors is { Count: > 0 } && fault is null) => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } },
                (PodFault.ImagePullBackOff, _) => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ImagePullBackOff", ["message"] = $"Back-off pulling image \"{image}\"" } },
                (PodFault.CrashLoopBackOff or PodFault.OOMKilled, _) => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CrashLoopBackOff", ["message"] = $"back-off 40s restarting failed container={c["name"]} pod={pod}" } },
                (PodFault.Unschedulable, _) => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } },
                // An init container failed: the pod's containers never started.
                _ when failedInInit => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "PodInitializing" } },
                (_, { } exit) => Terminated(exit, now, terminationMessage?.Invoke(c["name"]?.GetValue<string>() ?? string.Empty)),
                _ => new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } },
            };
            var containerStatus = new JsonObject
            {
                ["name"] = c["name"]?.DeepClone(),
                ["image"] = image,
                ["imageID"] = fault == PodFault.ImagePullBackOff ? string.Empty : $"docker.io/library/{image}@sha256:{new string('0', 64)}",
                ["ready"] = ready,
                ["started"] = ready,
                ["restartCount"] = fault is PodFault.CrashLoopBackOff or PodFault.OOMKilled ? 5 : 0,
                ["state"] = state,
            };
            if (fault is PodFault.CrashLoopBackOff or PodFault.OOMKilled)
            {
                containerStatus["lastState"] = new JsonObject
                {
                    ["terminated"] = new JsonObject
                    {
                        ["exitCode"] = fault == PodFault.OOMKilled ? 137 : 1,
                        ["reason"] = fault == PodFault.OOMKilled ? "OOMKilled" : "Error",
                        ["startedAt"] = now,
                        ["finishedAt"] = now,
                    },
                };
            }

            containers.Add(containerStatus);
        }

        var scheduled = fault != PodFault.Unschedulable && !pvcPending;
        var conditions = new JsonArray(
            Condition("PodScheduled", scheduled, scheduled ? null : "Unschedulable",
                scheduled ? null : pvcPending ? "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims." : "0/1 nodes are available: 1 Insufficient cpu.", now),
            Condition("Initialized", scheduled, null, null, now),
            Condition("ContainersReady", ready, ready ? null : "ContainersNotReady", null, now),
            Condition("Ready", ready, ready ? null : "ContainersNotReady", null, now));
        SetStatus(_pods, ns, pod, new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = conditions,
            ["hostIP"] = scheduled ? "10.0.0.10" : null,
            ["podIP"] = scheduled ? "10.244.0.10" : null,
            ["startTime"] = now,
            ["initContainerStatuses"] = scheduled ? initContainers : null,
            ["containerStatuses"] = scheduled ? containers : null,
            ["qosClass"] = "Burstable",
        });
    }

    private void Bind(string ns, string name)
    {
        _store.Update(_pvcs, ns, name, pvc =>
        {
            var requested = pvc["spec"]?["resources"]?["requests"]?["storage"]?.DeepClone() ?? "1Gi";
            if (pvc["status"]?["phase"]?.GetValue<string>() == "Bound")
            {
                // An expansion the resize admission allowed: the volume grows to the request.
                if (JsonNode.DeepEquals(pvc["status"]?["capacity"]?["storage"], requested))
                {
                    return null;
                }

                pvc["status"]!["capacity"] = new JsonObject { ["storage"] = requested };
                return pvc;
            }

            pvc["spec"]!["volumeName"] = $"pvc-{pvc["metadata"]!["uid"]!.GetValue<string>()}";
            pvc["status"] = new JsonObject
            {
                ["phase"] = "Bound",
                ["accessModes"] = pvc["spec"]?["accessModes"]?.DeepClone(),
                ["capacity"] = new JsonObject { ["storage"] = requested },
            };
            return pvc;
        });

        // Workloads waiting on this claim can become ready now.
        foreach (var resource in _workloads)
        {
            foreach (var obj in _store.List(resource, ns).Items)
            {
                Schedule(resource, obj);
            }
        }
    }

    private void SetStatus(ApiResource resource, string ns, string name, JsonObject status)
    {
        foreach (var key in status.Where(kv => kv.Value is null).Select(kv => kv.Key).ToArray())
        {
            status.Remove(key);
        }

        _store.Update(resource, ns, name, o =>
        {
            if (o["status"] is JsonObject current && SameIgnoringTimes(current, status))
            {
                return null;
            }

            o["status"] = status.DeepClone();
            return o;
        });
    }

    private async Task TerminateNamespaceAsync(string ns)
    {
        var released = new SemaphoreSlim(0);
        void OnRelease(string n)
        {
            if (n == ns)
            {
                released.Release();
            }
        }

        _settings.NamespaceReleased += OnRelease;
        try
        {
            await Task.Delay(_settings.NamespaceDeletionDelay, _stopping);
            while (!_stopping.IsCancellationRequested)
            {
                if (_settings.IsHeld(ns))
                {
                    SetNamespaceConditions(ns, "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: storefleet.test/hold in 1 resource instances");
                    await released.WaitAsync(_stopping);
                    continue;
                }

                foreach (var (resource, obj) in _store.InNamespace(ns))
                {
                    _writer.Delete(resource, ns, obj["metadata"]!["name"]!.GetValue<string>(), dryRun: false, orphan: false);
                }

                var remaining = _store.InNamespace(ns);
                if (remaining.Count == 0)
                {
                    _store.Remove(_namespaces, null, ns);
                    return;
                }

                SetNamespaceConditions(ns, "SomeResourcesRemain",
                    "Some resources are remaining: " + string.Join(", ", remaining.GroupBy(r => r.Resource.GroupResource).Select(g => $"{g.Key} has {g.Count()} resource instances")));
                await Task.Delay(TimeSpan.FromMilliseconds(50), _stopping);
            }
        }
        catch (OperationCanceledException)
        {
            // Server stopping.
        }
        finally
        {
            _settings.NamespaceReleased -= OnRelease;
        }
    }

    private void SetNamespaceConditions(string ns, string reason, string message)
    {
        var now = _writer.Timestamp();
        _store.Update(_namespaces, null, ns, o =>
        {
            o["status"] = new JsonObject
            {
                ["phase"] = "Terminating",
                ["conditions"] = new JsonArray(
                    Condition("NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered", "All resources successfully discovered", now),
                    Condition("NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions", "All legacy kube types successfully parsed", now),
                    Condition("NamespaceDeletionContentFailure", false, "ContentDeleted", "All content successfully deleted, may be waiting on finalization", now),
                    Condition("NamespaceContentRemaining", reason == "SomeResourcesRemain", reason == "SomeResourcesRemain" ? reason : "ContentRemoved", reason == "SomeResourcesRemain" ? message : "All content successfully removed", now),
                    Condition("NamespaceFinalizersRemaining", reason == "SomeFinalizersRemain", reason == "SomeFinalizersRemain" ? reason : "ContentHasNoFinalizers", reason == "SomeFinalizersRemain" ? message : "All content-preserving finalizers finished", now)),
            };
            return o;
        });
    }

    private bool Terminating(string ns) => _store.Get(_namespaces, null, ns)?["metadata"]?["deletionTimestamp"] is not null;

    private static bool SameIgnoringTimes(JsonObject a, JsonObject b)
    {
        static JsonNode Strip(JsonNode node)
        {
            var copy = node.DeepClone();
            Walk(copy);
            return copy;
        }

        static void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var key in o.Select(kv => kv.Key).Where(k => k.EndsWith("Time", StringComparison.Ordinal) || k.EndsWith("At", StringComparison.Ordinal) || k == "lastTransitionTime" || k == "lastUpdateTime" || k == "lastProbeTime").ToArray())
                    {
                        o.Remove(key);
                    }

                    foreach (var (_, v) in o)
                    {
                        Walk(v);
                    }

                    break;
                case JsonArray arr:
                    foreach (var v in arr)
                    {
                        Walk(v);
                    }

                    break;
            }
        }

        return JsonNode.DeepEquals(Strip(a), Strip(b));
    }

    private static (string Namespace, string Name, string Uid) Identity(JsonObject obj) =>
        (obj["metadata"]!["namespace"]?.GetValue<string>() ?? string.Empty, obj["metadata"]!["name"]!.GetValue<string>(), obj["metadata"]!["uid"]!.GetValue<string>());

    private static JsonObject Labels(JsonObject template) =>
        (JsonObject)(template["metadata"]?["labels"]?.DeepClone() ?? new JsonObject());

    private static JsonArray Owner(string apiVersion, string kind, string name, string uid) =>
        new(new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind, ["name"] = name, ["uid"] = uid, ["controller"] = true, ["blockOwnerDeletion"] = true });

    private static string Hash(JsonNode node) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(node.ToJsonString())))[..10];

    private static JsonObject Condition(string type, bool status, string? reason, string? message, string now)
    {
        var condition = new JsonObject { ["type"] = type, ["status"] = status ? "True" : "False", ["lastTransitionTime"] = now };
        if (reason is not null)
        {
            condition["reason"] = reason;
        }

        if (message is not null)
        {
            condition["message"] = message;
        }

        return condition;
    }
}

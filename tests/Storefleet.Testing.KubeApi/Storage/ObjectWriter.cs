using System.Globalization;
using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Http;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>
/// What a real API server does around a write: defaulting, metadata stamping, name and strict
/// schema validation, namespace existence and termination checks, optimistic concurrency,
/// finalizers, and garbage collection of owned objects on delete.
/// </summary>
public sealed class ObjectWriter(ObjectStore store, ApiCatalog catalog, TimeProvider clock)
{
    private readonly ApiResource _namespaces = catalog.Find(string.Empty, "v1", "namespaces")!;
    private long _ipCounter;

    /// <summary>Called when a namespace starts terminating (the namespace lifecycle takes it from there).</summary>
    public event Action<string>? NamespaceTerminating;

    public (int Status, JsonObject Body) Create(ApiResource resource, string? ns, JsonObject obj, bool dryRun, bool strict, string? fieldManager = null)
    {
        var metadata = obj["metadata"] as JsonObject ?? new JsonObject();
        obj["metadata"] = metadata;
        if (obj["kind"]?.GetValue<string>() is { } kind && kind != resource.Kind)
        {
            return (400, StatusBodies.BadRequest($"the API version in the data ({obj["apiVersion"]}) does not match the expected API version ({resource.GroupVersion})"));
        }

        var bodyNamespace = metadata["namespace"]?.GetValue<string>();
        if (resource.Namespaced)
        {
            if (bodyNamespace is not null && ns is not null && bodyNamespace != ns)
            {
                return (400, StatusBodies.BadRequest("the namespace of the provided object does not match the namespace sent on the request"));
            }

            metadata["namespace"] = ns ?? bodyNamespace;
        }
        else
        {
            metadata.Remove("namespace");
        }

        var name = metadata["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name) && metadata["generateName"]?.GetValue<string>() is { Length: > 0 } prefix)
        {
            name = prefix + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..5];
            metadata["name"] = name;
        }

        if (string.IsNullOrEmpty(name))
        {
            return (422, StatusBodies.Invalid(resource.Kind, string.Empty, "metadata.name", "Required value: name or generateName is required"));
        }

        if (StrictValidator.NameError(resource, name) is { } nameError)
        {
            return (422, StatusBodies.Invalid(resource.Kind, name, "metadata.name", nameError));
        }

        obj["kind"] = resource.Kind;
        obj["apiVersion"] = resource.GroupVersion;
        if (strict && StrictValidator.StrictDecodingError(obj, resource) is { } decodingError)
        {
            return (400, StatusBodies.BadRequest($"{resource.Kind} in version \"{resource.Version}\" cannot be handled as a {resource.Kind}: {decodingError}"));
        }

        if (resource.Namespaced)
        {
            var nsName = metadata["namespace"]!.GetValue<string>();
            var nsObject = store.Get(_namespaces, null, nsName);
            if (nsObject is null)
            {
                return (404, StatusBodies.NotFound("namespaces", nsName));
            }

            if (nsObject["metadata"]?["deletionTimestamp"] is not null)
            {
                return (403, StatusBodies.NamespaceTerminating(resource.Plural, name, nsName));
            }
        }

        var now = Timestamp();
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["creationTimestamp"] = now;
        metadata.Remove("resourceVersion");
        metadata.Remove("deletionTimestamp");
        if (obj["spec"] is not null)
        {
            metadata["generation"] = 1;
        }

        if (fieldManager is not null)
        {
            metadata["managedFields"] = new JsonArray(new JsonObject
            {
                ["manager"] = fieldManager,
                ["operation"] = "Apply",
                ["apiVersion"] = resource.GroupVersion,
                ["time"] = now,
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = new JsonObject(),
            });
        }

        Default(resource, obj);
        if (dryRun)
        {
            return (201, obj);
        }

        var created = store.TryCreate(resource, obj);
        return created is null ? (409, StatusBodies.AlreadyExists(resource.Plural, name)) : (201, KubeApiHandler.WithType(created, resource));
    }

    public (int Status, JsonObject Body) Replace(ApiResource resource, string? ns, string name, JsonObject obj, string? expectedVersion, bool dryRun, bool strict)
    {
        obj["kind"] = resource.Kind;
        obj["apiVersion"] = resource.GroupVersion;
        if (strict && StrictValidator.StrictDecodingError(obj, resource) is { } decodingError)
        {
            return (400, StatusBodies.BadRequest($"{resource.Kind} in version \"{resource.Version}\" cannot be handled as a {resource.Kind}: {decodingError}"));
        }

        try
        {
            JsonObject? result = null;
            var found = store.Update(resource, ns, name, current =>
            {
                if (expectedVersion is not null && current["metadata"]!["resourceVersion"]!.GetValue<string>() != expectedVersion)
                {
                    throw new VersionConflictException();
                }

                var metadata = obj["metadata"] as JsonObject ?? new JsonObject();
                obj["metadata"] = metadata;
                foreach (var immutable in new[] { "name", "namespace", "uid", "creationTimestamp", "deletionTimestamp" })
                {
                    metadata[immutable] = current["metadata"]![immutable]?.DeepClone();
                    if (metadata[immutable] is null)
                    {
                        metadata.Remove(immutable);
                    }
                }

                var generation = JsonNumbers.Long(current["metadata"]!["generation"]) ?? 0;
                if (obj["spec"] is not null)
                {
                    var specChanged = !JsonNode.DeepEquals(obj["spec"], current["spec"]);
                    metadata["generation"] = specChanged || generation == 0 ? generation + 1 : generation;
                }

                if (obj["status"] is null && current["status"] is not null)
                {
                    obj["status"] = current["status"]!.DeepClone();
                }

                Default(resource, obj);
                if (dryRun)
                {
                    result = obj;
                    return null;
                }

                // Deleting an object whose last finalizer was just removed completes the deletion.
                result = obj;
                return obj;
            });

            if (found is null)
            {
                return (404, StatusBodies.NotFound(resource.Plural, name));
            }

            if (!dryRun && found["metadata"]?["deletionTimestamp"] is not null && found["metadata"]?["finalizers"] is not JsonArray { Count: > 0 } && resource.Plural != "namespaces")
            {
                store.Remove(resource, ns, name);
            }

            return (200, KubeApiHandler.WithType(dryRun ? result! : found, resource));
        }
        catch (VersionConflictException)
        {
            return (409, StatusBodies.Conflict(resource.Plural, name));
        }
    }

    public (int Status, JsonObject Body) Delete(ApiResource resource, string? ns, string name, bool dryRun, bool orphan)
    {
        var current = store.Get(resource, ns, name);
        if (current is null)
        {
            return (404, StatusBodies.NotFound(resource.Plural, name));
        }

        if (dryRun)
        {
            return (200, KubeApiHandler.WithType(current, resource));
        }

        if (resource.Plural == "namespaces")
        {
            var terminating = store.Update(resource, null, name, o =>
            {
                if (o["metadata"]!["deletionTimestamp"] is not null)
                {
                    return null;
                }

                o["metadata"]!["deletionTimestamp"] = Timestamp();
                o["status"] = new JsonObject { ["phase"] = "Terminating" };
                return o;
            })!;
            NamespaceTerminating?.Invoke(name);
            return (200, KubeApiHandler.WithType(terminating, resource));
        }

        if (current["metadata"]?["finalizers"] is JsonArray { Count: > 0 })
        {
            var marked = store.Update(resource, ns, name, o =>
            {
                if (o["metadata"]!["deletionTimestamp"] is not null)
                {
                    return null;
                }

                o["metadata"]!["deletionTimestamp"] = Timestamp();
                return o;
            })!;
            return (200, KubeApiHandler.WithType(marked, resource));
        }

        var removed = store.Remove(resource, ns, name);
        if (removed is null)
        {
            return (404, StatusBodies.NotFound(resource.Plural, name));
        }

        if (!orphan)
        {
            CollectGarbage(removed["metadata"]!["uid"]!.GetValue<string>());
        }

        return (200, KubeApiHandler.WithType(removed, resource));
    }

    /// <summary>Deletes every object owned (transitively) by the object with <paramref name="uid"/>.</summary>
    public void CollectGarbage(string uid)
    {
        foreach (var (resource, owned) in store.OwnedBy(uid))
        {
            Delete(resource, owned["metadata"]!["namespace"]?.GetValue<string>(), owned["metadata"]!["name"]!.GetValue<string>(), dryRun: false, orphan: false);
        }
    }

    public string Timestamp() => clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private void Default(ApiResource resource, JsonObject obj)
    {
        switch (resource.GroupResource)
        {
            case "namespaces":
                var labels = obj["metadata"]!["labels"] as JsonObject ?? new JsonObject();
                labels["kubernetes.io/metadata.name"] = obj["metadata"]!["name"]!.GetValue<string>();
                obj["metadata"]!["labels"] = labels;
                obj["spec"] ??= new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                obj["status"] ??= new JsonObject { ["phase"] = "Active" };
                break;
            case "services":
                var spec = obj["spec"] as JsonObject ?? new JsonObject();
                obj["spec"] = spec;
                spec["type"] ??= "ClusterIP";
                if (spec["clusterIP"] is null)
                {
                    var n = Interlocked.Increment(ref _ipCounter);
                    spec["clusterIP"] = $"10.96.{n / 250 % 250}.{n % 250 + 2}";
                }

                foreach (var port in spec["ports"]?.AsArray() ?? [])
                {
                    port!["protocol"] ??= "TCP";
                    port["targetPort"] ??= port["port"]?.DeepClone();
                }

                break;
            case "persistentvolumeclaims":
                obj["status"] ??= new JsonObject { ["phase"] = "Pending" };
                break;
            case "secrets":
                // As the real server does: stringData is write-only, merged into data (base64) and dropped.
                if (obj["stringData"] is JsonObject stringData)
                {
                    var data = obj["data"] as JsonObject ?? new JsonObject();
                    foreach (var (key, value) in stringData)
                    {
                        data[key] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(value?.GetValue<string>() ?? string.Empty));
                    }

                    obj["data"] = data;
                    obj.Remove("stringData");
                }

                obj["type"] ??= "Opaque";
                break;
        }
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Admission;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Http;
using Storefleet.Testing.KubeApi.Schema;
using Storefleet.Testing.KubeApi.Validation;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>How a client asked the server to treat unknown fields (<c>fieldValidation</c>).</summary>
public enum FieldValidation
{
    /// <summary>Unknown fields are refused (400). Also what the double does when a request names none.</summary>
    Strict,

    /// <summary>Unknown fields are dropped (a real server adds a warning header).</summary>
    Warn,

    /// <summary>Unknown fields are dropped silently.</summary>
    Ignore,
}

/// <summary>
/// How a write reaches the store. <paramref name="ByController"/>: written by the double's own
/// controllers (the workload simulation, namespace seeding), which skip request decoding but not admission.
/// <paramref name="ExpectedVersion"/>: the <c>resourceVersion</c> precondition of an update or patch.
/// <paramref name="FieldManager"/>, <paramref name="Operation"/>, <paramref name="Applied"/> (the configuration a
/// server-side apply sent), <paramref name="Force"/> and <paramref name="Subresource"/>: field ownership (see <see cref="FieldOwnership"/>).
/// </summary>
public sealed record WriteOptions(
    bool DryRun = false,
    FieldValidation Validation = FieldValidation.Strict,
    string? FieldManager = null,
    bool ByController = false,
    string? ExpectedVersion = null,
    FieldOperation Operation = FieldOperation.Update,
    JsonObject? Applied = null,
    bool Force = false,
    string? Subresource = null)
{
    public static WriteOptions Controller { get; } = new(ByController: true);
}

/// <summary>
/// What a real API server does around a write: decoding against the recorded schema (types exactly,
/// unknown fields by the field validation asked for, required fields and enums), defaulting, metadata
/// stamping, name rules, update validation (immutable fields), admission (service accounts, limit
/// ranges, resource quotas, volume resizing), namespace existence and termination checks, optimistic
/// concurrency, finalizers, and garbage collection of owned objects on delete.
/// </summary>
public sealed class ObjectWriter(ObjectStore store, ApiCatalog catalog, TimeProvider clock)
{
    private readonly ApiResource _namespaces = catalog.Find(string.Empty, "v1", "namespaces")!;
    private readonly ApiResource _serviceAccounts = catalog.Find(string.Empty, "v1", "serviceaccounts")!;
    private readonly AdmissionChain _admission = new(store, catalog);
    private long _ipCounter;

    /// <summary>Called when a namespace starts terminating (the namespace lifecycle takes it from there).</summary>
    public event Action<string>? NamespaceTerminating;

    public (int Status, JsonObject Body) Create(ApiResource resource, string? ns, JsonObject obj, WriteOptions options)
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

        if (NameRules.NameError(resource, name) is { } nameError)
        {
            return (422, StatusBodies.Invalid(resource.Kind, name, "metadata.name", nameError));
        }

        obj["kind"] = resource.Kind;
        obj["apiVersion"] = resource.GroupVersion;
        if (!options.ByController && Decode(resource, name, obj, options.Validation) is { } refused)
        {
            return refused;
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

            if (_admission.Admit(resource, nsName, obj, current: null) is { } forbidden)
            {
                return forbidden;
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

        Default(resource, obj);
        metadata.Remove("managedFields");
        if (FieldOwnership.Next(null, obj, options.Applied, options.FieldManager, options.Operation, options.Subresource, options.Force, resource.GroupVersion, now).ManagedFields is { } managed)
        {
            metadata["managedFields"] = managed;
        }

        if (options.DryRun)
        {
            return (201, obj);
        }

        var created = store.TryCreate(resource, obj);
        if (created is null)
        {
            return (409, StatusBodies.AlreadyExists(resource.Plural, name));
        }

        if (resource.GroupResource == "namespaces")
        {
            // The service account controller: every namespace gets its "default" account at once.
            Create(_serviceAccounts, name, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "default" } }, WriteOptions.Controller);
        }

        return (201, KubeApiHandler.WithType(created, resource));
    }

    public (int Status, JsonObject Body) Replace(ApiResource resource, string? ns, string name, JsonObject obj, WriteOptions options)
    {
        obj["kind"] = resource.Kind;
        obj["apiVersion"] = resource.GroupVersion;
        if (!options.ByController && Decode(resource, name, obj, options.Validation) is { } refused)
        {
            return refused;
        }

        try
        {
            JsonObject? result = null;
            (int, JsonObject)? rejected = null;
            var found = store.Update(resource, ns, name, current =>
            {
                if (options.ExpectedVersion is { } expected && current["metadata"]!["resourceVersion"]!.GetValue<string>() != expected)
                {
                    throw new VersionConflictException();
                }

                if (UpdateRules.Check(resource, current, obj) is { Count: > 0 } invalid)
                {
                    rejected = (422, StatusBodies.Invalid(resource.Kind, resource.Group, name, invalid));
                    return null;
                }

                if (resource.Namespaced && _admission.Admit(resource, ns!, obj, current) is { } forbidden)
                {
                    rejected = forbidden;
                    return null;
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
                var ownership = FieldOwnership.Next(current, obj, options.Applied, options.FieldManager, options.Operation, options.Subresource, options.Force, resource.GroupVersion, Timestamp());
                if (ownership.Conflict is { } conflict)
                {
                    rejected = (409, StatusBodies.Failure(409, "Conflict", conflict, new JsonObject { ["name"] = name, ["group"] = resource.Group, ["kind"] = resource.Plural }));
                    return null;
                }

                metadata.Remove("managedFields");
                if (ownership.ManagedFields is { } managed)
                {
                    metadata["managedFields"] = managed;
                }

                if (options.DryRun)
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

            if (rejected is { } refusal)
            {
                return refusal;
            }

            if (!options.DryRun && found["metadata"]?["deletionTimestamp"] is not null && found["metadata"]?["finalizers"] is not JsonArray { Count: > 0 } && resource.Plural != "namespaces")
            {
                store.Remove(resource, ns, name);
            }

            return (200, KubeApiHandler.WithType(options.DryRun ? result! : found, resource));
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

    /// <summary>
    /// Decodes a request's object as the server does: a mistyped field is a 400 whatever the field
    /// validation; unknown fields are a 400 under Strict and dropped otherwise; a missing required field
    /// or a value outside an enforced enum is a 422.
    /// </summary>
    private static (int, JsonObject)? Decode(ApiResource resource, string name, JsonObject obj, FieldValidation validation)
    {
        var findings = SchemaValidator.CheckKind(obj, resource.GroupVersion, resource.Kind, pruneUnknown: validation != FieldValidation.Strict);
        var prefix = $"{resource.Kind} in version \"{resource.Version}\" cannot be handled as a {resource.Kind}: ";
        return findings switch
        {
            null => null,
            { DecodeError: { } error } => (400, StatusBodies.BadRequest(prefix + error)),
            { UnknownFields.Count: > 0 } when validation == FieldValidation.Strict => (400, StatusBodies.BadRequest(prefix + findings.StrictDecodingError)),
            { Invalid.Count: > 0 } => (422, StatusBodies.Invalid(resource.Kind, resource.Group, name, findings.Invalid)),
            _ => null,
        };
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

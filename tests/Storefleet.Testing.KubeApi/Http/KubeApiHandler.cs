using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Testing.KubeApi.Http;

/// <summary>Serves discovery, OpenAPI and the resource REST protocol from the in-memory store.</summary>
public sealed class KubeApiHandler(KubeApiState state)
{
    private static readonly string[] StatusOnlyFields = ["status"];

    /// <summary>Escapes like Go's encoder (\" rather than \u0022), so messages read as a real server's do.</summary>
    internal static readonly JsonSerializerOptions Wire = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value is { Length: > 1 } p ? p.TrimEnd('/') : "/";
        var accept = request.Headers.Accept.ToString();

        switch (path)
        {
            case "/version":
                await WriteJsonAsync(context, 200, ApiCatalog.Version());
                return;
            case "/healthz" or "/readyz" or "/livez":
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("ok");
                return;
            case "/api":
                await WriteDiscoveryAsync(context, accept, state.Catalog.AggregatedCore, state.Catalog.Versions(request.Host.Value ?? "127.0.0.1"));
                return;
            case "/apis":
                await WriteDiscoveryAsync(context, accept, state.Catalog.AggregatedGroups, state.Catalog.GroupList());
                return;
            case "/openapi/v2":
                await WriteBytesAsync(context, Recorded.Bytes("openapi/v2.json"));
                return;
            case "/openapi/v3":
                await WriteJsonAsync(context, 200, state.OpenApiIndex);
                return;
        }

        if (path.StartsWith("/openapi/v3/", StringComparison.Ordinal))
        {
            var document = "openapi/v3_" + path["/openapi/v3/".Length..].Replace('/', '_') + ".json";
            if (Recorded.Exists(document))
            {
                await WriteBytesAsync(context, Recorded.Bytes(document));
            }
            else
            {
                await WriteJsonAsync(context, 404, StatusBodies.Failure(404, "NotFound", "the server could not find the requested resource"));
            }

            return;
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        (string Group, string Version, string[] Segments)? gv = segments switch
        {
            ["api", var v, .. var rest] => (string.Empty, v, rest),
            ["apis", var g, var v, .. var rest] => (g, v, rest),
            _ => null,
        };

        if (gv is null || !state.Catalog.HasGroupVersion(gv.Value.Group, gv.Value.Version))
        {
            if (segments is ["apis", var group] && state.Catalog.Resources.FirstOrDefault(r => r.Group == group) is { } any)
            {
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["kind"] = "APIGroup",
                    ["apiVersion"] = "v1",
                    ["name"] = group,
                    ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = any.GroupVersion, ["version"] = any.Version }),
                    ["preferredVersion"] = new JsonObject { ["groupVersion"] = any.GroupVersion, ["version"] = any.Version },
                });
                return;
            }

            await WriteJsonAsync(context, 404, StatusBodies.Failure(404, "NotFound", "the server could not find the requested resource"));
            return;
        }

        if (gv.Value.Segments.Length == 0)
        {
            await WriteJsonAsync(context, 200, state.Catalog.ResourceList(gv.Value.Group, gv.Value.Version));
            return;
        }

        var target = ResourceRequest.Resolve(state.Catalog, gv.Value.Group, gv.Value.Version, gv.Value.Segments);
        if (target is null)
        {
            await WriteJsonAsync(context, 404, StatusBodies.Failure(404, "NotFound", "the server could not find the requested resource"));
            return;
        }

        var query = request.Query;
        _userAgent.Value = request.Headers.UserAgent.ToString();
        var watch = query["watch"] is { Count: > 0 } w && (w.ToString() is "1" or "true");
        context.Items[KubeApiState.VerbItem] = target.Verb(request.Method, watch);
        context.Items[KubeApiState.ResourceItem] = target.Subresource is null ? target.Resource.GroupResource : $"{target.Resource.GroupResource}/{target.Subresource}";

        var (status, body) = request.Method switch
        {
            "GET" when target.Name is null && watch => await WatchAsync(context, target),
            "GET" when target.Name is null && accept.Contains("as=PartialObjectMetadataList", StringComparison.Ordinal) => MetadataList(List(target, query)),
            "GET" when target.Name is null => List(target, query),
            "GET" when target.Subresource == "log" => await WriteLogAsync(context, target),
            "GET" when target.Subresource == "scale" => ScaleOf(target),
            "GET" when accept.Contains("as=Table", StringComparison.Ordinal) => AsTable(Get(target), query),
            "GET" => Get(target),
            "POST" when target.Name is null => Create(target, await ReadObjectAsync(request), query, request.ContentType),
            "PUT" when target.Name is not null => Update(target, await ReadObjectAsync(request), query),
            "PATCH" when target.Name is not null => Patch(target, request.ContentType ?? string.Empty, await ReadBodyAsync(request), query),
            "DELETE" when target.Name is null => DeleteCollection(target, query),
            "DELETE" => Delete(target, query, await ReadOptionalObjectAsync(request)),
            _ => (405, StatusBodies.MethodNotAllowed($"the server does not allow this method on the requested resource")),
        };

        if (body is not null)
        {
            await WriteJsonAsync(context, status, body);
        }
    }

    private (int, JsonObject) Get(ResourceRequest target)
    {
        var obj = state.Store.Get(target.Resource, target.Namespace, target.Name!);
        return obj is null ? (404, StatusBodies.NotFound(target.Resource.Plural, target.Name!)) : (200, WithType(obj, target.Resource));
    }

    private (int, JsonObject) List(ResourceRequest target, IQueryCollection query)
    {
        var (matching, rv) = Select(target, query);

        var start = 0;
        if (query["continue"] is { Count: > 0 } token)
        {
            try
            {
                var after = Encoding.UTF8.GetString(Convert.FromBase64String(token.ToString()));
                start = matching.FindIndex(o => string.CompareOrdinal(ListKey(o), after) > 0);
                start = start < 0 ? matching.Count : start;
            }
            catch (FormatException)
            {
                return (400, StatusBodies.BadRequest("continue key is not valid: illegal base64 data"));
            }
        }

        var limit = int.TryParse(query["limit"], out var l) && l > 0 ? l : int.MaxValue;
        var page = matching.Skip(start).Take(limit).ToList();
        var metadata = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
        var remaining = matching.Count - start - page.Count;
        if (remaining > 0)
        {
            metadata["continue"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(ListKey(page[^1])));
            metadata["remainingItemCount"] = remaining;
        }

        return (200, ListOf(target.Resource, metadata, page));
    }

    /// <summary>The objects a list or deletecollection request selects (label and field selectors), with the store's resource version.</summary>
    private (List<JsonObject> Items, long ResourceVersion) Select(ResourceRequest target, IQueryCollection query)
    {
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"]);
        var (items, rv) = state.Store.List(target.Resource, target.Namespace);
        return (items.Where(o => labels.Matches(o) && fields.Matches(o)).ToList(), rv);
    }

    /// <summary>A <c>&lt;Kind&gt;List</c>; like a real server, its items carry no kind or apiVersion of their own.</summary>
    private static JsonObject ListOf(ApiResource resource, JsonObject metadata, IEnumerable<JsonObject> items)
    {
        var array = new JsonArray();
        foreach (var item in items)
        {
            item.Remove("kind");
            item.Remove("apiVersion");
            array.Add(item);
        }

        return new JsonObject
        {
            ["kind"] = resource.Kind + "List",
            ["apiVersion"] = resource.GroupVersion,
            ["metadata"] = metadata,
            ["items"] = array,
        };
    }

    private (int, JsonObject) Create(ResourceRequest target, JsonObject? obj, IQueryCollection query, string? contentType)
    {
        if (obj is null)
        {
            return (400, StatusBodies.BadRequest($"the body of the request was in an unknown format ({contentType}) - accepted media types include: application/json, application/yaml"));
        }

        return state.Writer.Create(target.Resource, target.Namespace, obj, Options(query));
    }

    private (int, JsonObject) Update(ResourceRequest target, JsonObject? obj, IQueryCollection query)
    {
        if (obj is null)
        {
            return (400, StatusBodies.BadRequest("the body of the request was in an unknown format"));
        }

        var name = obj["metadata"]?["name"]?.GetValue<string>();
        if (name is not null && name != target.Name)
        {
            return (400, StatusBodies.BadRequest($"the name of the object ({name}) does not match the name on the URL ({target.Name})"));
        }

        var current = state.Store.Get(target.Resource, target.Namespace, target.Name!);
        if (current is null)
        {
            return (404, StatusBodies.NotFound(target.Resource.Plural, target.Name!));
        }

        var expected = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
        var replacement = target.Subresource switch
        {
            "status" => WithStatusFrom(current, obj),
            "finalize" => WithFinalizersFrom(current, obj),
            "scale" => WithReplicas(current, JsonNumbers.Int(obj["spec"]?["replicas"])),
            _ => obj,
        };
        var written = state.Writer.Replace(target.Resource, target.Namespace, target.Name!, replacement, Options(query) with
        {
            ExpectedVersion = string.IsNullOrEmpty(expected) ? null : expected,
            Subresource = target.Subresource,
        });
        return written.Item1 == 200 && target.Subresource == "scale" ? ScaleOf(target) : written;
    }

    private (int, JsonObject) Patch(ResourceRequest target, string contentType, string body, IQueryCollection query)
    {
        JsonNode? patch;
        try
        {
            patch = ParseJsonOrYaml(body);
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            return (400, StatusBodies.BadRequest($"error decoding patch: {e.Message}"));
        }

        var current = state.Store.Get(target.Resource, target.Namespace, target.Name!);
        var mediaType = contentType.Split(';')[0].Trim();
        if (mediaType == "application/apply-patch+yaml")
        {
            if (patch is not JsonObject applied)
            {
                return (400, StatusBodies.BadRequest("apply patches must be objects"));
            }

            if (current is null)
            {
                applied["metadata"] ??= new JsonObject();
                applied["metadata"]!["name"] ??= target.Name;
                if (string.IsNullOrEmpty(query["fieldManager"]))
                {
                    return (422, StatusBodies.Failure(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"));
                }

                return state.Writer.Create(target.Resource, target.Namespace, applied, Options(query) with { Operation = FieldOperation.Apply, Applied = (JsonObject)applied.DeepClone() });
            }
        }

        if (current is null)
        {
            return (404, StatusBodies.NotFound(target.Resource.Plural, target.Name!));
        }

        if (mediaType is not ("application/json-patch+json" or "application/merge-patch+json" or "application/strategic-merge-patch+json" or "application/apply-patch+yaml"))
        {
            return (415, StatusBodies.Failure(415, "UnsupportedMediaType", $"the server does not support patch type {mediaType}"));
        }

        JsonNode patched;
        try
        {
            var baseline = target.Subresource == "scale" ? ScaleOf(target).Body : current;
            patched = mediaType switch
            {
                "application/json-patch+json" => Patches.ApplyJsonPatch(baseline, patch as JsonArray ?? throw new InvalidPatchException("a JSON patch must be an array of operations")),
                "application/merge-patch+json" => Patches.Merge(baseline, patch)!,
                _ => Patches.Strategic(baseline, patch)!,
            };
        }
        catch (InvalidPatchException e)
        {
            return (422, StatusBodies.Failure(422, "Invalid", e.Message));
        }

        // A resourceVersion in the patch is a precondition, as on a real server (409 when stale).
        var expected = patch is JsonObject ? patch["metadata"]?["resourceVersion"]?.GetValue<string>() : patched["metadata"]?["resourceVersion"]?.GetValue<string>();
        var currentVersion = current["metadata"]!["resourceVersion"]!.GetValue<string>();
        if (patch is JsonArray && expected == currentVersion)
        {
            expected = null;
        }

        var replacement = target.Subresource switch
        {
            "status" => WithStatusFrom(current, patched.AsObject()),
            "scale" => WithReplicas(current, JsonNumbers.Int(patched["spec"]?["replicas"])),
            _ => patched.AsObject(),
        };
        var apply = mediaType == "application/apply-patch+yaml";
        if (apply && string.IsNullOrEmpty(query["fieldManager"]))
        {
            return (422, StatusBodies.Failure(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"));
        }

        var written = state.Writer.Replace(target.Resource, target.Namespace, target.Name!, replacement, Options(query) with
        {
            ExpectedVersion = string.IsNullOrEmpty(expected) ? null : expected,
            Operation = apply ? FieldOperation.Apply : FieldOperation.Update,
            Applied = apply ? (JsonObject)patch!.DeepClone() : null,
            Subresource = target.Subresource,
        });
        return written.Item1 == 200 && target.Subresource == "scale" ? ScaleOf(target) : written;
    }

    private (int, JsonObject) Delete(ResourceRequest target, IQueryCollection query, JsonObject? options)
    {
        var policy = query["propagationPolicy"].ToString() is { Length: > 0 } q ? q : options?["propagationPolicy"]?.GetValue<string>() ?? "Background";
        return state.Writer.Delete(target.Resource, target.Namespace, target.Name!, DryRun(query) || options?["dryRun"] is JsonArray { Count: > 0 }, orphan: policy == "Orphan");
    }

    private (int, JsonObject) DeleteCollection(ResourceRequest target, IQueryCollection query)
    {
        var deleted = new List<JsonObject>();
        foreach (var item in Select(target, query).Items)
        {
            var (status, body) = state.Writer.Delete(target.Resource, item["metadata"]!["namespace"]?.GetValue<string>(), item["metadata"]!["name"]!.GetValue<string>(), DryRun(query), orphan: false);
            if (status == 200)
            {
                deleted.Add(body);
            }
        }

        var metadata = new JsonObject { ["resourceVersion"] = state.Store.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture) };
        return (200, ListOf(target.Resource, metadata, deleted));
    }

    private async Task<(int, JsonObject?)> WatchAsync(HttpContext context, ResourceRequest target)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"]);
        var timeout = int.TryParse(query["timeoutSeconds"], out var t) && t > 0 ? TimeSpan.FromSeconds(Math.Min(t, 3600)) : TimeSpan.FromMinutes(30);
        var sendInitial = query["sendInitialEvents"].ToString() == "true";
        var bookmarks = query["allowWatchBookmarks"].ToString() is "true" or "1";
        var rvText = query["resourceVersion"].ToString();
        long? resumeAfter = long.TryParse(rvText, out var rv) && rv > 0 && !sendInitial ? rv : null;

        IReadOnlyList<WatchEvent> backlog;
        System.Threading.Channels.ChannelReader<WatchEvent> live;
        IDisposable subscription;
        try
        {
            (backlog, live, subscription) = state.Store.Watch(resumeAfter);
        }
        catch (ResourceVersionTooOldException e)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await WriteEventAsync(context, "ERROR", StatusBodies.Expired(e.Message));
            return (200, null);
        }

        using var _ = subscription;
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-cache, private";
        await context.Response.StartAsync(context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);

        bool Wanted(WatchEvent e) =>
            e.Resource.GroupResource == target.Resource.GroupResource
            && (target.Namespace is null || e.Namespace == target.Namespace)
            && labels.Matches(e.Object) && fields.Matches(e.Object);

        // A metadata-only watch (client-go's metadata informers) gets PartialObjectMetadata objects.
        var metadataOnly = context.Request.Headers.Accept.ToString().Contains("as=PartialObjectMetadata", StringComparison.Ordinal);
        JsonObject View(JsonObject obj) => metadataOnly ? AsPartialMetadata(obj) : obj;

        long snapshotVersion = 0;
        if (resumeAfter is null)
        {
            // No resource version (or sendInitialEvents): synthetic ADDED events for the current state.
            var (items, listVersion) = state.Store.List(target.Resource, target.Namespace);
            snapshotVersion = listVersion;
            foreach (var item in items.Where(o => labels.Matches(o) && fields.Matches(o)))
            {
                await WriteEventAsync(context, "ADDED", View(WithType(item, target.Resource)));
            }

            if (sendInitial && bookmarks)
            {
                await WriteEventAsync(context, "BOOKMARK", Bookmark(target.Resource, listVersion, initialEventsEnd: true));
            }
        }

        foreach (var e in backlog.Where(Wanted))
        {
            await WriteEventAsync(context, e.Type, View(WithType(e.Object, e.Resource)));
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, state.Stopping);
        deadline.CancelAfter(timeout);
        try
        {
            await foreach (var e in live.ReadAllAsync(deadline.Token))
            {
                if (e.ResourceVersion > snapshotVersion && Wanted(e))
                {
                    await WriteEventAsync(context, e.Type, View(WithType(e.Object, e.Resource)));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout, client gone or server stopping: end the stream like a real server does.
        }

        return (200, null);
    }

    private async Task<(int, JsonObject?)> WriteLogAsync(HttpContext context, ResourceRequest target)
    {
        if (state.Store.Get(target.Resource, target.Namespace, target.Name!) is null)
        {
            return (404, StatusBodies.NotFound(target.Resource.Plural, target.Name!));
        }

        context.Response.ContentType = "text/plain";
        var lines = state.Simulator.LogsFor(target.Namespace!, target.Name!);
        var tail = int.TryParse(context.Request.Query["tailLines"], out var n) ? lines.TakeLast(n) : lines;
        await context.Response.WriteAsync(string.Join('\n', tail) + "\n");
        return (200, null);
    }

    private (int Status, JsonObject Body) ScaleOf(ResourceRequest target)
    {
        var obj = state.Store.Get(target.Resource, target.Namespace, target.Name!);
        if (obj is null)
        {
            return (404, StatusBodies.NotFound(target.Resource.Plural, target.Name!));
        }

        var replicas = JsonNumbers.Int(obj["spec"]?["replicas"]) ?? 1;
        return (200, new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = target.Name,
                ["namespace"] = target.Namespace,
                ["uid"] = obj["metadata"]!["uid"]?.DeepClone(),
                ["resourceVersion"] = obj["metadata"]!["resourceVersion"]?.DeepClone(),
                ["creationTimestamp"] = obj["metadata"]!["creationTimestamp"]?.DeepClone(),
            },
            ["spec"] = new JsonObject { ["replicas"] = replicas },
            ["status"] = new JsonObject { ["replicas"] = JsonNumbers.Int(obj["status"]?["replicas"]) ?? 0 },
        });
    }

    private static (int, JsonObject) AsTable((int Status, JsonObject Body) result, IQueryCollection query)
    {
        if (result.Status != 200)
        {
            return result;
        }

        var obj = result.Body;
        var row = new JsonObject
        {
            ["cells"] = new JsonArray(obj["metadata"]!["name"]!.DeepClone(), obj["metadata"]!["creationTimestamp"]?.DeepClone()),
        };
        if (query["includeObject"].ToString() != "None")
        {
            row["object"] = obj.DeepClone();
        }

        return (200, new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = obj["metadata"]!["resourceVersion"]?.DeepClone() },
            ["columnDefinitions"] = new JsonArray(
                new JsonObject { ["name"] = "Name", ["type"] = "string", ["format"] = "name", ["description"] = "Name of the object.", ["priority"] = 0 },
                new JsonObject { ["name"] = "Created At", ["type"] = "date", ["format"] = "", ["description"] = "CreationTimestamp of the object.", ["priority"] = 0 }),
            ["rows"] = new JsonArray(row),
        });
    }

    private static JsonObject WithStatusFrom(JsonObject current, JsonObject source)
    {
        var result = (JsonObject)current.DeepClone();
        foreach (var field in StatusOnlyFields)
        {
            result[field] = source[field]?.DeepClone();
        }

        if (source["metadata"]?["resourceVersion"] is { } rv)
        {
            result["metadata"]!["resourceVersion"] = rv.DeepClone();
        }

        return result;
    }

    private static JsonObject WithFinalizersFrom(JsonObject current, JsonObject source)
    {
        var result = (JsonObject)current.DeepClone();
        result["spec"] ??= new JsonObject();
        result["spec"]!["finalizers"] = source["spec"]?["finalizers"]?.DeepClone() ?? new JsonArray();
        return result;
    }

    private static JsonObject WithReplicas(JsonObject current, int? replicas)
    {
        var result = (JsonObject)current.DeepClone();
        if (replicas is { } r)
        {
            result["spec"] ??= new JsonObject();
            result["spec"]!["replicas"] = r;
        }

        return result;
    }

    private static JsonObject Bookmark(ApiResource resource, long rv, bool initialEventsEnd)
    {
        var metadata = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
        if (initialEventsEnd)
        {
            metadata["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        }

        return new JsonObject { ["kind"] = resource.Kind, ["apiVersion"] = resource.GroupVersion, ["metadata"] = metadata };
    }

    /// <summary>A list as <c>PartialObjectMetadataList</c> (Accept <c>as=PartialObjectMetadataList;g=meta.k8s.io;v=v1</c>): metadata only.</summary>
    private static (int, JsonObject) MetadataList((int Status, JsonObject Body) list)
    {
        if (list.Status != 200)
        {
            return list;
        }

        var items = new JsonArray();
        foreach (var item in list.Body["items"]!.AsArray().OfType<JsonObject>())
        {
            items.Add(AsPartialMetadata(item));
        }

        return (200, new JsonObject
        {
            ["kind"] = "PartialObjectMetadataList",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = list.Body["metadata"]!.DeepClone(),
            ["items"] = items,
        });
    }

    private static JsonObject AsPartialMetadata(JsonObject obj) => new()
    {
        ["kind"] = "PartialObjectMetadata",
        ["apiVersion"] = "meta.k8s.io/v1",
        ["metadata"] = obj["metadata"]?.DeepClone(),
    };

    internal static JsonObject WithType(JsonObject obj, ApiResource resource)
    {
        var typed = new JsonObject { ["kind"] = resource.Kind, ["apiVersion"] = resource.GroupVersion };
        foreach (var (key, value) in obj)
        {
            if (key is not ("kind" or "apiVersion"))
            {
                typed[key] = value?.DeepClone();
            }
        }

        return typed;
    }

    private static string ListKey(JsonObject o) => $"{o["metadata"]!["namespace"]?.GetValue<string>()}/{o["metadata"]!["name"]!.GetValue<string>()}";

    private static bool DryRun(IQueryCollection query) => query["dryRun"].ToString() == "All";

    private WriteOptions Options(IQueryCollection query) => new(
        DryRun: DryRun(query),
        Validation: query["fieldValidation"].ToString() switch
        {
            "Ignore" => FieldValidation.Ignore,
            "Warn" => FieldValidation.Warn,
            _ => FieldValidation.Strict,
        },
        FieldManager: FieldOwnership.ManagerOf(query["fieldManager"], _userAgent.Value),
        Force: query["force"].ToString() == "true");

    /// <summary>The User-Agent of the request being served (a manager name when the request names none).</summary>
    private readonly AsyncLocal<string?> _userAgent = new();

    private static async Task WriteEventAsync(HttpContext context, string type, JsonObject obj)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj }.ToJsonString(Wire) + "\n";
        await context.Response.WriteAsync(line, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task WriteDiscoveryAsync(HttpContext context, string accept, JsonObject aggregated, JsonObject legacy)
    {
        if (accept.Contains("as=APIGroupDiscoveryList", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = ApiCatalog.AggregatedContentType;
            await context.Response.WriteAsync(aggregated.ToJsonString(Wire));
            return;
        }

        await WriteJsonAsync(context, 200, legacy);
    }

    internal static async Task WriteJsonAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(Wire));
    }

    private static async Task WriteBytesAsync(HttpContext context, byte[] body)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body);
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    private static async Task<JsonObject?> ReadObjectAsync(HttpRequest request)
    {
        if (request.ContentType?.Contains("protobuf", StringComparison.Ordinal) == true)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            return ProtobufBodies.TryDecode(buffer.ToArray(), out _);
        }

        try
        {
            return ParseJsonOrYaml(await ReadBodyAsync(request)) as JsonObject;
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            return null;
        }
    }

    private static async Task<JsonObject?> ReadOptionalObjectAsync(HttpRequest request)
    {
        if (request.ContentType?.Contains("protobuf", StringComparison.Ordinal) == true)
        {
            // DeleteOptions in protobuf: the defaults (background propagation) are what clients send.
            return null;
        }

        var body = await ReadBodyAsync(request);
        return string.IsNullOrWhiteSpace(body) ? null : ParseJsonOrYaml(body) as JsonObject;
    }

    private static JsonNode? ParseJsonOrYaml(string body)
    {
        var trimmed = body.TrimStart();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            return JsonNode.Parse(body);
        }

        return Schema.TypedYaml.Parse(body);
    }
}

using System.Text.Json.Nodes;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>How a write claims fields: server-side apply (declarative, may conflict) or an update (takes what it changed).</summary>
public enum FieldOperation
{
    Update,
    Apply,
}

/// <summary>
/// Server-side apply's field ownership, as a real API server keeps it in <c>metadata.managedFields</c>: every
/// manager owns the leaf fields it set. An apply conflicts (409) when it sets a field another manager owns to
/// another value, unless forced — then ownership moves to the applier. An update (PUT, or a non-apply PATCH)
/// takes ownership of every field it changed away from the others. Entries record manager, operation,
/// apiVersion, time, subresource and <c>fieldsV1</c> in the real format (<c>f:</c> keys, <c>k:</c> list items).
/// <para>
/// Simplifications (see the double's README): status is not tracked; an applier that drops a field from its
/// configuration gives up ownership but the field is not removed from the object.
/// </para>
/// </summary>
public static class FieldOwnership
{
    private const char Separator = '\u0001';

    /// <summary>The managed fields after a write, or the conflict message that refuses an apply.</summary>
    public sealed record Outcome(JsonArray? ManagedFields, string? Conflict);

    /// <summary>
    /// Computes <paramref name="next"/>'s managedFields from <paramref name="current"/>'s (null on create). A write
    /// without a manager (the double's own controllers) leaves them as they were.
    /// </summary>
    public static Outcome Next(JsonObject? current, JsonObject next, JsonObject? applied, string? manager, FieldOperation operation, string? subresource, bool force, string apiVersion, string now)
    {
        var entries = Entries(current?["metadata"]?["managedFields"] as JsonArray);
        if (manager is null || subresource == "status")
        {
            return new Outcome(ToJson(entries), null);
        }

        var before = current is null ? new Dictionary<string, JsonNode?>() : Leaves(current);
        var after = Leaves(next);
        if (operation == FieldOperation.Apply)
        {
            var wanted = Leaves(applied ?? next);
            var conflicts = entries
                .Where(e => !(e.Manager == manager && e.Operation == "Apply" && e.Subresource is null))
                .SelectMany(e => e.Fields.Where(f => wanted.ContainsKey(f) && !JsonNode.DeepEquals(before.GetValueOrDefault(f), wanted[f])).Select(f => (Entry: e, Field: f)))
                .ToList();

            // The server's last-applied manager: fields a client-side apply set (they are in its last-applied annotation)
            // move to the first server-side applier without a conflict, so `kubectl apply --server-side` can take over.
            var lastApplied = LastApplied(current);
            var unforced = conflicts.Where(c => !(c.Entry.Manager == "kubectl-client-side-apply" && lastApplied.Contains(c.Field))).ToList();
            if (unforced.Count > 0 && !force)
            {
                return new Outcome(null, ConflictMessage(unforced));
            }

            foreach (var (entry, field) in conflicts)
            {
                entry.Fields.Remove(field);
            }

            var own = entries.FirstOrDefault(e => e.Manager == manager && e.Operation == "Apply" && e.Subresource is null);
            var fields = wanted.Keys.Where(after.ContainsKey).ToHashSet(StringComparer.Ordinal);
            if (own is null)
            {
                entries.Add(new Entry(manager, "Apply", apiVersion, now, null, fields));
            }
            else
            {
                var changed = !own.Fields.SetEquals(fields) || fields.Any(f => !JsonNode.DeepEquals(before.GetValueOrDefault(f), after[f]));
                own.Fields.Clear();
                own.Fields.UnionWith(fields);
                own.Time = changed ? now : own.Time;
            }
        }
        else
        {
            var changed = before.Keys.Union(after.Keys)
                .Where(f => !JsonNode.DeepEquals(before.GetValueOrDefault(f), after.GetValueOrDefault(f)))
                .ToHashSet(StringComparer.Ordinal);
            if (changed.Count == 0)
            {
                return new Outcome(ToJson(entries), null);
            }

            foreach (var entry in entries)
            {
                entry.Fields.ExceptWith(changed);
            }

            var own = entries.FirstOrDefault(e => e.Manager == manager && e.Operation == "Update" && e.Subresource == subresource);
            var taken = changed.Where(after.ContainsKey).ToHashSet(StringComparer.Ordinal);
            if (own is null)
            {
                entries.Add(new Entry(manager, "Update", apiVersion, now, subresource, taken));
            }
            else
            {
                own.Fields.UnionWith(taken);
                own.Time = now;
            }
        }

        entries.RemoveAll(e => e.Fields.Count == 0);
        return new Outcome(ToJson(entries), null);
    }

    private static HashSet<string> LastApplied(JsonObject? current)
    {
        var text = current?["metadata"]?["annotations"]?["kubectl.kubernetes.io/last-applied-configuration"]?.GetValue<string>();
        try
        {
            return text is not null && JsonNode.Parse(text) is JsonObject config ? [.. Leaves(config).Keys] : [];
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }
    }

    /// <summary>The manager a request writes as: its <c>fieldManager</c>, else its User-Agent up to the first '/' (as a real server derives it).</summary>
    public static string? ManagerOf(string? fieldManager, string? userAgent) =>
        !string.IsNullOrEmpty(fieldManager) ? fieldManager
        : string.IsNullOrEmpty(userAgent) ? null
        : userAgent.Split('/')[0].Trim() is { Length: > 0 } prefix ? prefix : null;

    /// <summary>Every leaf field of an object (metadata labels and annotations, spec, data...; not status), with its value.</summary>
    public static Dictionary<string, JsonNode?> Leaves(JsonObject obj)
    {
        var leaves = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (key, value) in obj)
        {
            switch (key)
            {
                case "apiVersion" or "kind" or "status":
                    continue;
                case "metadata":
                    foreach (var part in new[] { "labels", "annotations" })
                    {
                        if (value?[part] is JsonObject map)
                        {
                            foreach (var (k, v) in map)
                            {
                                leaves[Join(["f:metadata", $"f:{part}", $"f:{k}"])] = v?.DeepClone();
                            }
                        }
                    }

                    continue;
                default:
                    Walk(value, [$"f:{key}"], key, leaves);
                    break;
            }
        }

        return leaves;
    }

    private static void Walk(JsonNode? node, List<string> path, string field, Dictionary<string, JsonNode?> leaves)
    {
        switch (node)
        {
            case JsonObject o when o.Count > 0:
                foreach (var (key, value) in o)
                {
                    Walk(value, [.. path, $"f:{key}"], key, leaves);
                }

                break;
            case JsonArray a when KeyOf(field, a) is { } mergeKey:
                foreach (var item in a.OfType<JsonObject>())
                {
                    var itemToken = $"k:{new JsonObject { [mergeKey] = item[mergeKey]!.DeepClone() }.ToJsonString()}";
                    Walk(item, [.. path, itemToken], string.Empty, leaves);
                }

                break;
            default:
                leaves[Join(path)] = node?.DeepClone();
                break;
        }
    }

    /// <summary>The merge key of a list of objects (as the Kubernetes types declare it), when every item carries it uniquely; otherwise the list is atomic.</summary>
    private static string? KeyOf(string field, JsonArray array)
    {
        var key = field switch
        {
            "volumeMounts" => "mountPath",
            "ports" when array.FirstOrDefault() is JsonObject first && first.ContainsKey("containerPort") => "containerPort",
            "ports" => "port",
            "containers" or "initContainers" or "volumes" or "env" or "volumeClaimTemplates" or "rules" => "name",
            _ => null,
        };
        return key is not null && array.Count > 0 && array.All(i => i is JsonObject o && o[key] is JsonValue)
            && array.Select(i => i![key]!.ToJsonString()).Distinct(StringComparer.Ordinal).Count() == array.Count
            ? key
            : null;
    }

    private static string Join(IEnumerable<string> tokens) => string.Join(Separator, tokens);

    /// <summary>A field path as the server prints it in conflicts: <c>.spec.template.spec.containers[name="wordpress"].image</c>.</summary>
    public static string Printable(string field) => string.Concat(field.Split(Separator).Select(t =>
        t.StartsWith("f:", StringComparison.Ordinal) ? "." + t[2..]
        : t.StartsWith("k:", StringComparison.Ordinal) && JsonNode.Parse(t[2..]) is JsonObject key ? "[" + string.Join(",", key.Select(kv => $"{kv.Key}={kv.Value!.ToJsonString()}")) + "]"
        : t));

    private static string ConflictMessage(List<(Entry Entry, string Field)> conflicts)
    {
        string Owner(Entry e) => e.Subresource is { } sub ? $"\"{e.Manager}\" with subresource \"{sub}\"" : $"\"{e.Manager}\" using {e.ApiVersion}";
        if (conflicts.Count == 1)
        {
            return $"Apply failed with 1 conflict: conflict with {Owner(conflicts[0].Entry)}: {Printable(conflicts[0].Field)}";
        }

        var groups = conflicts.GroupBy(c => Owner(c.Entry)).Select(g => $"conflicts with {g.Key}:\n{string.Join("\n", g.Select(c => "- " + Printable(c.Field)))}");
        return $"Apply failed with {conflicts.Count} conflicts: {string.Join("\n", groups)}";
    }

    private sealed class Entry(string manager, string operation, string apiVersion, string time, string? subresource, HashSet<string> fields)
    {
        public string Manager { get; } = manager;

        public string Operation { get; } = operation;

        public string ApiVersion { get; } = apiVersion;

        public string Time { get; set; } = time;

        public string? Subresource { get; } = subresource;

        public HashSet<string> Fields { get; } = fields;
    }

    private static List<Entry> Entries(JsonArray? managedFields) =>
        [.. (managedFields ?? []).OfType<JsonObject>().Select(e => new Entry(
            e["manager"]?.GetValue<string>() ?? string.Empty,
            e["operation"]?.GetValue<string>() ?? "Update",
            e["apiVersion"]?.GetValue<string>() ?? string.Empty,
            e["time"]?.GetValue<string>() ?? string.Empty,
            e["subresource"]?.GetValue<string>(),
            FieldsOf(e["fieldsV1"] as JsonObject)))];

    private static HashSet<string> FieldsOf(JsonObject? tree)
    {
        var fields = new HashSet<string>(StringComparer.Ordinal);
        void Visit(JsonObject node, List<string> path)
        {
            var children = node.Where(kv => kv.Key != ".").ToList();
            if (children.Count == 0 && path.Count > 0)
            {
                fields.Add(Join(path));
            }

            foreach (var (key, value) in children)
            {
                Visit(value as JsonObject ?? [], [.. path, key]);
            }
        }

        if (tree is not null)
        {
            Visit(tree, []);
        }

        return fields;
    }

    private static JsonArray? ToJson(List<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return null;
        }

        var array = new JsonArray();
        foreach (var entry in entries)
        {
            var tree = new JsonObject();
            foreach (var field in entry.Fields.Order(StringComparer.Ordinal))
            {
                var node = tree;
                foreach (var token in field.Split(Separator))
                {
                    if (node[token] is not JsonObject child)
                    {
                        child = [];
                        node[token] = child;
                    }

                    node = child;
                }
            }

            var json = new JsonObject
            {
                ["manager"] = entry.Manager,
                ["operation"] = entry.Operation,
                ["apiVersion"] = entry.ApiVersion,
                ["time"] = entry.Time,
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = tree,
            };
            if (entry.Subresource is not null)
            {
                json["subresource"] = entry.Subresource;
            }

            array.Add(json);
        }

        return array;
    }
}

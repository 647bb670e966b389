using System.Text.Json.Nodes;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>The patch flavours of the Kubernetes API, applied to JSON objects.</summary>
public static class Patches
{
    /// <summary>RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces.</summary>
    public static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject is { } t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = Merge(result[key], value);
            }
        }

        return result;
    }

    /// <summary>
    /// Strategic merge patch, simplified: like a merge patch, except that lists of objects are merged
    /// item by item on their field's merge key (as the Kubernetes types declare it: <c>mountPath</c> for
    /// volumeMounts, <c>devicePath</c> for volumeDevices, <c>containerPort</c> or <c>port</c> for ports,
    /// <c>name</c> otherwise) when every item carries it, and <c>$patch: delete</c> items remove their
    /// match. Server-side apply uses the same merge.
    /// </summary>
    public static JsonNode? Strategic(JsonNode? target, JsonNode? patch) => Strategic(target, patch, field: null);

    private static JsonNode? Strategic(JsonNode? target, JsonNode? patch, string? field)
    {
        switch (patch)
        {
            case JsonObject patchObject:
                var result = target is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
                foreach (var (key, value) in patchObject)
                {
                    if (key.StartsWith('$'))
                    {
                        continue;
                    }

                    if (value is null)
                    {
                        result.Remove(key);
                    }
                    else
                    {
                        result[key] = Strategic(result[key], value, key);
                    }
                }

                return result;
            case JsonArray patchArray when target is JsonArray targetArray
                && MergeKey(field, patchArray, targetArray) is { } mergeKey:
                var merged = new JsonArray();
                var byName = targetArray.ToDictionary(i => KeyOf(i, mergeKey)!, i => i!.DeepClone());
                var order = targetArray.Select(i => KeyOf(i, mergeKey)).ToList();
                foreach (var item in patchArray)
                {
                    var name = KeyOf(item, mergeKey)!;
                    if (item!["$patch"]?.GetValue<string>() == "delete")
                    {
                        byName.Remove(name);
                        order.Remove(name);
                        continue;
                    }

                    byName[name] = Strategic(byName.GetValueOrDefault(name), item, field: null)!;
                    if (!order.Contains(name))
                    {
                        order.Add(name);
                    }
                }

                foreach (var name in order)
                {
                    if (byName.TryGetValue(name!, out var node))
                    {
                        merged.Add(node);
                    }
                }

                return merged;
            default:
                return patch?.DeepClone();
        }
    }

    /// <summary>RFC 6902 JSON patch: add, remove, replace, move, copy, test.</summary>
    public static JsonNode ApplyJsonPatch(JsonNode target, JsonArray operations)
    {
        var document = target.DeepClone();
        foreach (var op in operations)
        {
            var kind = op!["op"]!.GetValue<string>();
            var path = op["path"]!.GetValue<string>();
            switch (kind)
            {
                case "add":
                    document = Set(document, path, op["value"]?.DeepClone(), insert: true);
                    break;
                case "replace":
                    Get(document, path);
                    document = Set(document, path, op["value"]?.DeepClone(), insert: false);
                    break;
                case "remove":
                    Remove(document, path);
                    break;
                case "move":
                    var moved = Get(document, op["from"]!.GetValue<string>())?.DeepClone();
                    Remove(document, op["from"]!.GetValue<string>());
                    document = Set(document, path, moved, insert: true);
                    break;
                case "copy":
                    document = Set(document, path, Get(document, op["from"]!.GetValue<string>())?.DeepClone(), insert: true);
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(document, path), op["value"]))
                    {
                        throw new InvalidPatchException($"test operation failed at {path}");
                    }

                    break;
                default:
                    throw new InvalidPatchException($"unknown JSON patch operation \"{kind}\"");
            }
        }

        return document;
    }

    /// <summary>The merge key of a list field, when every item of both lists carries it uniquely; otherwise the list is replaced.</summary>
    private static string? MergeKey(string? field, JsonArray patch, JsonArray target)
    {
        var key = field switch
        {
            "volumeMounts" => "mountPath",
            "volumeDevices" => "devicePath",
            "ports" when patch.FirstOrDefault() is JsonObject first && first.ContainsKey("containerPort") => "containerPort",
            "ports" => "port",
            _ => "name",
        };
        return IsKeyedList(patch, key) && IsKeyedList(target, key) ? key : null;
    }

    private static bool IsKeyedList(JsonArray array, string key) =>
        array.Count > 0 && array.All(i => i is JsonObject o && o[key] is JsonValue)
        && array.Select(i => KeyOf(i, key)).Distinct(StringComparer.Ordinal).Count() == array.Count;

    private static string? KeyOf(JsonNode? node, string key) => node?[key]?.ToJsonString();

    private static string[] Tokens(string pointer) =>
        pointer.Length == 0 ? [] : pointer[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();

    private static JsonNode? Get(JsonNode document, string pointer)
    {
        JsonNode? node = document;
        foreach (var token in Tokens(pointer))
        {
            node = node switch
            {
                JsonObject o when o.ContainsKey(token) => o[token],
                JsonArray a when int.TryParse(token, out var i) && i < a.Count => a[i],
                _ => throw new InvalidPatchException($"path {pointer} does not exist"),
            };
        }

        return node;
    }

    private static JsonNode Set(JsonNode document, string pointer, JsonNode? value, bool insert)
    {
        var tokens = Tokens(pointer);
        if (tokens.Length == 0)
        {
            return value ?? throw new InvalidPatchException("cannot set the whole document to null");
        }

        var parent = Get(document, "/" + string.Join('/', tokens[..^1].Select(t => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal))));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i <= a.Count:
                if (insert)
                {
                    a.Insert(i, value);
                }
                else
                {
                    a[i] = value;
                }

                break;
            default:
                throw new InvalidPatchException($"cannot set {pointer}");
        }

        return document;
    }

    private static void Remove(JsonNode document, string pointer)
    {
        var tokens = Tokens(pointer);
        var parentPointer = tokens.Length <= 1 ? string.Empty : "/" + string.Join('/', tokens[..^1]);
        switch (Get(document, parentPointer))
        {
            case JsonObject o when o.ContainsKey(tokens[^1]):
                o.Remove(tokens[^1]);
                break;
            case JsonArray a when int.TryParse(tokens[^1], out var i) && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new InvalidPatchException($"path {pointer} does not exist");
        }
    }
}

public sealed class InvalidPatchException(string message) : Exception(message);

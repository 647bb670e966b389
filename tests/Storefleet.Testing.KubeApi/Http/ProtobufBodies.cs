using System.Text;
using System.Text.Json.Nodes;

namespace Storefleet.Testing.KubeApi.Http;

/// <summary>
/// Decodes the protobuf bodies that helm and kubectl send for a few built-in types (helm's release
/// Secrets, <c>kubectl create namespace|configmap|secret</c>): the <c>k8s\0</c> envelope
/// (runtime.Unknown) around Secret, ConfigMap or Namespace. Other types are refused with 415.
/// Field numbers follow k8s.io/api generated.proto.
/// </summary>
public static class ProtobufBodies
{
    private static readonly byte[] Magic = "k8s\0"u8.ToArray();

    public static JsonObject? TryDecode(byte[] body, out string? unsupportedKind)
    {
        unsupportedKind = null;
        if (body.Length < Magic.Length || !body.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return null;
        }

        string? apiVersion = null, kind = null;
        byte[]? raw = null;
        foreach (var (field, value) in Fields(body.AsMemory(Magic.Length)))
        {
            switch (field)
            {
                case 1:
                    foreach (var (f, v) in Fields(value))
                    {
                        if (f == 1)
                        {
                            apiVersion = Str(v);
                        }
                        else if (f == 2)
                        {
                            kind = Str(v);
                        }
                    }

                    break;
                case 2:
                    raw = value.ToArray();
                    break;
            }
        }

        if (raw is null || kind is null)
        {
            return null;
        }

        var obj = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
        switch (kind)
        {
            case "Secret":
                foreach (var (f, v) in Fields(raw))
                {
                    switch (f)
                    {
                        case 1: obj["metadata"] = Metadata(v); break;
                        case 2: Map(obj, "data", v, b => Convert.ToBase64String(b.Span)); break;
                        case 3: obj["type"] = Str(v); break;
                        case 4: Map(obj, "stringData", v, Str); break;
                        case 5: obj["immutable"] = v.Length > 0 && v.Span[0] != 0; break;
                    }
                }

                return obj;
            case "ConfigMap":
                foreach (var (f, v) in Fields(raw))
                {
                    switch (f)
                    {
                        case 1: obj["metadata"] = Metadata(v); break;
                        case 2: Map(obj, "data", v, Str); break;
                        case 3: Map(obj, "binaryData", v, b => Convert.ToBase64String(b.Span)); break;
                        case 4: obj["immutable"] = v.Length > 0 && v.Span[0] != 0; break;
                    }
                }

                return obj;
            case "Namespace":
                foreach (var (f, v) in Fields(raw))
                {
                    if (f == 1)
                    {
                        obj["metadata"] = Metadata(v);
                    }
                    else if (f == 2)
                    {
                        var finalizers = new JsonArray();
                        foreach (var (sf, sv) in Fields(v))
                        {
                            if (sf == 1)
                            {
                                finalizers.Add(Str(sv));
                            }
                        }

                        obj["spec"] = new JsonObject { ["finalizers"] = finalizers };
                    }
                }

                return obj;
            default:
                unsupportedKind = kind;
                return null;
        }
    }

    private static JsonObject Metadata(ReadOnlyMemory<byte> bytes)
    {
        var metadata = new JsonObject();
        foreach (var (f, v) in Fields(bytes))
        {
            switch (f)
            {
                case 1: metadata["name"] = Str(v); break;
                case 2: metadata["generateName"] = Str(v); break;
                case 3: metadata["namespace"] = Str(v); break;
                case 5: metadata["uid"] = Str(v); break;
                case 6: metadata["resourceVersion"] = Str(v); break;
                case 11: Map(metadata, "labels", v, Str); break;
                case 12: Map(metadata, "annotations", v, Str); break;
                case 14:
                    metadata["finalizers"] ??= new JsonArray();
                    metadata["finalizers"]!.AsArray().Add(Str(v));
                    break;
            }
        }

        foreach (var key in metadata.Where(kv => kv.Value is JsonValue value && value.TryGetValue<string>(out var s) && s.Length == 0).Select(kv => kv.Key).ToArray())
        {
            metadata.Remove(key);
        }

        return metadata;
    }

    private static void Map(JsonObject target, string name, ReadOnlyMemory<byte> entry, Func<ReadOnlyMemory<byte>, string> value)
    {
        string? key = null;
        var text = string.Empty;
        foreach (var (f, v) in Fields(entry))
        {
            if (f == 1)
            {
                key = Str(v);
            }
            else if (f == 2)
            {
                text = value(v);
            }
        }

        if (key is not null)
        {
            target[name] ??= new JsonObject();
            target[name]![key] = text;
        }
    }

    private static string Str(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>The (field number, payload) pairs of one message; varints come back as their raw bytes.</summary>
    private static List<(int Field, ReadOnlyMemory<byte> Value)> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, ReadOnlyMemory<byte>)>();
        var span = message.Span;
        var i = 0;
        while (i < span.Length)
        {
            var tag = ReadVarint(span, ref i);
            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    var start = i;
                    ReadVarint(span, ref i);
                    fields.Add((field, message[start..i]));
                    break;
                case 1:
                    fields.Add((field, message.Slice(i, 8)));
                    i += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(span, ref i);
                    fields.Add((field, message.Slice(i, length)));
                    i += length;
                    break;
                case 5:
                    fields.Add((field, message.Slice(i, 4)));
                    i += 4;
                    break;
                default:
                    throw new FormatException($"unsupported protobuf wire type {tag & 7}");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int i)
    {
        ulong result = 0;
        var shift = 0;
        while (true)
        {
            var b = span[i++];
            result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }

            shift += 7;
        }
    }
}

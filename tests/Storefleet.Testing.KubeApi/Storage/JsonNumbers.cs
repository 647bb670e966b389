using System.Globalization;
using System.Text.Json.Nodes;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>Reads numbers from JSON nodes whatever CLR type created them (parsed, int or long).</summary>
public static class JsonNumbers
{
    public static long? Long(JsonNode? node) =>
        node is JsonValue && long.TryParse(node.ToJsonString().Trim('"'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    public static int? Int(JsonNode? node) => Long(node) is { } n ? (int)n : null;
}

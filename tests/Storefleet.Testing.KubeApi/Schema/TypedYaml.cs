using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Storefleet.Testing.KubeApi.Schema;

/// <summary>
/// YAML to JSON as helm and kubectl do it (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1 scalars): a plain
/// <c>5</c> is a number, <c>"5"</c> a string, <c>true</c>/<c>yes</c>/<c>on</c> booleans, <c>~</c>/<c>null</c> null.
/// Unlike a naive conversion, the type a template author wrote (or forgot to quote) survives, so a
/// strict decode can refuse it as the API server would.
/// </summary>
public static partial class TypedYaml
{
    /// <summary>Every non-empty document of a (multi-document) YAML stream, as JSON.</summary>
    public static IReadOnlyList<JsonNode?> ParseAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Where(d => d.RootNode is not YamlScalarNode { Value: null or "" } || d.RootNode.Tag.IsEmpty is false).Select(d => Convert(d.RootNode))];
    }

    /// <summary>One YAML document as JSON.</summary>
    public static JsonNode? Parse(string yaml) => ParseAll(yaml) is [var single] ? single : throw new YamlException($"expected one YAML document, found {ParseAll(yaml).Count}");

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => Object(mapping),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(Convert)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new YamlException($"unsupported YAML node {node.NodeType}"),
    };

    private static JsonObject Object(YamlMappingNode mapping)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            // JSON keys are strings; go-yaml's YAMLToJSON turns scalar keys into their text.
            obj[((YamlScalarNode)key).Value ?? "null"] = Convert(value);
        }

        return obj;
    }

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? string.Empty;
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        if (tag is "tag:yaml.org,2002:str" || (tag is null && scalar.Style != ScalarStyle.Plain))
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (Booleans.TryGetValue(text, out var flag))
        {
            return JsonValue.Create(flag);
        }

        var digits = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (DecimalInteger().IsMatch(digits) && long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return Number(integer.ToString(CultureInfo.InvariantCulture));
        }

        if (digits.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return Number(hex.ToString(CultureInfo.InvariantCulture));
        }

        if (Octal().IsMatch(digits))
        {
            var negative = digits.StartsWith('-');
            var value = System.Convert.ToInt64(digits.TrimStart('-', '+')[1..], 8);
            return Number((negative ? -value : value).ToString(CultureInfo.InvariantCulture));
        }

        if (Float().IsMatch(digits) && double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
        {
            // As YAMLToJSON does: the float is written back as JSON, so 1.0 becomes 1 (and decodes into an integer field).
            return Number(real.ToString("R", CultureInfo.InvariantCulture));
        }

        return JsonValue.Create(text);
    }

    /// <summary>A number as parsed JSON (readable as any numeric type that holds it, as from a request body).</summary>
    private static JsonValue Number(string literal) => (JsonValue)JsonNode.Parse(literal)!;

    private static readonly Dictionary<string, bool> Booleans = new(StringComparer.Ordinal)
    {
        ["y"] = true, ["Y"] = true, ["yes"] = true, ["Yes"] = true, ["YES"] = true, ["true"] = true, ["True"] = true, ["TRUE"] = true, ["on"] = true, ["On"] = true, ["ON"] = true,
        ["n"] = false, ["N"] = false, ["no"] = false, ["No"] = false, ["NO"] = false, ["false"] = false, ["False"] = false, ["FALSE"] = false, ["off"] = false, ["Off"] = false, ["OFF"] = false,
    };

    [GeneratedRegex("^[-+]?(0|[1-9][0-9]*)$")]
    private static partial Regex DecimalInteger();

    [GeneratedRegex("^[-+]?0[0-7]+$")]
    private static partial Regex Octal();

    [GeneratedRegex(@"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}

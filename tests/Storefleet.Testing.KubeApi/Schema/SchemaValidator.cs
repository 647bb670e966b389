using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Storefleet.Testing.KubeApi.Schema;

/// <summary>One field-level validation error, as a real API server lists it in a 422 Invalid Status's causes.</summary>
public sealed record FieldError(string Reason, string Field, string Message)
{
    public static FieldError Required(string field) => new("FieldValueRequired", field, "Required value");

    public static FieldError NotSupported(string field, string value, IEnumerable<string> supported) =>
        new("FieldValueNotSupported", field, $"Unsupported value: \"{value}\": supported values: {string.Join(", ", supported.Select(s => $"\"{s}\""))}");

    public static FieldError Invalid(string field, string value, string detail) =>
        new("FieldValueInvalid", field, $"Invalid value: {value}: {detail}");

    public static FieldError Forbidden(string field, string detail) => new("FieldValueForbidden", field, $"Forbidden: {detail}");

    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>What decoding one object against its schema found.</summary>
public sealed class SchemaFindings
{
    /// <summary>The first mistyped field, in the words of Go's JSON decoder (a 400 BadRequest on a real server, whatever the field validation).</summary>
    public string? DecodeError { get; internal set; }

    /// <summary>Fields the type does not have (a 400 "strict decoding error" under <c>fieldValidation=Strict</c>; dropped otherwise).</summary>
    public List<string> UnknownFields { get; } = [];

    /// <summary>Required fields missing and values outside an enum the server enforces (a 422 Invalid).</summary>
    public List<FieldError> Invalid { get; } = [];

    public string StrictDecodingError => "strict decoding error: " + string.Join(", ", UnknownFields.Select(f => $"unknown field \"{f}\""));
}

/// <summary>
/// Decodes a JSON object against the recorded OpenAPI schema of its kind as the API server does: types
/// exactly (a number is not a string, a string is not an integer; int-or-string and quantities as the
/// server accepts them), unknown fields, required fields and enums. Messages follow the real server's.
/// </summary>
public static partial class SchemaValidator
{
    private const string QuantitySchema = "io.k8s.apimachinery.pkg.api.resource.Quantity";
    private const string TimeSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
    private const string MicroTimeSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";

    /// <summary>Checks <paramref name="obj"/> against schema <paramref name="schemaName"/>; with <paramref name="pruneUnknown"/>, unknown fields are removed from it.</summary>
    public static SchemaFindings Check(JsonObject obj, string schemaName, bool pruneUnknown = false, OpenApiSchemas? schemas = null)
    {
        var walker = new Walker(schemas ?? OpenApiSchemas.Recorded);
        var root = walker.Schemas.Get(schemaName);
        walker.Walk(obj, root, schemaName, goPath: string.Empty, goStruct: ShortName(schemaName), fieldPath: string.Empty);
        if (pruneUnknown)
        {
            foreach (var (parent, key) in walker.Unknown)
            {
                parent.Remove(key);
            }
        }

        return walker.Findings;
    }

    /// <summary>Checks an object whose kind the recorded schemas know; null when they do not know it.</summary>
    public static SchemaFindings? CheckKind(JsonObject obj, string groupVersion, string kind, bool pruneUnknown = false) =>
        OpenApiSchemas.Recorded.SchemaFor(groupVersion, kind) is { } name ? Check(obj, name, pruneUnknown) : null;

    private static string ShortName(string schemaName) => schemaName[(schemaName.LastIndexOf('.') + 1)..];

    private static readonly System.Buffers.SearchValues<char> Base64Alphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");

    [GeneratedRegex("^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")]
    private static partial Regex QuantityPattern();

    private sealed class Walker(OpenApiSchemas schemas)
    {
        public OpenApiSchemas Schemas { get; } = schemas;

        public SchemaFindings Findings { get; } = new();

        public List<(JsonObject Parent, string Key)> Unknown { get; } = [];

        public void Walk(JsonNode? node, JsonObject schema, string? schemaName, string goPath, string goStruct, string fieldPath)
        {
            (schema, schemaName) = Resolve(schema, schemaName);
            if (node is null)
            {
                return; // null decodes into anything (it leaves the field unset)
            }

            if (schemaName == QuantitySchema)
            {
                CheckQuantity(node, goPath, goStruct);
                return;
            }

            if (schema["format"]?.GetValue<string>() == "int-or-string")
            {
                if (!(IsString(node) || IsInteger(node, int.MinValue, int.MaxValue)))
                {
                    TypeError(node, goPath, goStruct, "intstr.IntOrString");
                }

                return;
            }

            var type = schema["type"]?.GetValue<string>();
            switch (type)
            {
                case "string":
                    if (!IsString(node))
                    {
                        TypeError(node, goPath, goStruct, GoType(schema, schemaName));
                        return;
                    }

                    if (schema["format"]?.GetValue<string>() == "byte")
                    {
                        CheckBase64(node.GetValue<string>());
                    }

                    CheckEnum(schema, node.GetValue<string>(), fieldPath);
                    return;
                case "integer":
                    var format = schema["format"]?.GetValue<string>();
                    var (min, max) = format == "int32" ? (int.MinValue, (long)int.MaxValue) : (long.MinValue, long.MaxValue);
                    if (!IsInteger(node, min, max))
                    {
                        TypeError(node, goPath, goStruct, GoType(schema, schemaName));
                    }

                    return;
                case "number":
                    if (node is not JsonValue number || number.GetValueKind() != JsonValueKind.Number)
                    {
                        TypeError(node, goPath, goStruct, "float64");
                    }

                    return;
                case "boolean":
                    if (node is not JsonValue flag || flag.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        TypeError(node, goPath, goStruct, "bool");
                    }

                    return;
                case "array":
                    if (node is not JsonArray array)
                    {
                        TypeError(node, goPath, goStruct, GoType(schema, schemaName));
                        return;
                    }

                    var items = schema["items"] as JsonObject;
                    for (var i = 0; i < array.Count && items is not null; i++)
                    {
                        Walk(array[i], items, null, goPath, goStruct, $"{fieldPath}[{i}]");
                    }

                    return;
                case "object":
                    WalkObject(node, schema, schemaName, goPath, goStruct, fieldPath);
                    return;
                default:
                    return; // no type: anything goes (e.g. a raw extension)
            }
        }

        private void WalkObject(JsonNode node, JsonObject schema, string? schemaName, string goPath, string goStruct, string fieldPath)
        {
            if (node is not JsonObject obj)
            {
                TypeError(node, goPath, goStruct, GoType(schema, schemaName));
                return;
            }

            if (schema["properties"] is JsonObject properties)
            {
                var structName = schemaName is null ? goStruct : ShortName(schemaName);
                var preserve = schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
                foreach (var (key, value) in obj.ToArray())
                {
                    var childGo = goPath.Length == 0 ? key : $"{goPath}.{key}";
                    var childField = fieldPath.Length == 0 ? key : $"{fieldPath}.{key}";
                    if (properties[key] is JsonObject property)
                    {
                        Walk(value, property, null, childGo, structName, childField);
                    }
                    else if (!preserve && key is not ("apiVersion" or "kind"))
                    {
                        Findings.UnknownFields.Add(childField);
                        Unknown.Add((obj, key));
                    }
                }

                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    var name = required!.GetValue<string>();
                    if (obj[name] is null)
                    {
                        Findings.Invalid.Add(FieldError.Required(fieldPath.Length == 0 ? name : $"{fieldPath}.{name}"));
                    }
                }

                return;
            }

            if (schema["additionalProperties"] is JsonObject values)
            {
                foreach (var (key, value) in obj)
                {
                    Walk(value, values, null, goPath, goStruct, $"{fieldPath}[{key}]");
                }
            }
        }

        private (JsonObject Schema, string? Name) Resolve(JsonObject schema, string? name)
        {
            while (true)
            {
                if (schema["$ref"]?.GetValue<string>() is { } reference)
                {
                    name = reference[(reference.LastIndexOf('/') + 1)..];
                    schema = Schemas.Get(name);
                    continue;
                }

                if (schema["allOf"] is JsonArray { Count: 1 } allOf && allOf[0] is JsonObject only)
                {
                    schema = only;
                    continue;
                }

                return (schema, name);
            }
        }

        private void CheckQuantity(JsonNode node, string goPath, string goStruct)
        {
            if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number)
            {
                return;
            }

            if (!IsString(node))
            {
                TypeError(node, goPath, goStruct, "resource.Quantity");
                return;
            }

            if (!QuantityPattern().IsMatch(node.GetValue<string>()))
            {
                Findings.DecodeError ??= "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
            }
        }

        private void CheckBase64(string text)
        {
            var buffer = new byte[text.Length];
            if (!Convert.TryFromBase64String(text, buffer, out _))
            {
                var bad = text.AsSpan().IndexOfAnyExcept(Base64Alphabet);
                Findings.DecodeError ??= $"illegal base64 data at input byte {(bad < 0 ? text.Length : bad)}";
            }
        }

        private void CheckEnum(JsonObject schema, string value, string fieldPath)
        {
            if (schema["enum"] is JsonArray allowed && allowed.Count > 0 && !allowed.Any(a => a?.GetValue<string>() == value))
            {
                Findings.Invalid.Add(FieldError.NotSupported(fieldPath, value, allowed.Select(a => a!.GetValue<string>())));
            }
        }

        private void TypeError(JsonNode node, string goPath, string goStruct, string goType)
        {
            // Go names the number only when it was meant for an integer it does not fit ("number 1.5").
            var integerTarget = goType is "int32" or "int64" or "int";
            Findings.DecodeError ??= $"json: cannot unmarshal {JsonType(node, integerTarget)} into Go struct field {goStruct}.{goPath} of type {goType}";
        }

        private string GoType(JsonObject schema, string? name)
        {
            if (name is not null)
            {
                return name switch
                {
                    QuantitySchema => "resource.Quantity",
                    TimeSchema or MicroTimeSchema => "v1." + ShortName(name),
                    _ when schema["type"]?.GetValue<string>() == "object" && schema["properties"] is not null => PackageQualified(name),
                    _ => GoType(schema, null),
                };
            }

            return schema["type"]?.GetValue<string>() switch
            {
                "string" => "string",
                "integer" => schema["format"]?.GetValue<string>() switch { "int32" => "int32", "int64" => "int64", _ => "int" },
                "number" => "float64",
                "boolean" => "bool",
                "array" when schema["items"] is JsonObject items => "[]" + GoType(Resolve(items, null).Schema, Resolve(items, null).Name),
                "object" when schema["additionalProperties"] is JsonObject values => "map[string]" + GoType(Resolve(values, null).Schema, Resolve(values, null).Name),
                "object" => "map[string]interface {}",
                _ => "interface {}",
            };
        }

        private static string PackageQualified(string name)
        {
            var parts = name.Split('.');
            return parts.Length >= 2 ? $"{parts[^2]}.{parts[^1]}" : name;
        }

        private static bool IsString(JsonNode node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;

        private static bool IsInteger(JsonNode node, long min, long max) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && long.TryParse(v.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max;

        private static string JsonType(JsonNode node, bool integerTarget) => node switch
        {
            JsonObject => "object",
            JsonArray => "array",
            JsonValue v => v.GetValueKind() switch
            {
                JsonValueKind.String => "string",
                JsonValueKind.Number => integerTarget ? "number " + v.ToJsonString() : "number",
                JsonValueKind.True or JsonValueKind.False => "bool",
                _ => "value",
            },
            _ => "value",
        };
    }
}

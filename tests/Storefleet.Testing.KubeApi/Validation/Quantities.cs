using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;

namespace Storefleet.Testing.KubeApi.Validation;

/// <summary>Kubernetes quantities (<c>500m</c>, <c>1Gi</c>, <c>2</c>) as decimals, and back in canonical form.</summary>
public static class Quantities
{
    public static decimal? Parse(JsonNode? node)
    {
        var text = node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number => v.ToJsonString(),
            JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
            _ => null,
        };
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        try
        {
            return new ResourceQuantity(text).ToDecimal();
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Canonical form as the server prints it: binary suffixes for memory and storage, millicores for CPU.</summary>
    public static string Format(string resource, decimal value)
    {
        var binary = resource.Contains("memory", StringComparison.Ordinal) || resource.Contains("storage", StringComparison.Ordinal);
        if (binary && value != 0 && decimal.Truncate(value) == value)
        {
            foreach (var (suffix, factor) in new[] { ("Ti", 1L << 40), ("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10) })
            {
                if (value % factor == 0)
                {
                    return (value / factor).ToString(CultureInfo.InvariantCulture) + suffix;
                }
            }
        }

        return decimal.Truncate(value) == value
            ? value.ToString(CultureInfo.InvariantCulture)
            : decimal.Truncate(value * 1000).ToString(CultureInfo.InvariantCulture) + "m";
    }
}

using k8s.Models;

namespace Storefleet.Testing.Charts.Networking;

/// <summary>metav1.LabelSelector matching: matchLabels AND every matchExpression; an empty selector matches everything.</summary>
public static class LabelSelectors
{
    public static bool Matches(V1LabelSelector? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector is null)
        {
            return true;
        }

        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        return (selector.MatchExpressions ?? []).All(requirement => Matches(requirement, labels));
    }

    private static bool Matches(V1LabelSelectorRequirement requirement, IReadOnlyDictionary<string, string> labels)
    {
        var has = labels.TryGetValue(requirement.Key, out var value);
        var values = requirement.Values ?? [];
        return requirement.OperatorProperty switch
        {
            "In" => has && values.Contains(value!),
            "NotIn" => !has || !values.Contains(value!),
            "Exists" => has,
            "DoesNotExist" => !has,
            _ => throw new ArgumentException($"unknown label selector operator {requirement.OperatorProperty}"),
        };
    }
}

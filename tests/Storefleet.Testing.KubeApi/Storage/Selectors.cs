using System.Text.Json.Nodes;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>Kubernetes label selectors: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a in (x,y)</c>, <c>a notin (x,y)</c>, <c>a</c>, <c>!a</c>.</summary>
public sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _requirements = [];

    public static LabelSelector Everything { get; } = new();

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var raw in SplitTopLevel(text))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                continue;
            }

            var inAt = IndexOfWord(term, " in ");
            var notInAt = IndexOfWord(term, " notin ");
            if (notInAt > 0)
            {
                var key = term[..notInAt].Trim();
                var values = SetValues(term[(notInAt + 7)..]);
                selector._requirements.Add(l => !l.TryGetValue(key, out var v) || !values.Contains(v));
            }
            else if (inAt > 0)
            {
                var key = term[..inAt].Trim();
                var values = SetValues(term[(inAt + 4)..]);
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if (term.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = SplitOn(term, "!=");
                selector._requirements.Add(l => !l.TryGetValue(key, out var v) || v != value);
            }
            else if (term.Contains("==", StringComparison.Ordinal))
            {
                var (key, value) = SplitOn(term, "==");
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (term.Contains('=', StringComparison.Ordinal))
            {
                var (key, value) = SplitOn(term, "=");
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (term.StartsWith('!'))
            {
                var key = term[1..].Trim();
                selector._requirements.Add(l => !l.ContainsKey(key));
            }
            else
            {
                selector._requirements.Add(l => l.ContainsKey(term));
            }
        }

        return selector;
    }

    public bool Matches(JsonObject obj) => Matches(Labels(obj));

    public bool Matches(IReadOnlyDictionary<string, string> labels) => _requirements.All(r => r(labels));

    public static IReadOnlyDictionary<string, string> Labels(JsonObject obj) =>
        obj["metadata"]?["labels"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? string.Empty)
        ?? new Dictionary<string, string>();

    private static (string Key, string Value) SplitOn(string term, string op)
    {
        var at = term.IndexOf(op, StringComparison.Ordinal);
        return (term[..at].Trim(), term[(at + op.Length)..].Trim());
    }

    private static HashSet<string> SetValues(string text) =>
        text.Trim().TrimStart('(').TrimEnd(')').Split(',').Select(v => v.Trim()).Where(v => v.Length > 0).ToHashSet(StringComparer.Ordinal);

    private static int IndexOfWord(string term, string word) => term.IndexOf(word, StringComparison.Ordinal);

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }

        yield return text[start..];
    }
}

/// <summary>Field selectors: comma-separated <c>path=value</c>, <c>path==value</c>, <c>path!=value</c> on any dotted field path.</summary>
public sealed class FieldSelector
{
    private readonly List<(string[] Path, string Value, bool Equal)> _terms = [];

    public static FieldSelector Parse(string? text)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var term in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var notEqual = term.IndexOf("!=", StringComparison.Ordinal);
            if (notEqual > 0)
            {
                selector._terms.Add((term[..notEqual].Trim().Split('.'), term[(notEqual + 2)..].Trim(), false));
                continue;
            }

            var op = term.Contains("==", StringComparison.Ordinal) ? "==" : "=";
            var at = term.IndexOf(op, StringComparison.Ordinal);
            selector._terms.Add((term[..at].Trim().Split('.'), term[(at + op.Length)..].Trim(), true));
        }

        return selector;
    }

    public bool Matches(JsonObject obj) => _terms.All(t => (Resolve(obj, t.Path) == t.Value) == t.Equal);

    private static string Resolve(JsonObject obj, string[] path)
    {
        JsonNode? node = obj;
        foreach (var part in path)
        {
            node = node is JsonObject o ? o[part] : null;
        }

        return node switch
        {
            null => string.Empty,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => node.ToJsonString(),
        };
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Storefleet.Bench;

/// <summary>
/// Where a control plane's time went: the engine's step and helm durations from its <c>/metrics</c> (sum and count per
/// step or command, summed over outcomes) and one store's timeline, so a benchmark that misses its goal says why.
/// </summary>
public static partial class TimeBreakdown
{
    public static async Task PrintAsync(HttpClient client, string? store)
    {
        var metrics = await client.GetStringAsync("/metrics");
        Print("engine steps (storefleet_step_duration_seconds)", metrics, "storefleet_step_duration_seconds", "step");
        Print("helm processes (storefleet_helm_duration_seconds)", metrics, "storefleet_helm_duration_seconds", "command");
        if (store is null)
        {
            return;
        }

        var events = JsonNode.Parse(await client.GetStringAsync($"/api/v1/stores/{store}/events"))!;
        var items = (events as JsonArray ?? events["items"]!.AsArray()).Select(e => e!).ToList();
        Console.WriteLine($"timeline of {store} (last {Math.Min(items.Count, 20)} events):");
        DateTimeOffset? previous = null;
        foreach (var item in items.TakeLast(20))
        {
            var time = DateTimeOffset.Parse(item["time"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            var gap = previous is { } p ? $"+{(time - p).TotalMilliseconds,6:0} ms" : "          ";
            var took = item["durationMs"] is { } ms ? $"({ms.GetValue<double>():0} ms) " : string.Empty;
            Console.WriteLine($"  {gap}  {item["step"]?.GetValue<string>(),-22} {took}{item["message"]?.GetValue<string>()}");
            previous = time;
        }
    }

    private static void Print(string title, string metrics, string name, string label)
    {
        var sums = Totals(metrics, name + "_sum", label);
        var counts = Totals(metrics, name + "_count", label);
        Console.WriteLine(title + ":");
        foreach (var (key, sum) in sums.OrderByDescending(s => s.Value))
        {
            var count = counts.GetValueOrDefault(key);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {key,-28}{count,6:0} × {(count == 0 ? 0 : sum / count),7:0.000} s = {sum,8:0.0} s"));
        }
    }

    private static Dictionary<string, double> Totals(string metrics, string series, string label)
    {
        var totals = new Dictionary<string, double>();
        foreach (Match match in Sample().Matches(metrics))
        {
            if (match.Groups["name"].Value != series)
            {
                continue;
            }

            var key = Regex.Match(match.Groups["labels"].Value, label + "=\"([^\"]*)\"").Groups[1].Value;
            totals[key] = totals.GetValueOrDefault(key) + double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return totals;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}

using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Storefleet.Bench;

/// <summary>Bounded waits on the control plane's API: a stuck run ends with an error, never hangs.</summary>
public static class BenchWait
{
    /// <summary>Waits until <paramref name="count"/> stores (other than <paramref name="exclude"/>) are ready; throws on a failed store or at the timeout.</summary>
    public static async Task AllReadyAsync(HttpClient http, int count, string? exclude, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var ready = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?limit=500&phase=ready"))!["items"]!.AsArray()
                .Count(i => i!["name"]!.GetValue<string>() != exclude);
            var failed = JsonNode.Parse(await http.GetStringAsync("/api/v1/stores?limit=500&phase=failed"))!["items"]!.AsArray();
            if (failed.Count > 0)
            {
                throw new InvalidOperationException($"{failed.Count} stores failed: {failed[0]!.ToJsonString()}");
            }

            if (ready >= count)
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"only {ready} of {count} stores were ready after {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(50);
        }
    }
}

using System.Globalization;

namespace Storefleet.Bench;

/// <summary>
/// The goals a benchmark run is held to: each measured figure is printed with its goal and whether it
/// was met; the process exits non-zero when any goal was missed, so a regression cannot pass unseen.
/// </summary>
public sealed class Goals
{
    private readonly List<(string Name, bool Met)> _results = [];

    public bool AllMet => _results.All(r => r.Met);

    public int ExitCode => AllMet ? 0 : 1;

    /// <summary>Prints <paramref name="value"/> against an upper bound and records whether it held.</summary>
    public void AtMost(string name, double value, double goal, string unit, string format = "0.00")
    {
        var met = value <= goal;
        _results.Add((name, met));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name + ":",-34}{value.ToString(format, CultureInfo.InvariantCulture),10} {unit,-6} (goal ≤ {goal.ToString(format, CultureInfo.InvariantCulture)} {unit}) {(met ? "met" : "NOT MET")}"));
    }

    /// <summary>Prints a figure that has no goal (context for the others).</summary>
    public static void Info(string name, double value, string unit, string format = "0.00") =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name + ":",-34}{value.ToString(format, CultureInfo.InvariantCulture),10} {unit}"));

    public void Summary()
    {
        var missed = _results.Where(r => !r.Met).Select(r => r.Name).ToList();
        Console.WriteLine(missed.Count == 0 ? "all goals met" : $"goals NOT met: {string.Join(", ", missed)}");
    }
}

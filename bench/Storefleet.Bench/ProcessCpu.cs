using System.Globalization;

namespace Storefleet.Bench;

/// <summary>CPU time of a process (user + system), from /proc, for measuring a timed window only.</summary>
public static class ProcessCpu
{
    /// <summary>Seconds of CPU the process has used so far.</summary>
    public static double Seconds(int pid)
    {
        // /proc/<pid>/stat fields 14 and 15: user and system time in clock ticks (100 per second).
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}

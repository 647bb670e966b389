using System.Globalization;

namespace Storefleet.Engine.Helm;

/// <summary>Semantic versions of charts (<c>0.1.0</c>, <c>1.2.0-rc.1</c>), compared by precedence.</summary>
public static class ChartVersions
{
    /// <summary>Negative when <paramref name="a"/> precedes <paramref name="b"/>, zero when equal, positive when it follows.</summary>
    public static int Compare(string a, string b)
    {
        var (coreA, preA) = Split(a);
        var (coreB, preB) = Split(b);
        for (var i = 0; i < Math.Max(coreA.Length, coreB.Length); i++)
        {
            var x = i < coreA.Length ? coreA[i] : 0;
            var y = i < coreB.Length ? coreB[i] : 0;
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }

        // A release precedes nothing; a pre-release precedes its release.
        return (preA, preB) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            _ => string.CompareOrdinal(preA, preB),
        };
    }

    private static (long[] Core, string? PreRelease) Split(string version)
    {
        var text = version.TrimStart('v').Split('+')[0];
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var core = dash < 0 ? text : text[..dash];
        var numbers = core.Split('.').Select(p => long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0).ToArray();
        return (numbers, dash < 0 ? null : text[(dash + 1)..]);
    }
}

using Storefleet.Core.Stores;

namespace Storefleet.Core.Rollouts;

/// <summary>
/// Whether moving a store between application versions would move it back. WordPress migrations are forward-only, so a
/// rollout never lowers WordPress or WooCommerce (an image tag compares by its leading version: <c>6.8.4-php8.3-apache</c>
/// is 6.8.4); tags it cannot read as versions are never called a downgrade.
/// </summary>
public static class AppVersionOrder
{
    public static bool IsDowngrade(AppVersions from, AppVersions to) =>
        Lower(to.WordPress, from.WordPress) || Lower(to.WooCommerce, from.WooCommerce);

    private static bool Lower(string candidate, string current) =>
        Parse(candidate) is { } a && Parse(current) is { } b && Compare(a, b) < 0;

    private static int[]? Parse(string tag)
    {
        var version = tag.Split('-', 2)[0];
        var parts = version.Split('.');
        var numbers = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out numbers[i]))
            {
                return null;
            }
        }

        return numbers;
    }

    private static int Compare(int[] a, int[] b)
    {
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var (x, y) = (i < a.Length ? a[i] : 0, i < b.Length ? b[i] : 0);
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }

        return 0;
    }
}

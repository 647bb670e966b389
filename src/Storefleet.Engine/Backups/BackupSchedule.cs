using System.Security.Cryptography;
using System.Text;

namespace Storefleet.Engine.Backups;

/// <summary>
/// A store's backup schedule as a cron expression. <c>hourly</c> and <c>daily</c> are spread over the hour and the night
/// by a stable hash of the store's name, so a fleet's backups do not all hit the repository at the same minute;
/// anything else is taken as a cron expression.
/// </summary>
public static class BackupSchedule
{
    public static string For(string store, string schedule)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(store));
        var minute = hash[0] % 60;
        // Daily backups between 01:00 and 04:59 UTC, when shops are quietest in most of Europe and the Americas' night.
        var hour = 1 + (hash[1] % 4);
        return schedule.Trim() switch
        {
            "hourly" => $"{minute} * * * *",
            "daily" => $"{minute} {hour} * * *",
            var cron => cron,
        };
    }

    /// <summary>
    /// Why <paramref name="schedule"/> is not one a store can have, or null: <c>hourly</c>, <c>daily</c>, or a cron
    /// expression of five fields (minute hour day-of-month month day-of-week) whose minute is one number (a store is
    /// backed up at most hourly) and whose other fields use numbers in their ranges, <c>*</c>, <c>/</c>, <c>,</c> and <c>-</c>.
    /// </summary>
    public static string? Invalid(string schedule)
    {
        var trimmed = schedule.Trim();
        if (trimmed is "hourly" or "daily")
        {
            return null;
        }

        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        (int Min, int Max)[] ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
        var valid = fields.Length == 5
            && int.TryParse(fields[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var minute) && minute <= 59
            && fields.Select((field, i) => Within(field, ranges[i].Min, ranges[i].Max)).All(ok => ok);
        return valid
            ? null
            : $"'{schedule}' is not a schedule a store can have: use hourly, daily, or a cron expression of five fields whose minute is a single number " +
              "(at most hourly), such as \"30 */6 * * *\" (every six hours at half past).";
    }

    /// <summary>A cron field of numbers within [min, max], ranges, lists, steps and <c>*</c>.</summary>
    private static bool Within(string field, int min, int max) =>
        field.Length <= 40 && field.Split(',').All(part =>
        {
            var (range, step) = part.Split('/') is [var r, var s] ? (r, s) : (part, "1");
            if (!int.TryParse(step, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var every) || every < 1)
            {
                return false;
            }

            return range == "*" || range.Split('-') is { Length: 1 or 2 } bounds && bounds.All(b =>
                int.TryParse(b, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max);
        });
}

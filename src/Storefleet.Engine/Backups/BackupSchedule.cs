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
    /// expression of five fields (minute hour day-of-month month day-of-week) of digits, <c>*</c>, <c>/</c>, <c>,</c> and <c>-</c>.
    /// </summary>
    public static string? Invalid(string schedule)
    {
        var trimmed = schedule.Trim();
        if (trimmed is "hourly" or "daily")
        {
            return null;
        }

        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length == 5 && fields.All(f => f.Length <= 40 && f.All(c => char.IsAsciiDigit(c) || c is '*' or '/' or ',' or '-'))
            ? null
            : $"'{schedule}' is not a schedule: use hourly, daily, or a cron expression of five fields such as \"30 */6 * * *\" (every six hours at half past).";
    }
}

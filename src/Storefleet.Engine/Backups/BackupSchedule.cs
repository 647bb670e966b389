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
}

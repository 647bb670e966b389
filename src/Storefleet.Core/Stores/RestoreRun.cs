using System.Globalization;

namespace Storefleet.Core.Stores;

/// <summary>Where a restore in place stands (see <see cref="RestoreRun"/>).</summary>
public enum RestoreStage
{
    /// <summary>A backup of the store as it is now is being taken, so a failed restore can be undone.</summary>
    SafetyBackup,

    /// <summary>WordPress is stopped and the restore Job replaces the database and wp-content.</summary>
    Restore,

    /// <summary>The data is restored: WordPress is started again and the smoke test (<c>helm test</c>) runs.</summary>
    Restart,
}

/// <summary>
/// A backup being restored into the store in place: <paramref name="Backup"/> (its id) and its restic
/// <paramref name="Snapshot"/>, asked for by <paramref name="RequestedBy"/> at <paramref name="RequestedAt"/>.
/// <paramref name="SafetyBackup"/> is the backup of the store taken first (its Job name) and <paramref name="SafetySnapshot"/>
/// its snapshot once taken; a restore asked for after a failed one keeps that one's safety backup and takes none.
/// <paramref name="Attempt"/> counts restore Jobs: a retried restore runs a new Job (a finished Job never runs again).
/// </summary>
public sealed record RestoreRun(
    string Backup,
    string Snapshot,
    string RequestedBy,
    DateTimeOffset RequestedAt,
    RestoreStage Stage,
    string? SafetyBackup,
    string? SafetySnapshot = null,
    int Attempt = 1)
{
    /// <summary>The restore's id (the chart's <c>restore.id</c>, which names the restore Job: at most 14 characters).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id
    {
        get
        {
            var id = "r" + Base36(RequestedAt.ToUnixTimeSeconds());
            return Attempt == 1 ? id : $"{id}-a{Attempt.ToString(CultureInfo.InvariantCulture)}";
        }
    }

    /// <summary>The safety backup in words for messages: where store <paramref name="store"/> as it was before the restore is kept.</summary>
    public string DescribeSafety(string store) => SafetyBackup is null
        ? "No safety backup was taken (the restore was asked for after a failed one)."
        : SafetySnapshot is null
            ? $"The safety backup {SafetyBackup} did not finish; the store's earlier backups are unchanged."
            : $"The store as it was before the restore is kept in the safety backup {SafetyBackup} (snapshot {SafetySnapshot}): restore it with POST /api/v1/stores/{store}/restore {{\"backup\":\"{SafetyBackup}\"}}, or retry to run this restore again.";

    /// <summary>The name of the safety backup Job of a restore asked for at <paramref name="requestedAt"/> (the release's backup Job prefix).</summary>
    public static string SafetyBackupJob(string release, DateTimeOffset requestedAt) =>
        $"{release}-backup-s{requestedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";

    private static string Base36(long value)
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var text = string.Empty;
        do
        {
            text = digits[(int)(value % 36)] + text;
            value /= 36;
        }
        while (value > 0);

        return text;
    }
}

namespace Storefleet.Core.Backups;

/// <summary>
/// One backup of a store: a restic snapshot of its database dump and wp-content, taken by a Job in the store's
/// namespace (its <see cref="Id"/> is the Job's name). Only metadata: the data is in the repository, whose name under the
/// platform's base URL is <see cref="Repository"/> (the store's name and uid: a later store of the same name has another).
/// <see cref="Owner"/>: the store's owner when it was taken, so its owner may still clone it once the store is deleted.
/// </summary>
public sealed record Backup(
    string Id,
    string Store,
    BackupTrigger Trigger,
    BackupStatus Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt = null,
    string? Snapshot = null,
    long? BytesAdded = null,
    long? TotalBytes = null,
    long? Files = null,
    double? DurationSeconds = null,
    string? Reason = null,
    BackupVersions? Versions = null,
    string? Repository = null,
    string? Owner = null)
{
    public bool IsFinished => Status is BackupStatus.Succeeded or BackupStatus.Failed;
}

/// <summary>What a backup was taken with: the chart and application versions the store ran.</summary>
public sealed record BackupVersions(string Chart, string WordPress, string WooCommerce);

public enum BackupTrigger
{
    /// <summary>Taken by the store's backup CronJob.</summary>
    Scheduled,

    /// <summary>Asked for by a person (POST …/backups).</summary>
    OnDemand,

    /// <summary>Taken by the engine right before a restore in place: the store as it was, should the restore fail.</summary>
    Safety,
}

public enum BackupStatus
{
    Running,
    Succeeded,
    Failed,
}

public static class BackupWire
{
    public static string ToWire(this BackupStatus status) => status switch
    {
        BackupStatus.Running => "running",
        BackupStatus.Succeeded => "succeeded",
        _ => "failed",
    };

    public static string ToWire(this BackupTrigger trigger) => trigger switch
    {
        BackupTrigger.Scheduled => "scheduled",
        BackupTrigger.Safety => "safety",
        _ => "on-demand",
    };

    /// <summary>A backup's size as a person reads it: "912 MB", "3.1 MB", "0.8 kB".</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        < 1_000_000 => $"{bytes / 1000.0:0.#} kB",
        < 1_000_000_000 => $"{bytes / 1_000_000.0:0.#} MB",
        _ => $"{bytes / 1_000_000_000.0:0.##} GB",
    };
}

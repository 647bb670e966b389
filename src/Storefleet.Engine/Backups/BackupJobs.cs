using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;
using Storefleet.Core.Backups;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Backups;

/// <summary>What the store chart's backup Jobs say about themselves: which they are, and their result.</summary>
public static class BackupJobs
{
    public const string TriggerLabel = "storefleet.io/backup-trigger";
    private const string ComponentLabel = "app.kubernetes.io/component";

    /// <summary>A backup run: a Job of the backup component whose owner is the store's backup CronJob (scheduled or on demand).</summary>
    public static bool IsBackup(V1Job job, string release) =>
        Component(job) == "backup" && OwnerCronJob(job) == $"{release}-backup";

    /// <summary>A retention-and-check run (the maintenance CronJob's Job).</summary>
    public static bool IsMaintenance(V1Job job, string release) =>
        Component(job) == "backup" && OwnerCronJob(job) == $"{release}-bk-maint";

    public static bool IsFinished(V1Job job, out bool succeeded)
    {
        var conditions = job.Status?.Conditions ?? [];
        succeeded = conditions.Any(c => c.Type == "Complete" && c.Status == "True");
        return succeeded || conditions.Any(c => c.Type == "Failed" && c.Status == "True");
    }

    public static BackupTrigger Trigger(V1Job job) =>
        job.Metadata.Labels?.TryGetValue(TriggerLabel, out var trigger) == true
            ? trigger switch { "on-demand" => BackupTrigger.OnDemand, "safety" => BackupTrigger.Safety, _ => BackupTrigger.Scheduled }
            : BackupTrigger.Scheduled;

    /// <summary>The repository the backup went to (the upload container's STORE_NAME: the store's name and uid).</summary>
    public static string? Repository(V1Job job) =>
        job.Spec?.Template?.Spec?.Containers?.FirstOrDefault(c => c.Name == "upload")?.Env?.FirstOrDefault(e => e.Name == "STORE_NAME")?.Value;

    /// <summary>
    /// The repository of a store: its name and the start of its uid, so a later store of the same name never sees,
    /// prunes or restores the backups of a deleted one.
    /// </summary>
    public static string RepositoryName(Store store) =>
        store.Uid.Length == 0 ? store.Name : $"{store.Name}-{Compact(store.Uid)}";

    /// <summary>Whether a recorded backup belongs to this store (not to an earlier store of the same name).</summary>
    public static bool BelongsTo(Backup backup, Store store) => backup.Repository is null || backup.Repository == RepositoryName(store);

    private static string Compact(string uid)
    {
        var hex = uid.Replace("-", string.Empty, StringComparison.Ordinal);
        return hex[..Math.Min(12, hex.Length)];
    }

    /// <summary>The versions the backup pod was given (its upload container's environment).</summary>
    public static BackupVersions? Versions(V1Job job)
    {
        var env = job.Spec?.Template?.Spec?.Containers?.FirstOrDefault(c => c.Name == "upload")?.Env;
        string? Value(string name) => env?.FirstOrDefault(e => e.Name == name)?.Value;
        return Value("CHART_VERSION") is { } chart ? new BackupVersions(chart, Value("WORDPRESS_VERSION") ?? "unknown", Value("WOOCOMMERCE_VERSION") ?? "unknown") : null;
    }

    /// <summary>
    /// The result a finished container wrote as its termination message (JSON: ok, snapshot, bytesAdded, totalBytes,
    /// files, durationSeconds, reason); null when it wrote none or not JSON.
    /// </summary>
    public static BackupResult? Result(string? terminationMessage)
    {
        if (string.IsNullOrWhiteSpace(terminationMessage))
        {
            return null;
        }

        try
        {
            if (JsonNode.Parse(terminationMessage) is not JsonObject json)
            {
                return null;
            }

            return new BackupResult(
                json["ok"]?.GetValue<bool>() == true,
                json["snapshot"]?.GetValue<string>(),
                Long(json["bytesAdded"]),
                Long(json["totalBytes"]),
                Long(json["files"]),
                Long(json["durationSeconds"]),
                json["reason"]?.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static long? Long(JsonNode? node) => node is JsonValue value && value.TryGetValue<long>(out var n) ? n
        : node is JsonValue other && other.TryGetValue<double>(out var d) ? (long)d
        : node is JsonValue text && text.TryGetValue<string>(out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : null;

    private static string? Component(V1Job job) => job.Metadata.Labels?.TryGetValue(ComponentLabel, out var component) == true ? component : null;

    private static string? OwnerCronJob(V1Job job) => job.Metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == "CronJob")?.Name;
}

/// <summary>A backup container's own account of its run.</summary>
public sealed record BackupResult(bool Ok, string? Snapshot, long? BytesAdded, long? TotalBytes, long? Files, long? DurationSeconds, string? Reason);

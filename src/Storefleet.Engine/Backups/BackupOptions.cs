using System.ComponentModel.DataAnnotations;

namespace Storefleet.Engine.Backups;

/// <summary>
/// <c>Storefleet:Backups</c>: where every store's backups go and how often. Off until <see cref="Repository"/> is set.
/// The repository password and credentials are Secrets in the control plane's namespace (never values, never Redis);
/// the engine copies them into each store's namespace for the backup pods.
/// </summary>
public sealed class BackupOptions
{
    public const string SectionName = "Storefleet:Backups";

    /// <summary>restic repository base URL without credentials; each store's repository is &lt;Repository&gt;/&lt;store&gt;.</summary>
    public string? Repository { get; set; }

    /// <summary>The namespace holding the Secrets below (the control plane's own).</summary>
    public string SecretsNamespace { get; set; } = "storefleet";

    /// <summary>Secret with key <c>restic-password</c>: the repositories' encryption password.</summary>
    [Required]
    public string PasswordSecret { get; set; } = "storefleet-backup-password";

    /// <summary>Optional Secret whose keys become the backup pods' environment (AWS_ACCESS_KEY_ID, RESTIC_REST_USERNAME, ...).</summary>
    public string CredentialsSecret { get; set; } = "storefleet-backup-credentials";

    /// <summary>How often each plan's stores are backed up: <c>hourly</c>, <c>daily</c> or a cron expression.</summary>
    public Dictionary<string, string> Schedules { get; set; } = new(StringComparer.Ordinal)
    {
        ["small"] = "daily",
        ["medium"] = "daily",
        ["large"] = "hourly",
    };

    /// <summary>How many backups are kept: the last of each of this many days, weeks and months.</summary>
    public BackupRetention Retention { get; set; } = new();

    /// <summary>How often every backup Job is looked at, so one that finished unwatched is still recorded.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a deleted store's backups are kept (so it can still be cloned or inspected); then its repository is
    /// purged. <c>DELETE …?purgeBackups=true</c> (admins) purges at once.
    /// </summary>
    public TimeSpan RetainAfterDeletion { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The restic image of the purge Jobs (the store chart's images.restic; a test keeps them equal).</summary>
    public string ResticImage { get; set; } = "restic/restic:0.18.1";

    public bool Enabled => !string.IsNullOrWhiteSpace(Repository);
}

public sealed class BackupRetention
{
    [Range(0, 1000)]
    public int Daily { get; set; } = 7;

    [Range(0, 1000)]
    public int Weekly { get; set; } = 4;

    [Range(0, 1000)]
    public int Monthly { get; set; } = 6;
}

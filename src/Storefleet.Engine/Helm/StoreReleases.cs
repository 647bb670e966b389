using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Hosting;
using Storefleet.Engine.Reconciling;

namespace Storefleet.Engine.Helm;

/// <summary>
/// The store's Helm release: the values the engine passes (never a secret — only the credentials
/// Secret's name), their digest (stored as a release label, so "deployed with these values" is read
/// back from the cluster), and the helm commands: upgrade --install, uninstall, rollback.
/// </summary>
public sealed class StoreReleases(HelmRunner helm, EnginePaths paths, IOptions<EngineOptions> options, IOptions<Backups.BackupOptions> backups)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTime Written, string Text)> _files = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string[] Documents, AppVersions Apps)> _apps = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _running = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentDictionary<string, byte>> _abandoned = new(StringComparer.Ordinal);

    /// <summary>
    /// The values the chart gets for this store. Everything a user sent was validated against fixed sets. With backups
    /// configured, the backup CronJobs' settings (the repository URL, the plan's schedule, retention): never a secret,
    /// only the names of the Secrets the engine copies into the namespace.
    /// </summary>
    /// <para>While a restore's data is replaced (<paramref name="withRestore"/>, see <see cref="RestoreDigest"/>), the
    /// restore block: the chart then stops WordPress and renders the restore Job.</para>
    public static string ValuesJson(Store store, StoreClusterNames names, Backups.BackupOptions? backups = null, bool withRestore = false)
    {
        var values = new JsonObject
        {
            ["plan"] = store.Spec.Plan.Id,
            ["credentials"] = new JsonObject { ["existingSecret"] = names.CredentialsSecret },
            ["bootstrap"] = new JsonObject { ["generation"] = store.BootstrapGeneration },
        };
        if (store.Placement is not null)
        {
            // A store that took over a warm-pool member: served and titled after its own name, not the member's release.
            values["storeName"] = store.Name;
        }

        if (store.Claim is { } claim)
        {
            // Part of its values for life (as a clone's source), so its digest never moves once personalised.
            values["bootstrap"]!["personaliseFrom"] = claim.Member;
        }

        if (store.IsPoolMember)
        {
            // Nobody reaches a member from outside: no Ingress (its URL is only its throwaway site URL); no backups.
            values["ingress"] = new JsonObject { ["enabled"] = false };
        }

        if (store.CloneFrom is { } source)
        {
            // A clone: its bootstrap restores the source's backup (part of its values for life, so its digest never moves).
            values["bootstrap"]!["restoreFrom"] = new JsonObject { ["snapshot"] = source.Snapshot, ["sourceStore"] = source.Repository };
        }
        if (store.Upgrade is { } upgrade)
        {
            // The release keeps its latest upgrade's (finished) Jobs: the values, and so the digest, stay the same after it.
            values["upgrade"] = new JsonObject { ["generation"] = upgrade.Generation, ["snapshot"] = upgrade.Snapshot };
        }

        if (store.Overrides is { } overrides)
        {
            if (overrides.WordPressTag is { } tag)
            {
                values["images"] = new JsonObject { ["wordpress"] = new JsonObject { ["tag"] = tag } };
            }

            if (overrides.WooCommerceVersion is { } version)
            {
                // Installed by the upgrade's migrations, not by the bootstrap (whose Job a changed template would re-run).
                if (values["upgrade"] is not JsonObject upgradeValues)
                {
                    upgradeValues = new JsonObject();
                    values["upgrade"] = upgradeValues;
                }

                upgradeValues["woocommerceVersion"] = version;
            }
        }

        if (backups is { Enabled: true } && !store.IsPoolMember)
        {
            var retention = backups.Retention;
            values["backup"] = new JsonObject
            {
                ["enabled"] = true,
                ["repository"] = backups.Repository,
                ["storeName"] = Backups.BackupJobs.RepositoryName(store),
                ["passwordSecret"] = names.BackupPasswordSecret,
                ["credentialsSecret"] = names.BackupCredentialsSecret,
                ["schedule"] = Backups.BackupSchedule.For(store.Name, store.BackupSchedule ?? backups.Schedules.GetValueOrDefault(store.Spec.Plan.Id, "daily")),
                ["retention"] = new JsonObject { ["daily"] = retention.Daily, ["weekly"] = retention.Weekly, ["monthly"] = retention.Monthly },
            };
        }

        if (withRestore && Restoring(store) is { } run)
        {
            values["restore"] = new JsonObject { ["id"] = run.Id, ["snapshot"] = run.Snapshot, ["sourceStore"] = string.Empty };
        }

        return values.ToJsonString();
    }

    /// <summary>The restore whose data is being replaced right now (the chart's restore values apply), or null.</summary>
    public static RestoreRun? Restoring(Store store) =>
        store is { Phase: StorePhase.Restoring, Restore: { Stage: RestoreStage.Restore } run } ? run : null;

    /// <summary>
    /// The values digest of the release while <paramref name="run"/> replaces the data: the pinned digest with the restore
    /// added, so the release is upgraded into the restore and back to exactly the pinned values after it.
    /// </summary>
    public static string RestoreDigest(string pinned, RestoreRun run) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{pinned}|restore|{run.Id}|{run.Snapshot}")))[..16];

    /// <summary>What this control plane would install for the store's current generation: its chart version and values digest.</summary>
    public ReleasePin Target(Store store, StoreClusterNames names) =>
        new(store.Generation, store.BootstrapGeneration, ChartVersion(store.Spec.Engine), Digest(store, names), Apps(store.Spec.Engine).With(store.Overrides));

    /// <summary>
    /// The application versions the engine chart runs with the configured values files (see <see cref="ChartAppVersions"/>);
    /// "unknown" when a values file is not valid YAML. Parsed again only when a file changed.
    /// </summary>
    public AppVersions Apps(StoreEngine engine)
    {
        var chart = paths.Chart(engine.ChartDirectory);
        string[] documents = [Read(Path.Combine(chart, "values.yaml")), .. paths.ValuesFiles(engine.ChartDirectory).Select(Read)];
        // Read hands back the same string while a file is unchanged, so this comparison is by reference on the hot path.
        if (_apps.TryGetValue(chart, out var cached) && cached.Documents.SequenceEqual(documents, StringComparer.Ordinal))
        {
            return cached.Apps;
        }

        AppVersions apps;
        try
        {
            apps = ChartAppVersions.Read(documents);
        }
        catch (InvalidDataException)
        {
            // Never a reason to stop reconciling: helm refuses the same file with its own message when it installs.
            apps = new AppVersions(ChartAppVersions.Unknown, ChartAppVersions.Unknown, ChartAppVersions.Unknown);
        }

        _apps[chart] = (documents, apps);
        return apps;
    }

    /// <summary>The version in the engine chart's Chart.yaml.</summary>
    public string ChartVersion(StoreEngine engine)
    {
        var chartYaml = Read(Path.Combine(paths.Chart(engine.ChartDirectory), "Chart.yaml"));
        var line = chartYaml.Split('\n').FirstOrDefault(l => l.StartsWith("version:", StringComparison.Ordinal));
        return line is null ? "0.0.0" : line["version:".Length..].Trim().Trim('"', '\'');
    }

    /// <summary>This control plane's own helm activity on the store's release (see <see cref="Kubernetes.ReleaseActivity"/>).</summary>
    public Kubernetes.ReleaseActivity Activity(StoreClusterNames names) =>
        new(_running.TryGetValue(Key(names), out var count) && count > 0,
            _abandoned.TryGetValue(Key(names), out var records) ? [.. records.Keys] : []);

    /// <summary>
    /// A helm run of ours on the release ended without finishing and left <paramref name="recordUid"/> pending (seen
    /// after it exited, under the lease, so no other writer exists): it may be recovered without waiting.
    /// </summary>
    public void RememberAbandoned(StoreClusterNames names, string recordUid) =>
        _abandoned.GetOrAdd(Key(names), _ => new(StringComparer.Ordinal)).TryAdd(recordUid, 0);

    /// <summary>The release was recovered or removed: forget what our runs left behind.</summary>
    public void ForgetAbandoned(StoreClusterNames names) => _abandoned.TryRemove(Key(names), out _);

    /// <summary>A digest of everything that shapes the release: the values, the values files and the chart's version.</summary>
    public string Digest(Store store, StoreClusterNames names)
    {
        var chart = paths.Chart(store.Spec.Engine.ChartDirectory);
        var material = new StringBuilder(ValuesJson(store, names, backups.Value));
        material.Append('|').Append(Read(Path.Combine(chart, "Chart.yaml")));
        foreach (var file in paths.ValuesFiles(store.Spec.Engine.ChartDirectory))
        {
            material.Append('|').Append(Read(file));
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToString())))[..16];
    }

    /// <summary>A file's text, re-read only when it changed on disk (the digest is computed on every reconcile).</summary>
    private string Read(string path)
    {
        var written = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTime.MinValue;
        if (_files.TryGetValue(path, out var cached) && cached.Written == written)
        {
            return cached.Text;
        }

        var text = written == DateTime.MinValue ? path : File.ReadAllText(path);
        _files[path] = (written, text);
        return text;
    }

    public async Task<HelmResult> UpgradeInstallAsync(Store store, StoreClusterNames names, string digest, ILeaseGuard guard, CancellationToken cancellationToken)
    {
        using var values = helm.WriteValues(ValuesJson(store, names, backups.Value, withRestore: true));
        var chart = paths.Chart(store.Spec.Engine.ChartDirectory);
        var args = new List<string> { "upgrade", "--install", names.Release, chart, "--namespace", names.Namespace };
        foreach (var file in paths.ValuesFiles(store.Spec.Engine.ChartDirectory))
        {
            args.AddRange(["--values", file]);
        }

        // Server-side apply with forced ownership: Storefleet wins every field its chart sets, so an upgrade also repairs
        // drift (a replica count scaled by hand, an edited quota) instead of failing on the other manager's conflict.
        args.AddRange([
            "--values", values.Path,
            "--server-side=true",
            "--force-conflicts",
            "--history-max", "5",
            "--timeout", Duration(options.Value.HelmTimeout),
            "--labels", Labels(store, digest),
        ]);
        return await RunAsync(names, args, guard, cancellationToken);
    }

    public Task<HelmResult> UninstallAsync(StoreClusterNames names, bool withoutHooks, ILeaseGuard guard, CancellationToken cancellationToken)
    {
        var args = new List<string> { "uninstall", names.Release, "--namespace", names.Namespace, "--ignore-not-found", "--timeout", Duration(options.Value.HelmTimeout) };
        if (withoutHooks)
        {
            args.Add("--no-hooks");
        }

        return RunAsync(names, args, guard, cancellationToken);
    }

    /// <summary><c>helm test</c>: the chart's test pod (the storefront smoke test), its log printed when it fails.</summary>
    public Task<HelmResult> TestAsync(StoreClusterNames names, ILeaseGuard guard, CancellationToken cancellationToken) =>
        RunAsync(names, ["test", names.Release, "--namespace", names.Namespace, "--timeout", Duration(options.Value.HelmTimeout), "--logs"], guard, cancellationToken);

    /// <summary>Rolls the release back to <paramref name="revision"/> (null: helm's default, the revision before the latest).</summary>
    public Task<HelmResult> RollbackAsync(StoreClusterNames names, int? revision, ILeaseGuard guard, CancellationToken cancellationToken)
    {
        var args = new List<string> { "rollback", names.Release };
        if (revision is { } target)
        {
            args.Add(target.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        args.AddRange(["--namespace", names.Namespace, "--timeout", Duration(options.Value.HelmTimeout), "--history-max", "5"]);
        return RunAsync(names, args, guard, cancellationToken);
    }

    /// <summary>Release labels: the values digest and the store's uid (whose release this is).</summary>
    private static string Labels(Store store, string digest) =>
        store.Uid.Length == 0
            ? $"{StoreClusterNames.ValuesDigestLabel}={digest}"
            : $"{StoreClusterNames.ValuesDigestLabel}={digest},{StoreClusterNames.StoreUidLabel}={store.Uid}";

    /// <summary>
    /// Runs helm for the release, marked as running here meanwhile; the lease is checked once helm has a slot, right before
    /// it starts, and a helm still running when the lease is about to expire is killed.
    /// </summary>
    private async Task<HelmResult> RunAsync(StoreClusterNames names, IReadOnlyList<string> args, ILeaseGuard guard, CancellationToken cancellationToken)
    {
        var key = Key(names);
        _running.AddOrUpdate(key, 1, (_, n) => n + 1);
        try
        {
            return await helm.RunAsync(args, guard.EnsureHeld, cancellationToken, guard.Expiring);
        }
        finally
        {
            _running.AddOrUpdate(key, 0, (_, n) => n - 1);
        }
    }

    private static string Key(StoreClusterNames names) => $"{names.Namespace}/{names.Release}";

    /// <summary>
    /// Terminal failures need a person (invalid values or chart, forbidden, a field the server refuses);
    /// everything else — connection errors, 5xx, 429, quota conflicts, a concurrent operation — heals with time.
    /// </summary>
    public static bool IsTerminal(HelmResult result)
    {
        var text = result.Stderr;
        return TerminalMarkers.Any(marker => text.Contains(marker, StringComparison.OrdinalIgnoreCase))
            && !RetryableMarkers.Any(marker => text.Contains(marker, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>helm's error in a few lines, for events (helm never prints Secret values: the engine gives it none).</summary>
    public static string Summarize(HelmResult result)
    {
        var lines = (result.Stderr + "\n" + result.Stdout)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.Contains("error", StringComparison.OrdinalIgnoreCase))
            .TakeLast(3)
            .ToList();
        var text = lines.Count > 0 ? string.Join(" ", lines) : $"helm exited with code {result.ExitCode}";
        return text.Length > 600 ? text[..600] + "…" : text;
    }

    private static readonly string[] TerminalMarkers =
    [
        "values don't meet the specifications", "parse error", "execution error at", "template:", "is forbidden",
        "strict decoding error", "is invalid:", "field is immutable", "chart requires kubeVersion", "Chart.yaml file is missing",
    ];

    private static readonly string[] RetryableMarkers =
    [
        "connection refused", "i/o timeout", "the server is currently unable", "Too many requests", "TLS handshake timeout",
        "Operation cannot be fulfilled", "another operation", "context deadline exceeded", "EOF", "Internal error", "being terminated",
    ];

    private static string Duration(TimeSpan span) => $"{(long)span.TotalSeconds}s";
}

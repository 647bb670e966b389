using Microsoft.Extensions.Options;
using Storefleet.Core.Backups;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Backups;

/// <summary>
/// The fleet's backup coverage: every live store's latest successful backup, and the stores without one recent enough
/// for their plan's schedule (hourly: within 2 hours; daily or a cron expression: within 26 hours).
/// </summary>
public sealed class FleetBackups(IStoreRepository stores, IBackupRepository backups, IOptions<BackupOptions> options, TimeProvider clock)
{
    public const int MaxListed = 200;

    public async Task<FleetBackupReport> ReadAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stale = new List<StaleStore>();
        var (live, covered) = (0, 0);
        string? next = null;
        do
        {
            var page = await stores.ListAsync(new StoreQuery(StoreQuery.MaxLimit, next), cancellationToken);
            // Warm-pool members have no backups (nothing of theirs is anyone's yet).
            foreach (var store in page.Items.Where(s => s.Phase.IsLive() && !s.IsPoolMember))
            {
                live++;
                var latest = (await backups.ListAsync(store.Name, 50, cancellationToken)).FirstOrDefault(b => b.Status == BackupStatus.Succeeded && BackupJobs.BelongsTo(b, store));
                var allowed = AllowedAge(store.Spec.Plan.Id);
                if (latest is not null && now - latest.StartedAt <= allowed)
                {
                    covered++;
                }
                else if (stale.Count < MaxListed)
                {
                    stale.Add(new StaleStore(store.Name, store.Owner, store.Spec.Plan.Id, latest?.Id, latest?.StartedAt));
                }
            }

            next = page.Continue;
        }
        while (next is not null);

        return new FleetBackupReport(options.Value.Enabled, live, covered, live - covered, stale);
    }

    private TimeSpan AllowedAge(string plan) =>
        options.Value.Schedules.GetValueOrDefault(plan, "daily").Trim() == "hourly" ? TimeSpan.FromHours(2) : TimeSpan.FromHours(26);
}

/// <summary>Live stores, how many have a recent successful backup, and (at most 200 of) those that do not.</summary>
public sealed record FleetBackupReport(bool Configured, int LiveStores, int Covered, int WithoutRecentBackup, IReadOnlyList<StaleStore> Stores);

/// <summary>A live store without a recent successful backup: its latest one, if any.</summary>
public sealed record StaleStore(string Name, string Owner, string Plan, string? LatestBackup, DateTimeOffset? LatestBackupAt);

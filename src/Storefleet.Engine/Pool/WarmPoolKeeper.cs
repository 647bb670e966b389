using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Pool;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Reconciling;

namespace Storefleet.Engine.Pool;

/// <summary>
/// Keeps each plan's warm pool at its configured size, on one replica at a time (a Redis lease): replenishes after
/// claims (one member at a time by default, and only while no person's store waits for a worker: people's creates and
/// deletes come first), then recycles members on an older chart, values or application versions one at a time (they are
/// never claimed meanwhile), deletes failed members and members unhealthy beyond a grace (reported on their timeline and
/// in the log) and members beyond a smaller size, and clears claims a killed engine left behind. Members are added only
/// below the platform's total store limit.
/// The members themselves are provisioned and deleted by the engine, as any store.
/// </summary>
public sealed partial class WarmPoolKeeper(
    IStoreRepository repository,
    IWarmPoolState pool,
    IWorkQueue queue,
    WarmPoolInventory inventory,
    EngineInstance instance,
    IOptionsMonitor<EngineOptions> options,
    IConfiguration configuration,
    TimeProvider clock,
    ILogger<WarmPoolKeeper> logger) : BackgroundService
{
    private DateTimeOffset Now => clock.GetUtcNow();

    /// <summary>Read once: the timer and the keeper's lease (three intervals) must agree for the life of the process.</summary>
    private TimeSpan Interval => _interval ??= options.CurrentValue.WarmPoolKeeping.Interval > TimeSpan.Zero ? options.CurrentValue.WarmPoolKeeping.Interval : TimeSpan.FromSeconds(10);

    private TimeSpan? _interval;

    private int MaxProvisioning => Math.Clamp(options.CurrentValue.WarmPoolKeeping.MaxProvisioning, 1, 16);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            try
            {
                if (await pool.TryKeepAsync(instance.Id, Interval * 3, stoppingToken))
                {
                    await KeepAsync(stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogKeepFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One look at the pool: claims a killed engine left, failures, size, then recycling.</summary>
    public async Task KeepAsync(CancellationToken cancellationToken)
    {
        await ClearPendingClaimsAsync(cancellationToken);
        var plans = await inventory.ReadAsync(cancellationToken);
        await RegisterAsync(plans, cancellationToken);
        // This control plane's view of which members no create may claim (another version's, or outdated).
        await pool.SetStaleAsync([.. plans.SelectMany(p => p.Members).Where(m => m.State is MemberState.Outdated or MemberState.Ahead).Select(m => m.Record.Name)], cancellationToken);
        var busy = plans.Sum(p => p.Count(MemberState.Provisioning) + p.Count(MemberState.Deleting));
        var peopleWaiting = (await repository.NamesInPhaseAsync(StorePhase.Requested, cancellationToken)).Any(n => !n.StartsWith(WarmPool.MemberPrefix, StringComparison.Ordinal));
        foreach (var plan in plans)
        {
            if (!await pool.TryKeepAsync(instance.Id, Interval * 3, cancellationToken))
            {
                // Another replica keeps the pool now.
                return;
            }

            foreach (var member in plan.Members.Where(m => m.State == MemberState.Deleting && m.Record.Phase != StorePhase.Deleting))
            {
                // Set aside earlier, but its deletion was not recorded (a conflict, or a keeper killed in between).
                await RequestDeletionAsync(member.Record, $"Warm-pool member {member.Record.Name} was set aside for deletion; deleting it.", cancellationToken);
            }

            foreach (var failed in plan.Members.Where(m => m.State == MemberState.Failed))
            {
                var reason = failed.Record.Condition(ConditionTypes.Failed) ?? failed.Record.Condition(ConditionTypes.Degraded);
                var why = $"{failed.Record.Phase.ToWire()}{(failed.Record.Phase == StorePhase.Degraded ? $" for longer than {WarmPoolInventory.DegradedGrace.TotalMinutes:0} min" : string.Empty)} ({reason?.Reason}: {reason?.Message})";
                LogMemberFailed(logger, failed.Record.Name, plan.Plan.Id, why);
                await RetireAsync(failed.Record, $"Warm-pool member {failed.Record.Name} is {why}; it is deleted and replaced.", cancellationToken);
            }

            var outdated = plan.Members.Where(m => m.State == MemberState.Outdated).ToList();
            var extra = plan.Available - plan.Size;
            if (extra > 0)
            {
                // Smaller size: outdated members go first, then the newest idle ones.
                var idle = plan.Members.Where(m => m.State == MemberState.Idle).Reverse();
                foreach (var member in outdated.Concat(idle).Take(extra).ToList())
                {
                    await RetireAsync(member.Record, $"The warm pool of plan {plan.Plan.Id} is set to {plan.Size}; member {member.Record.Name} is not needed and is deleted.", cancellationToken);
                    outdated.Remove(member);
                }

                continue;
            }

            // Refill first (a person's store waiting for a worker goes first, and at most MaxProvisioning members are on their way).
            var missing = plan.Size - plan.Available;
            for (; missing > 0 && !peopleWaiting && busy < MaxProvisioning; missing--)
            {
                if (!await AddMemberAsync(plan.Plan, cancellationToken))
                {
                    break;
                }

                busy++;
            }

            // Then recycle, one member at a time per plan, only while the pool is otherwise full and nothing of it is on its way.
            if (missing <= 0 && outdated.Count > 0 && plan.Count(MemberState.Provisioning) + plan.Count(MemberState.Deleting) == 0 && busy < MaxProvisioning)
            {
                var oldest = outdated[0].Record;
                await RetireAsync(oldest, $"Warm-pool member {oldest.Name} runs chart {oldest.Pin?.ChartVersion} with values digest {oldest.Pin?.Digest}, not what this control plane installs now: it is recycled (deleted, then replaced).", cancellationToken);
                busy++;
            }
        }
    }

    /// <summary>
    /// Claims whose store never recorded them (it was deleted, or its engine was killed and the store went on without):
    /// the member is idle again. A store that still asks (requested) or holds the claim keeps it.
    /// </summary>
    private async Task ClearPendingClaimsAsync(CancellationToken cancellationToken)
    {
        foreach (var (storeName, member) in await pool.PendingClaimsAsync(cancellationToken))
        {
            var store = await repository.GetAsync(storeName, cancellationToken);
            if (store is not null && (store.Phase == StorePhase.Requested || store.Claim?.Member == member))
            {
                continue;
            }

            await pool.ReleaseClaimAsync(member, storeName, cancellationToken);
            LogClaimCleared(logger, member, storeName);
        }
    }

    /// <summary>Members whose registration was lost (their keeper was killed right after creating them) are registered again.</summary>
    private async Task RegisterAsync(IReadOnlyList<PlanPool> plans, CancellationToken cancellationToken)
    {
        var registered = await pool.MembersAsync(cancellationToken);
        foreach (var member in plans.SelectMany(p => p.Members).Where(m => m.Record.Phase != StorePhase.Deleting && !registered.ContainsKey(m.Record.Name)))
        {
            await pool.RegisterAsync(member.Record.Name, WarmPool.Kind(member.Record.Spec), cancellationToken);
        }
    }

    private async Task<bool> AddMemberAsync(StorePlan plan, CancellationToken cancellationToken)
    {
        var now = Now;
        var member = Store.Request(WarmPool.NewMemberName(), new StoreSpec(StoreEngine.WooCommerce, plan), WarmPool.Owner, now);
        var total = configuration.GetValue("Storefleet:Access:MaxStoresTotal", 1_000);
        var created = await repository.CreateAsync(member, new StoreEvent(now, StoreEventType.Created, StorePhase.Requested,
            $"Warm-pool member requested (plan {plan.Id}): provisioned ahead, without an Ingress or backups, it waits for a create of its plan to claim it."),
            new CreateLimits(0, total, 0), cancellationToken);
        switch (created)
        {
            case CreateStoreResult.Created:
                await pool.RegisterAsync(member.Name, WarmPool.Kind(member.Spec), cancellationToken);
                await queue.EnqueueAsync(member.Name, now, cancellationToken);
                LogMemberAdded(logger, member.Name, plan.Id);
                return true;
            case CreateStoreResult.LimitReached limit:
                LogLimitReached(logger, plan.Id, limit.Limit, limit.Value);
                return false;
            default:
                return false;
        }
    }

    /// <summary>Sets an unclaimed member aside (no create claims it from now on) and asks the engine to delete it.</summary>
    private async Task RetireAsync(Store member, string why, CancellationToken cancellationToken)
    {
        if (member.Phase == StorePhase.Deleting || !await pool.RetireAsync(member.Name, cancellationToken))
        {
            return;
        }

        await RequestDeletionAsync(member, why, cancellationToken);
    }

    private async Task RequestDeletionAsync(Store member, string why, CancellationToken cancellationToken)
    {
        var current = await repository.GetAsync(member.Name, cancellationToken);
        if (current is null || !current.IsPoolMember || !current.CanTake(StoreTrigger.RequestDelete))
        {
            return;
        }

        var deleting = current.Take(StoreTrigger.RequestDelete, Now);
        if (await repository.UpdateAsync(deleting, [new StoreEvent(Now, StoreEventType.DeleteRequested, StorePhase.Deleting, why, Step: "pool-retire")], cancellationToken: cancellationToken) is UpdateStoreResult.Updated)
        {
            await queue.EnqueueAsync(member.Name, Now, cancellationToken);
            LogMemberRetired(logger, member.Name, why);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The warm pool could not be kept this time ({Reason}); it is looked at again at the next interval.")]
    private static partial void LogKeepFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-pool member {Member} (plan {Plan}) failed: {Reason}. It is deleted and replaced.")]
    private static partial void LogMemberFailed(ILogger logger, string member, string plan, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm-pool member {Member} added (plan {Plan}).")]
    private static partial void LogMemberAdded(ILogger logger, string member, string plan);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm-pool member {Member} retired: {Why}")]
    private static partial void LogMemberRetired(ILogger logger, string member, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The warm pool of plan {Plan} cannot grow: the platform is at its {Limit} limit ({Value}). Raise Storefleet:Access:MaxStoresTotal or shrink the pool.")]
    private static partial void LogLimitReached(ILogger logger, string plan, string limit, long value);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm-pool member {Member}: the claim of store {Store} was never recorded (the store is gone or went on without it); the member is idle again.")]
    private static partial void LogClaimCleared(ILogger logger, string member, string store);
}

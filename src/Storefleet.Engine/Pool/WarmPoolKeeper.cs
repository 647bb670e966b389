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
/// deletes come first), recycles members on an older chart or values one at a time, deletes failed members (reported on
/// their timeline and in the log) and members beyond a smaller size, and clears claims a killed engine left behind.
/// The members themselves are provisioned and deleted by the engine, as any store.
/// </summary>
public sealed partial class WarmPoolKeeper(
    IStoreRepository repository,
    IWarmPoolState pool,
    IWorkQueue queue,
    WarmPoolInventory inventory,
    EngineInstance instance,
    IOptions<EngineOptions> options,
    IConfiguration configuration,
    TimeProvider clock,
    ILogger<WarmPoolKeeper> logger) : BackgroundService
{
    private DateTimeOffset Now => clock.GetUtcNow();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var keeping = options.Value.WarmPoolKeeping;
        using var timer = new PeriodicTimer(keeping.Interval, clock);
        do
        {
            try
            {
                if (await pool.TryKeepAsync(instance.Id, keeping.Interval * 3, stoppingToken))
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

    /// <summary>One look at the pool: claims, failures, recycling, size.</summary>
    public async Task KeepAsync(CancellationToken cancellationToken)
    {
        await ClearStaleClaimsAsync(cancellationToken);
        var plans = await inventory.ReadAsync(cancellationToken);
        await RegisterAsync(plans, cancellationToken);
        var provisioning = plans.Sum(p => p.Count(MemberState.Provisioning) + p.Count(MemberState.Deleting));
        var peopleWaiting = (await repository.NamesInPhaseAsync(StorePhase.Requested, cancellationToken)).Any(n => !n.StartsWith(WarmPool.MemberPrefix, StringComparison.Ordinal));
        foreach (var plan in plans)
        {
            foreach (var failed in plan.Members.Where(m => m.State == MemberState.Failed))
            {
                var reason = failed.Record.Condition(ConditionTypes.Failed) ?? failed.Record.Condition(ConditionTypes.Degraded);
                LogMemberFailed(logger, failed.Record.Name, plan.Plan.Id, reason?.Message ?? failed.Record.Phase.ToWire());
                await RetireAsync(failed.Record, $"Warm-pool member {failed.Record.Name} is {failed.Record.Phase.ToWire()} ({reason?.Reason}: {reason?.Message}); it is deleted and replaced.", cancellationToken);
            }

            var idle = plan.Members.Where(m => m.State == MemberState.Idle).ToList();
            var outdated = plan.Members.Where(m => m.State == MemberState.Outdated).ToList();
            var extra = plan.Available - plan.Size;
            // Smaller size: the newest idle members go first (outdated ones before them).
            foreach (var member in outdated.Concat(idle.AsEnumerable().Reverse()).Take(Math.Max(0, extra)).ToList())
            {
                await RetireAsync(member.Record, $"The warm pool of plan {plan.Plan.Id} is set to {plan.Size}; member {member.Record.Name} is not needed and is deleted.", cancellationToken);
                outdated.Remove(member);
                extra--;
            }

            // Recycled one at a time (per plan), only while nothing else of the plan's pool is on its way.
            if (outdated.Count > 0 && plan.Count(MemberState.Provisioning) + plan.Count(MemberState.Deleting) == 0 && provisioning < options.Value.WarmPoolKeeping.MaxProvisioning)
            {
                var oldest = outdated[0].Record;
                await RetireAsync(oldest, $"Warm-pool member {oldest.Name} runs chart {oldest.Pin?.ChartVersion} with values digest {oldest.Pin?.Digest}, not what this control plane installs now: it is recycled (deleted, then replaced).", cancellationToken);
                provisioning++;
                continue;
            }

            for (var missing = plan.Size - plan.Available; missing > 0; missing--)
            {
                if (peopleWaiting || provisioning >= options.Value.WarmPoolKeeping.MaxProvisioning)
                {
                    break;
                }

                if (!await AddMemberAsync(plan.Plan, cancellationToken))
                {
                    break;
                }

                provisioning++;
            }
        }
    }

    /// <summary>Claims whose store never recorded them (it was deleted, or its engine was killed and it went on without): the member is idle again.</summary>
    private async Task ClearStaleClaimsAsync(CancellationToken cancellationToken)
    {
        foreach (var (member, storeName) in await pool.ClaimsAsync(cancellationToken))
        {
            var store = await repository.GetAsync(storeName, cancellationToken);
            if (store is null ? await repository.GetAsync(member, cancellationToken) is null : store.ClusterName == member || store.Phase == StorePhase.Requested)
            {
                // In use (or the claim is about to be recorded); a claim with neither store nor member left is forgotten by the store's removal.
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
        foreach (var member in plans.SelectMany(p => p.Members).Where(m => !registered.ContainsKey(m.Record.Name)))
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

        var current = await repository.GetAsync(member.Name, cancellationToken);
        if (current is null || !current.CanTake(StoreTrigger.RequestDelete))
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

using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;
using Storefleet.Engine.Telemetry;
using Storefleet.Infrastructure.Redis;
using Storefleet.Server.Access;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>What a command did: the HTTP answer (also read by the dashboard) and the store it produced, if any.</summary>
public sealed record CommandResult(IResult Result, Store? Store)
{
    public int Status => (Result as IStatusCodeHttpResult)?.StatusCode ?? 200;

    public bool Succeeded => Status < 400;

    /// <summary>The problem a person sees when the command was refused (title, detail and field errors).</summary>
    public Microsoft.AspNetCore.Mvc.ProblemDetails? Problem => Result switch
    {
        ProblemHttpResult p => p.ProblemDetails,
        ValidationProblem v => v.ProblemDetails,
        _ => null,
    };
}

/// <summary>
/// Create, delete and retry — the same rules for the API and the dashboard: validation at the edge,
/// limits checked atomically with the create, owner isolation (another owner's store is not found),
/// intent recorded in Redis and handed to the engine, every outcome in the audit trail.
/// </summary>
public sealed class StoreCommands(IStoreRepository repository, StoreWork work, AuditTrail audit, IOptions<AccessOptions> access, PlanChangeCheck planChecks, Storefleet.Engine.Fleet.FleetVersions versions, TimeProvider clock, ReplicaAcknowledgements replicas, CloneSources clones, Core.Pool.IWarmPoolState pool)
{
    private const int MaxWriteAttempts = 5;

    public async Task<CommandResult> CreateAsync(Actor actor, string client, CreateStoreRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (StoreName.Validate(request.Name) is { } nameError)
        {
            errors["name"] = [nameError];
        }

        var engine = request.Engine is null ? StoreEngine.WooCommerce : StoreEngine.Find(request.Engine);
        if (engine is null)
        {
            errors["engine"] = [$"Engine '{request.Engine}' is not available. Accepted engines: {StoreEngine.AcceptedIds}."];
        }

        var plan = request.Plan is null ? StorePlan.Small : StorePlan.Find(request.Plan);
        if (plan is null)
        {
            errors["plan"] = [$"Plan '{request.Plan}' does not exist. Accepted plans: {StorePlan.AcceptedIds}."];
        }

        if (errors.Count > 0)
        {
            return new CommandResult(Problems.Validation(errors), null);
        }

        CloneSource? cloneFrom = null;
        if (request.RestoreFrom is { } restoreFrom)
        {
            var (source, problem) = await clones.ResolveAsync(actor, restoreFrom, cancellationToken);
            if (problem is not null)
            {
                await Audit(actor, client, AuditActions.StoreCreate, request.Name!, "refused: clone source");
                return new(problem, null);
            }

            cloneFrom = source;
        }

        if (!actor.IsAdmin && await PlanQuotaReachedAsync(actor, plan!, cancellationToken) is { } planLimit)
        {
            await Audit(actor, client, AuditActions.StoreCreate, request.Name!, $"refused: plan {plan!.Id} quota {planLimit}");
            return new(Problems.PlanQuotaReached(plan!.Id, planLimit), null);
        }

        var quota = access.Value;
        var limits = new CreateLimits(
            MaxStoresPerOwner: actor.IsAdmin ? 0 : actor.MaxStores ?? quota.MaxStoresPerOwner,
            MaxStoresTotal: quota.MaxStoresTotal,
            MaxInProgressPerOwner: actor.IsAdmin ? 0 : quota.MaxConcurrentProvisioningPerOwner);
        var now = clock.GetUtcNow();
        var spec = new StoreSpec(engine!, plan!);
        var store = Store.Request(request.Name!, spec, actor.Subject, now) with { TraceParent = StorefleetTracing.CurrentTraceParent(), CloneFrom = cloneFrom };
        var created = new StoreEvent(now, StoreEventType.Created, StorePhase.Requested, $"Store requested by {actor.Subject}: {engine!.DisplayName}, plan {plan!.Id}" +
            (cloneFrom is null ? "." : $", a clone of store {cloneFrom.Store} from its backup {cloneFrom.Backup} (snapshot {cloneFrom.Snapshot}): its bootstrap restores that backup, then moves it to this store's URL with a new administrator password."));

        var result = await repository.CreateAsync(store, created, limits, cancellationToken);
        if (result is CreateStoreResult.Created or CreateStoreResult.AlreadyExists)
        {
            // Also a repeated create: the first attempt may have been written but not confirmed by the replicas.
            await replicas.ConfirmAsync("store creation");
        }

        if (result is CreateStoreResult.Created)
        {
            await work.NotifyAsync(store.Name);
        }

        await Audit(actor, client, AuditActions.StoreCreate, store.Name, result switch
        {
            CreateStoreResult.Created => "ok",
            CreateStoreResult.LimitReached l => $"refused: {l.Limit} {l.Value}",
            CreateStoreResult.AlreadyExists { Existing: var e } when e.Owner == actor.Subject && e.SpecHash == spec.Hash && e.Phase != StorePhase.Deleting => "ok: exists",
            _ => "refused: conflict",
        });

        return result switch
        {
            CreateStoreResult.LimitReached l => new(Problems.LimitReached(l.Limit, l.Value), null),
            CreateStoreResult.Created c => new(TypedResults.Created($"/api/v1/stores/{c.Store.Name}", work.View(c.Store)), c.Store),
            CreateStoreResult.AlreadyExists { Existing: var existing } when existing.Owner != actor.Subject => new(
                Problems.Conflict("Store name is taken.", $"A store named '{store.Name}' already exists. Choose another name.", "name-taken"), null),
            CreateStoreResult.AlreadyExists { Existing: var existing } when existing.Phase == StorePhase.Deleting => new(
                Problems.Conflict("Store is being deleted.", $"A store named '{store.Name}' is being deleted. The name can be used again once its deletion completes.", "store-deleting"), null),
            CreateStoreResult.AlreadyExists { Existing: var existing } when existing.SpecHash == spec.Hash => new(TypedResults.Ok(work.View(existing)), existing),
            CreateStoreResult.AlreadyExists { Existing: var existing } => new(Problems.Conflict(
                "A store with this name exists with another spec.",
                $"Store '{store.Name}' already exists with engine '{existing.Spec.Engine.Id}' and plan '{existing.Spec.Plan.Id}'. Choose another name, or delete the existing store first.",
                "spec-conflict"), null),
            _ => throw new InvalidOperationException("Unexpected create result."),
        };
    }

    /// <summary>
    /// Deletes a store: 202 at once (and again while it is being deleted). Its backups are kept for the platform's
    /// retention; <paramref name="purgeBackups"/> (admins only, audited) purges them once it is gone — also when asked
    /// while it is already being deleted.
    /// </summary>
    public async Task<CommandResult> DeleteAsync(Actor actor, string client, string name, CancellationToken cancellationToken, bool purgeBackups = false)
    {
        if (purgeBackups && !actor.IsAdmin)
        {
            await Audit(actor, client, AuditActions.StoreDelete, name, "refused: purgeBackups needs admin");
            return new(Problems.Forbidden(actor.Role), null);
        }

        if (name.StartsWith(Core.Pool.WarmPool.MemberPrefix, StringComparison.Ordinal) && StoresApi.InvalidName(name) is null && await pool.StoreOfAsync(name, cancellationToken) is { } claimant)
        {
            // Its namespace is about to become (or is) that store's: deleting the member would delete the store's home.
            await Audit(actor, client, AuditActions.StoreDelete, name, $"refused: claimed by {claimant}");
            return new(Problems.Conflict("The warm-pool member is being claimed.",
                $"Warm-pool member '{name}' is being taken over by a store; it is no longer a member. Delete that store instead if it should go.", "pool-member-claimed"), null);
        }

        var current = purgeBackups && StoresApi.InvalidName(name) is null ? await repository.GetAsync(name, cancellationToken) : null;
        if (current is { Phase: StorePhase.Deleting, PurgeBackups: false })
        {
            return await WriteAsync(actor, client, AuditActions.StoreDelete, name, _ => null,
                (store, now) => (store with { PurgeBackups = true, UpdatedAt = now }, new StoreEvent(now, StoreEventType.DeleteRequested, StorePhase.Deleting,
                    $"{actor.Subject} asked for the store's backups to be purged with it.")), cancellationToken);
        }

        return await ApplyTriggerAsync(
            actor, client, AuditActions.StoreDelete, name, StoreTrigger.RequestDelete,
            refuse: store => store.Phase == StorePhase.Deleting ? Accepted(work.View(store)) : null,
            describe: (before, _, now) => new StoreEvent(now, StoreEventType.DeleteRequested, StorePhase.Deleting,
                $"Deletion requested by {actor.Subject} (was {before.Phase.ToWire()}){(purgeBackups ? "; its backups are purged with it" : string.Empty)}."),
            cancellationToken,
            alter: purgeBackups ? store => store with { PurgeBackups = true } : null);
    }

    /// <summary>
    /// Retry: a failed store resumes at the step that failed; a live store whose repair was paused (DriftPersistent) or
    /// whose last plan change was rolled back has that cleared and is looked after again.
    /// </summary>
    public async Task<CommandResult> RetryAsync(Actor actor, string client, string name, CancellationToken cancellationToken)
    {
        var current = StoresApi.InvalidName(name) is null ? await repository.GetAsync(name, cancellationToken) : null;
        if (current is not null && actor.CanSee(current.Owner) && current.AwaitsPerson)
        {
            return await WriteAsync(actor, client, AuditActions.StoreRetry, name,
                store => store.AwaitsPerson ? null : Problems.Conflict("Nothing to retry.", $"Store '{name}' is {store.Phase.ToWire()} and needs nothing.", "not-failed"),
                (store, now) => (store.Resumed(now), new StoreEvent(now, StoreEventType.RetryRequested, store.Phase,
                    $"Retry requested by {actor.Subject}: automatic repair resumes{(store.Condition(ConditionTypes.UpdateFailed) is not null ? " and the failed plan change is cleared" : string.Empty)}.")),
                cancellationToken);
        }

        return await ApplyTriggerAsync(
            actor, client, AuditActions.StoreRetry, name, StoreTrigger.Retry,
            refuse: store => store.CanTake(StoreTrigger.Retry)
                ? null
                : Problems.Conflict("Only failed stores can be retried.", $"Store '{name}' is {store.Phase.ToWire()}, not failed; there is nothing to retry.", "not-failed"),
            describe: (_, after, now) => new StoreEvent(now, StoreEventType.RetryRequested, after.Phase, $"Retry requested by {actor.Subject}; resuming at {after.Phase.ToWire()}."),
            cancellationToken);
    }

    /// <summary>
    /// Changes a live store's plan in place: refused up front (nothing changed) when the store is not live, the
    /// If-Match is stale (412), a volume would have to shrink or cannot expand (422), or the owner is at the plan's quota.
    /// Otherwise the spec and its generation move on and the engine upgrades the release (202).
    /// </summary>
    public async Task<CommandResult> ChangePlanAsync(Actor actor, string client, string name, ChangeStoreRequest request, string? ifMatch, CancellationToken cancellationToken)
    {
        var (store, refused) = await FindAsync(actor, client, AuditActions.StoreChange, name, cancellationToken);
        if (store is null)
        {
            return refused!;
        }

        var errors = new Dictionary<string, string[]>();
        var plan = request.Plan is null ? null : StorePlan.Find(request.Plan);
        if (request.Plan is null)
        {
            errors["plan"] = [$"Send the plan to move to, e.g. {{\"plan\":\"medium\"}}. Accepted plans: {StorePlan.AcceptedIds}."];
        }
        else if (plan is null)
        {
            errors["plan"] = [$"Plan '{request.Plan}' does not exist. Accepted plans: {StorePlan.AcceptedIds}."];
        }

        if (request.Name is not null && request.Name != store.Name)
        {
            errors["name"] = ["A store's name cannot change. Create a new store instead."];
        }

        if (request.Engine is not null && request.Engine != store.Spec.Engine.Id)
        {
            errors["engine"] = [$"A store's engine cannot change (it is '{store.Spec.Engine.Id}')."];
        }

        if (errors.Count > 0)
        {
            return new(Problems.Validation(errors), null);
        }

        if (store.IsPoolMember)
        {
            await Audit(actor, client, AuditActions.StoreChange, name, "refused: warm-pool member");
            return new(Problems.Conflict("A warm-pool member keeps its plan.",
                $"'{name}' is a warm-pool member of plan {store.Spec.Plan.Id}. Change the pool's sizes (Storefleet:Engine:WarmPool:<plan>) instead; the keeper adds and removes members.", "pool-member"), store);
        }

        if (ifMatch is not null && !StoreETag.Matches(ifMatch, store.Generation))
        {
            await Audit(actor, client, AuditActions.StoreChange, name, "refused: stale If-Match");
            return new(Problems.PreconditionFailed(name, StoreETag.Of(store.Generation)), store);
        }

        if (plan == store.Spec.Plan)
        {
            return new(TypedResults.Ok(work.View(store)), store);
        }

        if (!store.Phase.IsLive())
        {
            await Audit(actor, client, AuditActions.StoreChange, name, $"refused: {store.Phase.ToWire()}");
            return new(Problems.Conflict("The store cannot change plan now.",
                store.Phase == StorePhase.Updating
                    ? $"Store '{name}' is already changing to plan {store.Spec.Plan.Id}; change it again once that is done."
                    : store.Phase == StorePhase.Failed
                        ? $"Store '{name}' has failed; retry it (or delete it) before changing its plan."
                        : $"Store '{name}' is {store.Phase.ToWire()}; its plan can be changed once it is ready.",
                "not-live"), store);
        }

        if (!actor.IsAdmin && await PlanQuotaReachedAsync(actor, plan!, cancellationToken) is { } planLimit)
        {
            await Audit(actor, client, AuditActions.StoreChange, name, $"refused: plan {plan!.Id} quota {planLimit}");
            return new(Problems.PlanQuotaReached(plan!.Id, planLimit), store);
        }

        switch (await planChecks.CheckAsync(store, plan!, cancellationToken))
        {
            case PlanChangeVerdict.Impossible impossible:
                await Audit(actor, client, AuditActions.StoreChange, name, $"refused: {impossible.Reason}");
                return new(Problems.Unprocessable(impossible.Reason == "volume-shrink" ? "Volumes cannot shrink." : "Volumes cannot grow.", impossible.Detail, impossible.Reason), store);
            case PlanChangeVerdict.Unknown unknown:
                return new(Problems.ClusterUnavailable($"The store's volumes could not be checked for plan {plan!.Id}: {unknown.Detail}. Nothing was changed."), store);
        }

        var from = store.Spec.Plan.Id;
        var generation = store.Generation;
        return await WriteAsync(actor, client, AuditActions.StoreChange, name,
            current => current.Generation != generation
                ? Problems.PreconditionFailed(name, StoreETag.Of(current.Generation))
                : current.Phase.IsLive() ? null : Problems.Conflict("The store cannot change plan now.", $"Store '{name}' is {current.Phase.ToWire()}.", "not-live"),
            (current, now) => (current.WithPlan(plan!, now), new StoreEvent(now, StoreEventType.SpecChanged, current.Phase,
                $"Plan change requested by {actor.Subject}: {from} → {plan!.Id} (generation {current.Generation + 1}).")),
            cancellationToken);
    }

    /// <summary>
    /// Moves one live store to the chart and application versions this control plane ships (the explicit per-store
    /// update; nothing else moves a Ready store): 202 and the engine upgrades it like a plan change, rolling back to what
    /// it ran if that fails. 200 with nothing changed when it already runs them; 409 when it is not live, runs a newer
    /// chart than this control plane ships, or the difference is one no upgrade can record.
    /// </summary>
    public async Task<CommandResult> UpgradeAsync(Actor actor, string client, string name, CancellationToken cancellationToken)
    {
        var (store, refused) = await FindAsync(actor, client, AuditActions.StoreUpgrade, name, cancellationToken);
        if (store is null)
        {
            return refused!;
        }

        if (!store.Phase.IsLive())
        {
            await Audit(actor, client, AuditActions.StoreUpgrade, name, $"refused: {store.Phase.ToWire()}");
            return new(NotLiveForUpgrade(store), store);
        }

        var shipped = versions.Shipped(store.Spec.Engine);
        var standing = versions.Standing(store);
        if (standing == Storefleet.Engine.Fleet.VersionStanding.Current)
        {
            return new(TypedResults.Ok(work.View(store)), store);
        }

        if (UpgradeRefusal(store, standing, shipped) is { } refusal)
        {
            await Audit(actor, client, AuditActions.StoreUpgrade, name, "refused: conflict");
            return new(refusal, store);
        }

        var generation = store.Generation;
        var from = store.Pin is { } pin ? $"chart {pin.ChartVersion}{(pin.Apps is { } apps ? $" (WordPress {apps.WordPress}, WooCommerce {apps.WooCommerce})" : string.Empty)}" : "its current release";
        var to = $"chart {shipped.ChartVersion} (WordPress {shipped.Apps.WordPress}, WooCommerce {shipped.Apps.WooCommerce})";
        return await WriteAsync(actor, client, AuditActions.StoreUpgrade, name,
            current => current.Generation != generation
                ? Problems.Conflict("The store changed meanwhile.", $"Store '{name}' changed while the upgrade was requested; look at it again, then ask again.", "busy")
                : UpgradeRefusal(current, versions.Standing(current), shipped),
            (current, now) => (current.WithUpgradeRequested(now, snapshot: current.Pin?.Apps != shipped.Apps.With(current.Overrides), test: true, overrides: current.Overrides), new StoreEvent(now, StoreEventType.SpecChanged, current.Phase,
                $"Upgrade requested by {actor.Subject}: {from} → {to} (generation {current.Generation + 1}).")),
            cancellationToken);
    }

    private static IResult NotLiveForUpgrade(Store store) =>
        Problems.Conflict("The store cannot be upgraded now.", store.Phase switch
        {
            StorePhase.Updating => $"Store '{store.Name}' is already being updated; upgrade it once that is done.",
            StorePhase.Failed => $"Store '{store.Name}' has failed; retry it (or delete it) first. A retried store that is still being created is installed with what this control plane ships.",
            StorePhase.Deleting => $"Store '{store.Name}' is being deleted.",
            _ => $"Store '{store.Name}' is {store.Phase.ToWire()}; it is installed with what this control plane ships until it is ready.",
        }, "not-live");

    private static IResult? UpgradeRefusal(Store store, Storefleet.Engine.Fleet.VersionStanding standing, Storefleet.Engine.Fleet.ShippedVersion shipped)
    {
        if (!store.Phase.IsLive())
        {
            return NotLiveForUpgrade(store);
        }

        return standing switch
        {
            Storefleet.Engine.Fleet.VersionStanding.Ahead => Problems.Conflict("The store runs a newer chart than this control plane ships.",
                $"Store '{store.Name}' runs chart {store.Pin!.ChartVersion}; this control plane ships {shipped.ChartVersion}. Finish upgrading the control plane; stores never move back.", "ahead"),
            Storefleet.Engine.Fleet.VersionStanding.Outdated when Storefleet.Engine.Fleet.FleetVersions.NeedsChartVersionBump(store, shipped) => Problems.Conflict(
                "The shipped chart changed without a new chart version.",
                $"Chart {shipped.ChartVersion} now ships other application versions than the ones store '{store.Name}' was installed with, but its version was not bumped, so an upgrade could not be told apart from the release it runs. Bump the version in Chart.yaml, then upgrade.", "chart-version-unchanged"),
            _ => null,
        };
    }

    /// <summary>The store a command acts on, or the answer when its name is invalid or the caller cannot see it (audited as not found).</summary>
    private async Task<(Store? Store, CommandResult? Refused)> FindAsync(Actor actor, string client, string action, string name, CancellationToken cancellationToken)
    {
        if (StoresApi.InvalidName(name) is { } invalid)
        {
            return (null, new(invalid, null));
        }

        var store = await repository.GetAsync(name, cancellationToken);
        if (store is null || !actor.CanSee(store.Owner))
        {
            await Audit(actor, client, action, name, "refused: not found");
            return (null, new(Problems.StoreNotFound(name), null));
        }

        return (store, null);
    }

    /// <summary>The owner's limit for <paramref name="plan"/> when they are at it (null: room, or no limit).</summary>
    private async Task<int?> PlanQuotaReachedAsync(Actor actor, StorePlan plan, CancellationToken cancellationToken)
    {
        if (!access.Value.MaxStoresPerPlan.TryGetValue(plan.Id, out var max) || max <= 0)
        {
            return null;
        }

        var count = 0;
        string? token = null;
        do
        {
            var page = await repository.ListAsync(new StoreQuery(StoreQuery.MaxLimit, token, Owner: actor.Subject), cancellationToken);
            count += page.Items.Count(s => s.Spec.Plan == plan && s.Phase != StorePhase.Deleting);
            token = page.Continue;
        }
        while (token is not null && count < max);

        return count >= max ? max : null;
    }

    /// <summary>Read, check, change, write with the record's version (a few tries on a concurrent change), then hand to the engine.</summary>
    private async Task<CommandResult> WriteAsync(
        Actor actor,
        string client,
        string action,
        string name,
        Func<Store, IResult?> refuse,
        Func<Store, DateTimeOffset, (Store Next, StoreEvent Event)> change,
        CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var store = await repository.GetAsync(name, cancellationToken);
            if (store is null || !actor.CanSee(store.Owner))
            {
                return new(Problems.StoreNotFound(name), null);
            }

            if (refuse(store) is { } answer)
            {
                await Audit(actor, client, action, name, "refused: conflict");
                return new(answer, store);
            }

            var now = clock.GetUtcNow();
            var (next, storeEvent) = change(store, now);
            next = next with { TraceParent = StorefleetTracing.CurrentTraceParent() };
            if (await repository.UpdateAsync(next, [storeEvent], cancellationToken: cancellationToken) is UpdateStoreResult.Updated updated)
            {
                await replicas.ConfirmAsync("store change");
                await work.NotifyAsync(name);
                await Audit(actor, client, action, name, "ok");
                return new(Accepted(work.View(updated.Store)), updated.Store);
            }
        }

        return new(Problems.Conflict("The store is changing.", $"Store '{name}' changed several times while this request was applied; send the request again.", "busy"), null);
    }

    /// <summary>
    /// Read, check, move, write with the record's version; on a concurrent change, read again (a few times).
    /// <paramref name="refuse"/> answers instead of moving (e.g. already deleting, not failed).
    /// </summary>
    private async Task<CommandResult> ApplyTriggerAsync(
        Actor actor,
        string client,
        string action,
        string name,
        StoreTrigger trigger,
        Func<Store, IResult?> refuse,
        Func<Store, Store, DateTimeOffset, StoreEvent> describe,
        CancellationToken cancellationToken,
        Func<Store, Store>? alter = null)
    {
        if (StoresApi.InvalidName(name) is { } invalid)
        {
            return new(invalid, null);
        }

        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var store = await repository.GetAsync(name, cancellationToken);
            if (store is null || !actor.CanSee(store.Owner))
            {
                await Audit(actor, client, action, name, "refused: not found");
                return new(Problems.StoreNotFound(name), null);
            }

            if (refuse(store) is { } answer)
            {
                await Audit(actor, client, action, name, answer is IStatusCodeHttpResult { StatusCode: 202 } ? "ok: already" : "refused: conflict");
                return new(answer, store);
            }

            var now = clock.GetUtcNow();
            var next = store.Take(trigger, now) with { TraceParent = StorefleetTracing.CurrentTraceParent() };
            next = alter?.Invoke(next) ?? next;
            switch (await repository.UpdateAsync(next, [describe(store, next, now)], cancellationToken: cancellationToken))
            {
                case UpdateStoreResult.Updated updated:
                    await replicas.ConfirmAsync("store change");
                    await work.NotifyAsync(name);
                    await Audit(actor, client, action, name, "ok");
                    return new(Accepted(work.View(updated.Store)), updated.Store);
                case UpdateStoreResult.NotFound:
                    return new(Problems.StoreNotFound(name), null);
            }
        }

        return new(Problems.Conflict("The store is changing.", $"Store '{name}' changed several times while this request was applied; send the request again.", "busy"), null);
    }

    private Task Audit(Actor actor, string client, string action, string store, string result) =>
        audit.RecordAsync(new AuditEntry(clock.GetUtcNow(), actor.Subject, actor.Role, client, action, $"store/{store}", result));

    private static Accepted<StoreResource> Accepted(StoreResource store) =>
        TypedResults.Accepted($"/api/v1/stores/{store.Name}", store);
}

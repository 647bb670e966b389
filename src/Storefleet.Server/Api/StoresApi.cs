using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Storefleet.Core.Stores;
using Storefleet.Server.Access;
using Storefleet.Engine.Kubernetes;
using Storefleet.Engine.Reconciling;
using Storefleet.Server.Api.Idempotency;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>The stores REST API under <c>/api/v1/stores</c>. Handlers record intent in Redis and return; they never wait for the cluster.</summary>
public static class StoresApi
{
    private const int MaxWriteAttempts = 5;

    public static IEndpointRouteBuilder MapStoresApi(this IEndpointRouteBuilder app)
    {
        var stores = app.MapGroup("/api/v1/stores").WithTags("Stores").RequireAuthorization(AccessPolicies.Read);

        stores.MapPost("/", CreateStore)
            .WithName("CreateStore")
            .WithSummary("Request a new store")
            .WithDescription("Records the store (phase requested) and returns at once. The same name and spec again returns the existing store (200); the same name with another spec is a 409. Send an Idempotency-Key header to replay the first answer for 24 hours.")
            .Accepts<CreateStoreRequest>("application/json")
            .Produces<StoreResource>(StatusCodes.Status201Created)
            .Produces<StoreResource>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithMetadata(new IdempotentEndpoint())
            .RequireAuthorization(AccessPolicies.Write)
            .RequireRateLimiting(AccessServiceCollectionExtensions.CreatePolicy);

        stores.MapGet("/", ListStores)
            .WithName("ListStores")
            .WithSummary("List stores, newest first, a page at a time");

        stores.MapGet("/{name}", GetStore)
            .WithName("GetStore")
            .WithSummary("Get one store");

        stores.MapGet("/{name}/events", GetStoreEvents)
            .WithName("GetStoreEvents")
            .WithSummary("Get a store's event timeline, oldest first");

        stores.MapDelete("/{name}", DeleteStore)
            .WithName("DeleteStore")
            .WithSummary("Request deletion of a store")
            .WithDescription("Marks the store for deletion and returns 202 at once; repeating it while deletion is in progress returns 202 again.")
            .RequireAuthorization(AccessPolicies.Write);

        stores.MapPost("/{name}/retry", RetryStore)
            .WithName("RetryStore")
            .WithSummary("Retry a failed store from the step that failed")
            .RequireAuthorization(AccessPolicies.Write);

        stores.MapGet("/{name}/credentials", GetCredentials)
            .WithName("GetStoreCredentials")
            .WithSummary("Read the store's WordPress administrator login from its Secret")
            .WithDescription("Read on demand from the cluster; never stored in Redis, never logged, never cached (Cache-Control: no-store).")
            .RequireAuthorization(AccessPolicies.Write);

        app.MapGet("/api/v1/orphans", ListOrphans)
            .WithTags("Administration")
            .WithName("ListOrphanNamespaces")
            .WithSummary("Namespaces labelled as Storefleet stores that have no store record (reported, never deleted automatically)")
            .RequireAuthorization(AccessPolicies.Administer);

        return app;
    }

    internal static async Task<IResult> CreateStore(
        HttpContext http, IStoreRepository repository, IActorAccessor actors, StoreWork work, AuditTrail audit, IOptions<AccessOptions> access, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (request, problem) = await JsonRequestBody.ReadAsync<CreateStoreRequest>(http.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>();
        if (StoreName.Validate(request!.Name) is { } nameError)
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
            return Problems.Validation(errors);
        }

        var actor = actors.Current(http);
        var quota = access.Value;
        var limits = new CreateLimits(
            MaxStoresPerOwner: actor.IsAdmin ? 0 : actor.MaxStores ?? quota.MaxStoresPerOwner,
            MaxStoresTotal: quota.MaxStoresTotal,
            MaxInProgressPerOwner: actor.IsAdmin ? 0 : quota.MaxConcurrentProvisioningPerOwner);
        var now = clock.GetUtcNow();
        var spec = new StoreSpec(engine!, plan!);
        var store = Store.Request(request.Name!, spec, actor.Subject, now);
        var created = new StoreEvent(now, StoreEventType.Created, StorePhase.Requested, $"Store requested by {actor.Subject}: {engine!.DisplayName}, plan {plan!.Id}.");

        var result = await repository.CreateAsync(store, created, limits, cancellationToken);
        if (result is CreateStoreResult.Created)
        {
            await work.NotifyAsync(store.Name);
        }

        await audit.RecordAsync(http, AuditActions.StoreCreate, $"store/{store.Name}", result switch
        {
            CreateStoreResult.Created => "ok",
            CreateStoreResult.LimitReached l => $"refused: {l.Limit} {l.Value}",
            CreateStoreResult.AlreadyExists { Existing: var e } when e.Owner == actor.Subject && e.SpecHash == spec.Hash && e.Phase != StorePhase.Deleting => "ok: exists",
            _ => "refused: conflict",
        });

        return result switch
        {
            CreateStoreResult.LimitReached l => Problems.LimitReached(l.Limit, l.Value),
            CreateStoreResult.Created c => TypedResults.Created($"/api/v1/stores/{c.Store.Name}", work.View(c.Store)),
            CreateStoreResult.AlreadyExists { Existing: var existing } when existing.Owner != actor.Subject =>
                Problems.Conflict("Store name is taken.", $"A store named '{store.Name}' already exists. Choose another name.", "name-taken"),
            CreateStoreResult.AlreadyExists { Existing: var existing } when existing.Phase == StorePhase.Deleting =>
                Problems.Conflict("Store is being deleted.", $"A store named '{store.Name}' is being deleted. The name can be used again once its deletion completes.", "store-deleting"),
            CreateStoreResult.AlreadyExists { Existing: var existing } when existing.SpecHash == spec.Hash =>
                TypedResults.Ok(work.View(existing)),
            CreateStoreResult.AlreadyExists { Existing: var existing } =>
                Problems.Conflict(
                    "A store with this name exists with another spec.",
                    $"Store '{store.Name}' already exists with engine '{existing.Spec.Engine.Id}' and plan '{existing.Spec.Plan.Id}'. Choose another name, or delete the existing store first.",
                    "spec-conflict"),
            _ => throw new InvalidOperationException("Unexpected create result."),
        };
    }

    internal static async Task<IResult> ListStores(
        HttpContext http, IStoreRepository repository, IActorAccessor actors, StoreWork work, int? limit, string? @continue, string? phase, string? owner, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (limit is < 1 or > StoreQuery.MaxLimit)
        {
            errors["limit"] = [$"limit must be between 1 and {StoreQuery.MaxLimit}."];
        }

        StorePhase? phaseFilter = null;
        if (phase is not null)
        {
            if (StorePhaseExtensions.TryParseWire(phase, out var parsed))
            {
                phaseFilter = parsed;
            }
            else
            {
                errors["phase"] = [$"Unknown phase '{phase}'. Accepted phases: {StorePhaseExtensions.AcceptedWireValues}."];
            }
        }

        if (owner is { Length: 0 or > 256 })
        {
            errors["owner"] = ["owner must be 1 to 256 characters."];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        try
        {
            // Everyone but admins sees only their own stores, whatever owner they ask for.
            var actor = actors.Current(http);
            var ownerFilter = actor.IsAdmin ? owner : actor.Subject;
            var page = await repository.ListAsync(new StoreQuery(limit ?? StoreQuery.DefaultLimit, @continue, phaseFilter, ownerFilter), cancellationToken);
            return TypedResults.Ok(new StoreListResource(page.Items.Select(work.View).ToArray(), page.Continue));
        }
        catch (InvalidContinueTokenException e)
        {
            return Problems.Validation("continue", e.Message);
        }
    }

    internal static async Task<IResult> GetStore(string name, HttpContext http, IStoreRepository repository, IActorAccessor actors, StoreWork work, CancellationToken cancellationToken)
    {
        if (InvalidName(name) is { } invalid)
        {
            return invalid;
        }

        var store = await repository.GetAsync(name, cancellationToken);
        return store is null || !actors.Current(http).CanSee(store.Owner) ? Problems.StoreNotFound(name) : TypedResults.Ok(work.View(store));
    }

    internal static async Task<IResult> GetStoreEvents(string name, HttpContext http, IStoreRepository repository, IActorAccessor actors, CancellationToken cancellationToken)
    {
        if (InvalidName(name) is { } invalid)
        {
            return invalid;
        }

        // Only the owner (or an admin) reads a timeline; a deleted store's tombstone timeline is admin-only.
        var store = await repository.GetAsync(name, cancellationToken);
        var actor = actors.Current(http);
        if (store is null ? !actor.IsAdmin : !actor.CanSee(store.Owner))
        {
            return Problems.StoreNotFound(name);
        }

        var events = await repository.GetEventsAsync(name, cancellationToken);
        if (events.Count == 0 && store is null)
        {
            return Problems.StoreNotFound(name);
        }

        return TypedResults.Ok(new StoreEventListResource(events.Select(StoreEventResource.From).ToArray()));
    }

    internal static Task<IResult> DeleteStore(string name, HttpContext http, IStoreRepository repository, StoreWork work, AuditTrail audit, IActorAccessor actors, TimeProvider clock, CancellationToken cancellationToken) =>
        ApplyTriggerAsync(
            new TriggerRequest(http, actors.Current(http), audit, AuditActions.StoreDelete),
            name,
            StoreTrigger.RequestDelete,
            refuse: store => store.Phase == StorePhase.Deleting ? Accepted(work.View(store)) : null,
            describe: (before, _, now) => new StoreEvent(now, StoreEventType.DeleteRequested, StorePhase.Deleting, $"Deletion requested (was {before.Phase.ToWire()})."),
            repository,
            work,
            clock,
            cancellationToken);

    internal static Task<IResult> RetryStore(string name, HttpContext http, IStoreRepository repository, StoreWork work, AuditTrail audit, IActorAccessor actors, TimeProvider clock, CancellationToken cancellationToken) =>
        ApplyTriggerAsync(
            new TriggerRequest(http, actors.Current(http), audit, AuditActions.StoreRetry),
            name,
            StoreTrigger.Retry,
            refuse: store => store.CanTake(StoreTrigger.Retry)
                ? null
                : Problems.Conflict("Only failed stores can be retried.", $"Store '{name}' is {store.Phase.ToWire()}, not failed; there is nothing to retry.", "not-failed"),
            describe: (_, after, now) => new StoreEvent(now, StoreEventType.RetryRequested, after.Phase, $"Retry requested; resuming at {after.Phase.ToWire()}."),
            repository,
            work,
            clock,
            cancellationToken);

    internal static async Task<IResult> GetCredentials(
        string name, HttpContext http, IStoreRepository repository, StoreCredentialsReader reader, IActorAccessor actors, AuditTrail audit, CancellationToken cancellationToken)
    {
        if (InvalidName(name) is { } invalid)
        {
            return invalid;
        }

        var store = await repository.GetAsync(name, cancellationToken);
        if (store is null || !actors.Current(http).CanSee(store.Owner))
        {
            await audit.RecordAsync(http, AuditActions.StoreCredentials, $"store/{name}", "refused: not found");
            return Problems.StoreNotFound(name);
        }

        http.Response.Headers.CacheControl = "no-store";
        var (credentials, unavailable, detail) = await reader.ReadAsync(name, cancellationToken);
        await audit.RecordAsync(http, AuditActions.StoreCredentials, $"store/{name}", unavailable is null ? "ok" : $"refused: {unavailable}");
        return unavailable switch
        {
            CredentialsUnavailable.NoCluster => Problems.ClusterUnavailable(detail),
            CredentialsUnavailable.NotCreatedYet => Problems.Conflict("Credentials are not created yet.", $"{detail} Try again once the store is provisioning.", "credentials-not-ready"),
            _ => TypedResults.Ok(new CredentialsResource(credentials!.AdminUser, credentials.AdminPassword, store.Urls?.Admin)),
        };
    }

    internal static async Task<IResult> ListOrphans(OrphanNamespaces orphans) =>
        TypedResults.Ok(new OrphanListResource([.. (await orphans.ListAsync()).Select(o => new OrphanResource(o.Namespace, o.Store, o.FirstSeen, o.Message))]));

    /// <summary>
    /// Read, check, move, write with the record's version; on a concurrent change, read again (a few times).
    /// <paramref name="refuse"/> answers instead of moving (e.g. already deleting, not failed).
    /// </summary>
    private static async Task<IResult> ApplyTriggerAsync(
        TriggerRequest request,
        string name,
        StoreTrigger trigger,
        Func<Store, IResult?> refuse,
        Func<Store, Store, DateTimeOffset, StoreEvent> describe,
        IStoreRepository repository,
        StoreWork work,
        TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (InvalidName(name) is { } invalid)
        {
            return invalid;
        }

        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var store = await repository.GetAsync(name, cancellationToken);
            if (store is null || !request.Actor.CanSee(store.Owner))
            {
                await request.AuditAsync(name, "refused: not found");
                return Problems.StoreNotFound(name);
            }

            if (refuse(store) is { } answer)
            {
                await request.AuditAsync(name, answer is IStatusCodeHttpResult { StatusCode: 202 } ? "ok: already" : "refused: conflict");
                return answer;
            }

            var now = clock.GetUtcNow();
            var next = store.Take(trigger, now);
            switch (await repository.UpdateAsync(next, [describe(store, next, now)], cancellationToken: cancellationToken))
            {
                case UpdateStoreResult.Updated updated:
                    await work.NotifyAsync(name);
                    await request.AuditAsync(name, "ok");
                    return Accepted(work.View(updated.Store));
                case UpdateStoreResult.NotFound:
                    return Problems.StoreNotFound(name);
            }
        }

        return BusyConflict(name);
    }

    /// <summary>Who asked for a delete or retry, for the owner check and the audit trail.</summary>
    private sealed record TriggerRequest(HttpContext Http, Actor Actor, AuditTrail Audit, string Action)
    {
        public Task AuditAsync(string store, string result) => Audit.RecordAsync(Http, Action, $"store/{store}", result);
    }

    private static Accepted<StoreResource> Accepted(StoreResource store) =>
        TypedResults.Accepted($"/api/v1/stores/{store.Name}", store);

    private static IResult BusyConflict(string name) =>
        Problems.Conflict("The store is changing.", $"Store '{name}' changed several times while this request was applied; send the request again.", "busy");

    private static IResult? InvalidName(string name) =>
        StoreName.Validate(name) is { } error ? Problems.Validation("name", error) : null;
}

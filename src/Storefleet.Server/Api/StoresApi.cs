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
            .WithSummary("List stores, newest first, a page at a time — or watch them")
            .WithDescription("Filters: ?phase=, ?owner= (admins), ?name= (stores whose name, or one of its hyphen-separated words, starts with the text: 'shop' finds 'shop-1' and 'alice-shop'). Pass ?continue= from the previous page. " +
                "With ?watch=true the answer is a Server-Sent Events stream (text/event-stream): 'added' for every store you may see, 'synced', then " +
                "'added' / 'modified' (data: the store) and 'deleted' (data: its name) as records change, and 'heartbeat' when idle. Each event's id is a " +
                "position in the change feed: reconnect with Last-Event-ID to continue after it; if the feed no longer reaches back that far you get " +
                "'relist' (list again, then watch without Last-Event-ID). At most Storefleet:Streams:MaxStreamsPerClient open streams per client (429 beyond).")
            .Produces<StoreListResource>(StatusCodes.Status200OK)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        stores.MapGet("/{name}", GetStore)
            .WithName("GetStore")
            .WithSummary("Get one store");

        stores.MapGet("/{name}/events", GetStoreEvents)
            .WithName("GetStoreEvents")
            .WithSummary("Get a store's event timeline, oldest first — or follow it")
            .WithDescription("With ?follow=true the answer is a Server-Sent Events stream: the timeline ('store-event', id = the event's id in the " +
                "timeline), then each new event as it is written, 'heartbeat' when idle; it ends after the store's 'deleted' event. Reconnect with " +
                "Last-Event-ID to continue after the last event you saw; 'gap' says which events were trimmed meanwhile.")
            .Produces<StoreEventListResource>(StatusCodes.Status200OK)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        stores.MapDelete("/{name}", DeleteStore)
            .WithName("DeleteStore")
            .WithSummary("Request deletion of a store")
            .WithDescription("Marks the store for deletion and returns 202 at once; repeating it while deletion is in progress returns 202 again. Its backups are kept " +
                "for the platform's retention (Storefleet:Backups:RetainAfterDeletion, 30 days by default), so it can be cloned; ?purgeBackups=true (admins) purges them once it is gone.")
            .RequireAuthorization(AccessPolicies.Write);

        stores.MapPatch("/{name}", ChangeStore)
            .WithName("ChangeStore")
            .WithSummary("Change a live store's plan in place")
            .WithDescription("Send application/merge-patch+json, e.g. {\"plan\":\"medium\"}, with If-Match set to the store's ETag (from GET). 202: the engine upgrades the " +
                "release (phase updating), the old plan serving meanwhile. 412: the spec changed since you read it. 422: a volume would have to shrink, or its storage class " +
                "does not allow expansion (nothing changed). 409: the store is not ready or degraded.")
            .Accepts<ChangeStoreRequest>("application/merge-patch+json")
            .Produces<StoreResource>(StatusCodes.Status202Accepted)
            .Produces<StoreResource>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(AccessPolicies.Write);

        stores.MapPost("/{name}/retry", RetryStore)
            .WithName("RetryStore")
            .WithSummary("Retry a failed store from the step that failed, or resume the care of a live store (paused drift repair, a failed plan change)")
            .RequireAuthorization(AccessPolicies.Write);

        stores.MapPost("/{name}/upgrade", UpgradeStore)
            .WithName("UpgradeStore")
            .WithSummary("Move a ready store to the chart and application versions this control plane ships")
            .WithDescription("202: the store is updated like a plan change (phase updating, the old release serving meanwhile) and rolled back to what it ran if that fails. 200 with nothing changed when it already runs what this control plane ships. 409 when it is not ready or degraded, runs a newer chart than this control plane ships, or the shipped chart changed without a new version. Outdated stores are never upgraded otherwise (GET /api/v1/fleet lists them).")
            .ProducesProblem(StatusCodes.Status409Conflict)
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

        app.MapGet("/api/v1/fleet", ReadFleet)
            .WithTags("Administration")
            .WithName("ReadFleetVersions")
            .WithSummary("The fleet by chart and application version, and which stores are outdated relative to what this control plane ships")
            .WithDescription("Reads every store record (Redis, not the cluster). A store is outdated when this control plane would install it with another values digest and ships the same or a newer chart; ahead when it runs a newer chart than this control plane ships (a control-plane upgrade in progress). Nothing is upgraded by reading this: an outdated Ready store keeps its version until a rollout or a per-store update moves it. Lists carry at most 200 names; the counts are complete.")
            .Produces<Storefleet.Engine.Fleet.FleetVersionReport>()
            .RequireAuthorization(AccessPolicies.Administer);

        return app;
    }

    internal static async Task<IResult> ReadFleet(Storefleet.Engine.Fleet.FleetVersions fleet, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await fleet.ReadAsync(cancellationToken));
        }
        catch (Exception e) when (Storefleet.Engine.Fleet.FleetVersions.IsChartsUnreadable(e))
        {
            return ChartsUnreadable(e);
        }
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult ChartsUnreadable(Exception e) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "This control plane cannot read the charts it ships.",
            detail: $"{e.Message} Set Storefleet:Engine:ChartsDirectory (and ValuesFiles) to the charts this control plane installs.",
            type: Problems.TypeBase + "charts-unreadable");

    internal static async Task<IResult> UpgradeStore(HttpContext http, string name, StoreCommands commands, IActorAccessor actors, CancellationToken cancellationToken)
    {
        try
        {
            return (await commands.UpgradeAsync(actors.Current(http), AuditTrail.ClientAddress(http), name, cancellationToken)).Result;
        }
        catch (Exception e) when (Storefleet.Engine.Fleet.FleetVersions.IsChartsUnreadable(e))
        {
            return ChartsUnreadable(e);
        }
    }

    internal static async Task<IResult> CreateStore(HttpContext http, StoreCommands commands, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var (request, problem) = await JsonRequestBody.ReadAsync<CreateStoreRequest>(http.Request, cancellationToken);
        return problem ?? (await commands.CreateAsync(actors.Current(http), AuditTrail.ClientAddress(http), request!, cancellationToken)).Result;
    }

    internal static async Task<IResult> ListStores(
        HttpContext http, IStoreRepository repository, IActorAccessor actors, StoreWork work, Streaming.StoreStreams streams,
        int? limit, string? @continue, string? phase, string? owner, string? name, bool? watch, CancellationToken cancellationToken)
    {
        if (watch == true)
        {
            if (LastEventId(http, out var after) is { } badId)
            {
                return badId;
            }

            return OpenStream(http, streams, opened => TypedResults.ServerSentEvents(streams.WatchAsync(actors.Current(http), after, opened, cancellationToken)));
        }

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

        if (name is { Length: 0 or > 40 } || (name is not null && !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            errors["name"] = ["name (a search: stores whose name or one of its words starts with it) must be 1 to 40 lowercase letters, digits or hyphens."];
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
            var page = await repository.ListAsync(new StoreQuery(limit ?? StoreQuery.DefaultLimit, @continue, phaseFilter, ownerFilter, name), cancellationToken);
            return TypedResults.Ok(new StoreListResource(page.Items.Select(work.View).ToArray(), page.Continue));
        }
        catch (InvalidContinueTokenException e)
        {
            return Problems.Validation("continue", e.Message);
        }
        catch (SearchTooBroadException e)
        {
            return Problems.Validation("name", e.Message);
        }
    }

    internal static async Task<IResult> GetStore(string name, HttpContext http, IStoreRepository repository, IActorAccessor actors, StoreWork work, CancellationToken cancellationToken)
    {
        if (InvalidName(name) is { } invalid)
        {
            return invalid;
        }

        var store = await repository.GetAsync(name, cancellationToken);
        if (store is null || !actors.Current(http).CanSee(store.Owner))
        {
            return Problems.StoreNotFound(name);
        }

        http.Response.Headers.ETag = StoreETag.Of(store.Generation);
        return TypedResults.Ok(work.View(store));
    }

    internal static async Task<IResult> ChangeStore(string name, HttpContext http, StoreCommands commands, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var contentType = http.Request.ContentType;
        if (!(Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media) && media.MediaType.Equals("application/merge-patch+json", StringComparison.OrdinalIgnoreCase)))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported content type.",
                detail: $"Send the change as a JSON merge patch with 'Content-Type: application/merge-patch+json', e.g. {{\"plan\":\"medium\"}} (got '{contentType ?? "none"}').",
                type: Problems.TypeBase + "unsupported-media-type");
        }

        var (request, problem) = await JsonRequestBody.ReadAsync<ChangeStoreRequest>(http.Request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var ifMatch = http.Request.Headers.IfMatch.ToString() is { Length: > 0 } value ? value : null;
        var result = await commands.ChangePlanAsync(actors.Current(http), AuditTrail.ClientAddress(http), name, request!, ifMatch, cancellationToken);
        if (result.Succeeded && result.Store is { } changed)
        {
            http.Response.Headers.ETag = StoreETag.Of(changed.Generation);
        }

        return result.Result;
    }

    internal static async Task<IResult> GetStoreEvents(string name, HttpContext http, IStoreRepository repository, IActorAccessor actors, Streaming.StoreStreams streams, bool? follow, CancellationToken cancellationToken)
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

        if (follow == true)
        {
            if (store is null)
            {
                return Problems.StoreNotFound(name);
            }

            if (LastEventId(http, out var after) is { } badId)
            {
                return badId;
            }

            return OpenStream(http, streams, opened => TypedResults.ServerSentEvents(streams.FollowAsync(name, after ?? 0, opened, cancellationToken)));
        }

        var events = await repository.GetTimelineAsync(name, cancellationToken);
        if (events.Count == 0 && store is null)
        {
            return Problems.StoreNotFound(name);
        }

        return TypedResults.Ok(new StoreEventListResource([.. events.Select(e => StoreEventResource.From(e.Event, e.Id))]));
    }

    internal static async Task<IResult> DeleteStore(string name, HttpContext http, StoreCommands commands, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var purge = http.Request.Query["purgeBackups"];
        if (purge.Count > 1 || (purge.Count == 1 && purge[0] is not ("true" or "false")))
        {
            return Problems.Validation("purgeBackups", "Set purgeBackups to true (purge the store's backups once it is gone; admins only) or false (keep them for the platform's retention).");
        }

        return (await commands.DeleteAsync(actors.Current(http), AuditTrail.ClientAddress(http), name, cancellationToken, purge.Count == 1 && purge[0] == "true")).Result;
    }

    internal static async Task<IResult> RetryStore(string name, HttpContext http, StoreCommands commands, IActorAccessor actors, CancellationToken cancellationToken) =>
        (await commands.RetryAsync(actors.Current(http), AuditTrail.ClientAddress(http), name, cancellationToken)).Result;

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
        var (credentials, unavailable, detail) = await reader.ReadAsync(store, cancellationToken);
        await audit.RecordAsync(http, AuditActions.StoreCredentials, $"store/{name}", unavailable is null ? "ok" : $"refused: {unavailable}");
        return unavailable switch
        {
            CredentialsUnavailable.NoCluster => Problems.ClusterUnavailable(detail),
            CredentialsUnavailable.NotCreatedYet => Problems.Conflict("Credentials are not created yet.", $"{detail} Try again once the store is provisioning.", "credentials-not-ready"),
            CredentialsUnavailable.OtherStore => Problems.Conflict("The credentials belong to another store.", detail, "credentials-other-store"),
            _ => TypedResults.Ok(new CredentialsResource(credentials!.AdminUser, credentials.AdminPassword, store.Urls?.Admin)),
        };
    }

    internal static async Task<IResult> ListOrphans(OrphanNamespaces orphans) =>
        TypedResults.Ok(new OrphanListResource([.. (await orphans.ListAsync()).Select(o => new OrphanResource(o.Namespace, o.Store, o.FirstSeen, o.Message, o.Uid))]));

    /// <summary>Opens a stream within the client's limit of open streams (429 with Retry-After beyond it).</summary>
    private static IResult OpenStream(HttpContext http, Streaming.StoreStreams streams, Func<IDisposable, IResult> stream)
    {
        var opened = streams.TryOpen(AccessServiceCollectionExtensions.Partition(http).Key);
        if (opened is null)
        {
            http.Response.Headers.RetryAfter = "10";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too many open streams.",
                detail: $"A client may have at most {streams.MaxStreamsPerClient} streams open at once. Close one (or reuse one watch for many stores), then try again.",
                type: Problems.TypeBase + "too-many-streams");
        }

        return stream(opened);
    }

    /// <summary>The Last-Event-ID a reconnecting client sent (null: none), or the problem when it is not a position.</summary>
    private static IResult? LastEventId(HttpContext http, out long? after)
    {
        after = null;
        var header = http.Request.Headers["Last-Event-ID"].ToString();
        if (header.Length == 0)
        {
            return null;
        }

        if (long.TryParse(header, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            after = value;
            return null;
        }

        return Problems.Validation("Last-Event-ID", "Last-Event-ID must be the id of an event this stream sent (a whole number).");
    }

    internal static IResult? InvalidName(string name) =>
        StoreName.ValidateLookup(name) is { } error ? Problems.Validation("name", error) : null;
}

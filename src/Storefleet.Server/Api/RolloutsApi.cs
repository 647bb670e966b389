using Storefleet.Core.Rollouts;
using Storefleet.Server.Access;
using Storefleet.Server.Api.Idempotency;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>Fleet rollouts under <c>/api/v1/rollouts</c> (admins only). Handlers record intent in Redis and return; the engine advances the rollout.</summary>
public static class RolloutsApi
{
    public static IEndpointRouteBuilder MapRolloutsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/rollouts").WithTags("Rollouts").RequireAuthorization(AccessPolicies.Administer);

        group.MapPost("/", CreateRollout)
            .WithName("CreateRollout")
            .WithSummary("Move outdated stores to the version this control plane ships, in waves")
            .WithDescription("Selects the outdated stores (GET /api/v1/fleet) of an engine — all of them, or by plan, owner or a list of names — and upgrades them: " +
                "the canary first (a failure pauses the rollout), then batches (batchSize or batchPercent), at most maxInFlight at a time, pausing when more than " +
                "failureBudget stores failed, soaking soakSeconds between batches. A failed store upgrade is rolled back to what the store ran. 201 with the rollout; " +
                "422 when nothing matches; 409 when a selected store is in another active rollout. Send an Idempotency-Key header to replay the first answer.")
            .Accepts<CreateRolloutRequest>("application/json")
            .Produces<RolloutResource>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithMetadata(new IdempotentEndpoint());

        group.MapGet("/", ListRollouts).WithName("ListRollouts").WithSummary("List rollouts, newest first (the latest 50), with their counts");
        group.MapGet("/{id}", GetRollout).WithName("GetRollout").WithSummary("One rollout: counts per state, every store's result with durations and reasons, and its events");
        group.MapPost("/{id}/pause", (HttpContext http, string id, RolloutCommands commands, IActorAccessor actors, CancellationToken ct) =>
                Run(http, actors, (actor, client) => commands.PauseAsync(actor, client, id, ct)))
            .WithName("PauseRollout").WithSummary("Pause: no further store starts; upgrades under way finish");
        group.MapPost("/{id}/resume", (HttpContext http, string id, RolloutCommands commands, IActorAccessor actors, CancellationToken ct) =>
                Run(http, actors, (actor, client) => commands.ResumeAsync(actor, client, id, ct)))
            .WithName("ResumeRollout").WithSummary("Resume a paused rollout; the failures so far are accepted (the canary and budget count only new ones)");
        group.MapPost("/{id}/abort", (HttpContext http, string id, RolloutCommands commands, IActorAccessor actors, CancellationToken ct) =>
                Run(http, actors, (actor, client) => commands.AbortAsync(actor, client, id, ct)))
            .WithName("AbortRollout").WithSummary("Abort: stores not yet started are never touched; upgrades under way finish (each rolls back on its own if it fails)");
        return app;
    }

    internal static async Task<IResult> CreateRollout(HttpContext http, RolloutCommands commands, IActorAccessor actors, CancellationToken cancellationToken)
    {
        var (request, problem) = await JsonRequestBody.ReadAsync<CreateRolloutRequest>(http.Request, cancellationToken);
        return problem ?? (await commands.CreateAsync(actors.Current(http), AuditTrail.ClientAddress(http), request!, cancellationToken)).Result;
    }

    internal static async Task<IResult> ListRollouts(IRolloutRepository rollouts, CancellationToken cancellationToken) =>
        TypedResults.Ok(new RolloutListResource([.. (await rollouts.ListAsync(50, cancellationToken)).Select(r => RolloutResource.From(r))]));

    internal static async Task<IResult> GetRollout(string id, IRolloutRepository rollouts, CancellationToken cancellationToken) =>
        RolloutCommands.IsId(id) && await rollouts.GetAsync(id, cancellationToken) is { } rollout
            ? TypedResults.Ok(RolloutResource.From(rollout, await rollouts.GetEventsAsync(id, cancellationToken)))
            : RolloutCommands.NotFound(id);

    private static async Task<IResult> Run(HttpContext http, IActorAccessor actors, Func<Actor, string, Task<CommandResult>> command) =>
        (await command(actors.Current(http), AuditTrail.ClientAddress(http))).Result;
}

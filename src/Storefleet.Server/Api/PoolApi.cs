using Storefleet.Core.Stores;
using Storefleet.Engine.Pool;
using Storefleet.Server.Access;

namespace Storefleet.Server.Api;

/// <summary>The warm pool (admin only): each plan's configured size and its members, what they are doing and who claimed them.</summary>
public static class PoolApi
{
    public static IEndpointRouteBuilder MapPoolApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/pool", GetPool).WithTags("Pool").WithName("GetWarmPool")
            .WithSummary("The warm pool: per plan, the configured size and the members (idle, provisioning, claimed, outdated, failed, deleting)")
            .RequireAuthorization(AccessPolicies.Administer);
        return app;
    }

    internal static async Task<IResult> GetPool(WarmPoolInventory inventory, CancellationToken cancellationToken) =>
        TypedResults.Ok(PoolResource.From(await inventory.ReadAsync(cancellationToken)));
}

/// <summary>The pool as the API shows it.</summary>
public sealed record PoolResource(IReadOnlyList<PlanPoolResource> Plans)
{
    public static PoolResource From(IReadOnlyList<PlanPool> plans) => new([.. plans.Select(p => new PlanPoolResource(
        p.Plan.Id, p.Size, p.Count(MemberState.Idle), p.Count(MemberState.Provisioning), p.Count(MemberState.Outdated),
        [.. p.Members.Select(m => new PoolMemberResource(m.Record.Name, m.State.ToString().ToLowerInvariant(), m.Record.Phase.ToWire(),
            m.Record.CreatedAt, m.Record.Phase == StorePhase.Ready ? m.Record.PhaseStartedAt : null, m.Record.Pin?.ChartVersion, m.ClaimedBy))]))]);
}

/// <summary>One plan's pool: its size (0: off), how many members are idle, provisioning and outdated, and every member.</summary>
public sealed record PlanPoolResource(string Plan, int Size, int Idle, int Provisioning, int Outdated, IReadOnlyList<PoolMemberResource> Members);

/// <summary>One member: its state (idle, outdated, provisioning, claimed, failed, deleting), phase, when it was created and ready, its chart, and the store that claimed it.</summary>
public sealed record PoolMemberResource(string Name, string State, string Phase, DateTimeOffset CreatedAt, DateTimeOffset? ReadySince, string? ChartVersion, string? ClaimedBy);

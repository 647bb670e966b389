using Storefleet.Core.Rollouts;
using Storefleet.Core.Stores;

namespace Storefleet.Server.Api;

/// <summary>
/// Body of <c>POST /api/v1/rollouts</c>: which outdated stores of an engine (default woocommerce) move to the version this
/// control plane ships, and how fast. Every field is optional; unknown fields are rejected.
/// </summary>
public sealed record CreateRolloutRequest(string? Engine, RolloutSelectionRequest? Selection, RolloutStrategyRequest? Strategy, RolloutTargetRequest? Target = null);

/// <summary>
/// An image-tag override: the WordPress image tag and/or WooCommerce version to run instead of the shipped chart's (e.g. a
/// security release ahead of the next chart). Omitted: the shipped chart's own — which also clears an earlier override.
/// </summary>
public sealed record RolloutTargetRequest(string? WordPressTag, string? WooCommerceVersion);

/// <summary>Narrows "every outdated store": by plan, by owner, or to a list of store names (all given filters apply).</summary>
public sealed record RolloutSelectionRequest(string? Plan, string? Owner, IReadOnlyList<string>? Stores);

/// <summary>
/// The strategy; omitted fields take the defaults (canary 1, batches of 5, 4 in flight, budget 0, no soak, helm test on).
/// <paramref name="HelmTest"/>: each upgraded store must also pass <c>helm test</c> (the storefront smoke test).
/// </summary>
public sealed record RolloutStrategyRequest(int? Canary, int? BatchSize, int? BatchPercent, int? MaxInFlight, int? FailureBudget, int? SoakSeconds, bool? HelmTest = null);

public sealed record RolloutTargetResource(string Engine, string ChartVersion, AppVersions Apps, AppOverrides? Overrides);

public sealed record RolloutStrategyResource(int Canary, int BatchSize, int BatchPercent, int MaxInFlight, int FailureBudget, int SoakSeconds, bool HelmTest);

public sealed record RolloutSelectionResource(string Description, string? Plan, string? Owner, IReadOnlyList<string>? Stores);

public sealed record RolloutCounts(int Total, int Waiting, int Upgrading, int Succeeded, int Failed, int Skipped);

/// <summary>One store in a rollout: its batch (1-based), where it stands, from which chart, how long it took and why it ended so.</summary>
public sealed record RolloutStoreResource(string Name, int Batch, string State, string? From, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds, string? Reason);

public sealed record RolloutEventResource(DateTimeOffset Time, string Message, string? Store);

/// <summary>A rollout as the API shows it. <see cref="CurrentBatch"/> is 1-based; <see cref="Events"/> only on <c>GET /api/v1/rollouts/{id}</c>.</summary>
public sealed record RolloutResource(
    string Id,
    string State,
    string? Reason,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    RolloutTargetResource Target,
    RolloutSelectionResource Selection,
    RolloutStrategyResource Strategy,
    int CurrentBatch,
    int Batches,
    DateTimeOffset? SoakUntil,
    RolloutCounts Counts,
    IReadOnlyList<RolloutStoreResource> Stores,
    IReadOnlyList<RolloutEventResource>? Events = null)
{
    public static RolloutResource From(Rollout r, IReadOnlyList<RolloutEvent>? events = null) => new(
        r.Id,
        Wire(r.State),
        r.Reason,
        r.CreatedBy,
        r.CreatedAt,
        r.UpdatedAt,
        new RolloutTargetResource(r.Target.Engine, r.Target.ChartVersion, r.Target.Apps, r.Target.Overrides),
        new RolloutSelectionResource(r.Selection.Describe(), r.Selection.Plan, r.Selection.Owner, r.Selection.Names),
        new RolloutStrategyResource(r.Strategy.Canary, r.Strategy.BatchSize, r.Strategy.BatchPercent, r.Strategy.MaxInFlight, r.Strategy.FailureBudget, (int)r.Strategy.Soak.TotalSeconds, r.Strategy.HelmTest),
        Math.Min(r.CurrentBatch + 1, r.BatchCount),
        r.BatchCount,
        r.SoakUntil,
        new RolloutCounts(r.Stores.Count, r.Count(RolloutStoreState.Waiting), r.Count(RolloutStoreState.Upgrading), r.Count(RolloutStoreState.Succeeded),
            r.Count(RolloutStoreState.Failed), r.Count(RolloutStoreState.Skipped)),
        [.. r.Stores.Select(s => new RolloutStoreResource(s.Name, s.Batch + 1, Wire(s.State), s.From, s.StartedAt, s.FinishedAt,
            s is { StartedAt: { } started, FinishedAt: { } finished } ? Math.Round((finished - started).TotalSeconds, 1) : null, s.Reason))],
        events?.Select(e => new RolloutEventResource(e.Time, e.Message, e.Store)).ToList());

    public static string Wire(RolloutState state) => state.ToString().ToLowerInvariant();

    public static string Wire(RolloutStoreState state) => state.ToString().ToLowerInvariant();
}

public sealed record RolloutListResource(IReadOnlyList<RolloutResource> Items);

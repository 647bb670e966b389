using Storefleet.Core.Rollouts;
using Storefleet.Core.Stores;
using Storefleet.Engine.Fleet;
using Storefleet.Server.Access;
using Storefleet.Server.Identity;

namespace Storefleet.Server.Api;

/// <summary>
/// Creating, pausing, resuming and aborting fleet rollouts (admins only) — the same rules for the API and the dashboard:
/// validation at the edge, the selection resolved and its stores claimed atomically when the rollout is created, every
/// outcome in the audit trail. The rollout is then advanced by the engine (see <c>RolloutConductor</c>).
/// </summary>
public sealed class RolloutCommands(IRolloutRepository rollouts, IStoreRepository stores, FleetVersions versions, AuditTrail audit, TimeProvider clock)
{
    public const int MaxStoresPerRollout = 10_000;

    public async Task<CommandResult> CreateAsync(Actor actor, string client, CreateRolloutRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var engine = request.Engine is null ? StoreEngine.WooCommerce : StoreEngine.Find(request.Engine);
        if (engine is null)
        {
            errors["engine"] = [$"Engine '{request.Engine}' is not available. Accepted engines: {StoreEngine.AcceptedIds}."];
        }

        var selection = request.Selection ?? new RolloutSelectionRequest(null, null, null);
        if (selection.Plan is not null && StorePlan.Find(selection.Plan) is null)
        {
            errors["selection.plan"] = [$"Plan '{selection.Plan}' does not exist. Accepted plans: {StorePlan.AcceptedIds}."];
        }

        if (selection.Owner is { Length: 0 or > 256 })
        {
            errors["selection.owner"] = ["owner must be 1 to 256 characters."];
        }

        if (selection.Stores is { } named && (named.Count is 0 or > MaxStoresPerRollout || named.Any(n => StoreName.Validate(n) is not null)))
        {
            errors["selection.stores"] = [$"stores must list 1 to {MaxStoresPerRollout} valid store names."];
        }

        var strategy = Strategy(request.Strategy, errors);
        var overrides = Overrides(request.Target, errors);
        if (errors.Count > 0)
        {
            return new(Problems.Validation(errors), null);
        }

        ShippedVersion shipped;
        try
        {
            shipped = versions.Shipped(engine!);
        }
        catch (Exception e) when (FleetVersions.IsChartsUnreadable(e))
        {
            return new(TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The shipped chart cannot be read.",
                detail: $"This control plane cannot read its charts ({e.Message}); fix Storefleet:Engine:ChartsDirectory, then create the rollout."), null);
        }

        var targetApps = shipped.Apps.With(overrides);
        var (chosen, unknown) = await SelectAsync(engine!, selection, overrides, targetApps, cancellationToken);
        if (unknown.Count > 0)
        {
            return new(Problems.Validation("selection.stores", $"No store named {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? $" and {unknown.Count - 10} more" : string.Empty)}."), null);
        }

        var target = new RolloutTarget(engine!.Id, shipped.ChartVersion, shipped.Apps.With(overrides), overrides);
        var coreSelection = new RolloutSelection(selection.Plan, selection.Owner, selection.Stores);
        if (chosen.Count == 0)
        {
            await Audit(actor, client, AuditActions.RolloutCreate, "new", "refused: nothing outdated");
            return new(Problems.Unprocessable("No outdated store matches the selection.",
                $"Every store matching {coreSelection.Describe()} already runs chart {shipped.ChartVersion} with WordPress {target.Apps.WordPress} and WooCommerce {target.Apps.WooCommerce}, or newer versions (a rollout never moves a store back; see GET /api/v1/fleet).", "nothing-outdated"), null);
        }

        var now = clock.GetUtcNow();
        var rollout = Rollout.Create($"ro-{Guid.NewGuid():N}"[..15], actor.Subject, target, coreSelection, strategy!, chosen, now);
        var created = new RolloutEvent(now, $"Rollout created by {actor.Subject}: {chosen.Count} store(s) ({coreSelection.Describe()}) to chart {target.ChartVersion} " +
            $"(WordPress {target.Apps.WordPress}, WooCommerce {target.Apps.WooCommerce}, MySQL {target.Apps.MySql}) in {rollout.BatchCount} batch(es).");
        switch (await rollouts.CreateAsync(rollout, created, cancellationToken))
        {
            case CreateRolloutResult.Created c:
                await Audit(actor, client, AuditActions.RolloutCreate, c.Rollout.Id, $"ok: {chosen.Count} stores");
                return new(TypedResults.Created($"/api/v1/rollouts/{c.Rollout.Id}", RolloutResource.From(c.Rollout, [created])), null);
            case CreateRolloutResult.StoresBusy busy:
                await Audit(actor, client, AuditActions.RolloutCreate, "new", "refused: stores in another rollout");
                return new(Problems.Conflict("Some stores are in another rollout.",
                    $"A store belongs to at most one active rollout: {string.Join(", ", busy.Stores.Take(10).Select(p => $"{p.Key} (in {p.Value})"))}{(busy.Stores.Count > 10 ? $" and {busy.Stores.Count - 10} more" : string.Empty)}. " +
                    "Wait for that rollout to finish or abort it, or leave these stores out of the selection.", "stores-in-rollout"), null);
            default:
                throw new InvalidOperationException("Unexpected create result.");
        }
    }

    public Task<CommandResult> PauseAsync(Actor actor, string client, string id, CancellationToken cancellationToken) =>
        ChangeAsync(actor, client, AuditActions.RolloutPause, id,
            r => r.State switch
            {
                RolloutState.Running => null,
                RolloutState.Paused => TypedResults.Ok(RolloutResource.From(r)),
                _ => Final(r, "paused"),
            },
            (r, now) => (r.Paused(actor.Subject, now), $"Paused by {actor.Subject}: no further store starts; upgrades under way finish."),
            cancellationToken);

    public Task<CommandResult> ResumeAsync(Actor actor, string client, string id, CancellationToken cancellationToken) =>
        ChangeAsync(actor, client, AuditActions.RolloutResume, id,
            r => r.State switch
            {
                RolloutState.Paused => null,
                RolloutState.Running => TypedResults.Ok(RolloutResource.From(r)),
                _ => Final(r, "resumed"),
            },
            (r, now) => (r.Resumed(now), $"Resumed by {actor.Subject}{(r.Count(RolloutStoreState.Failed) > r.FailuresForgiven ? $"; {r.Count(RolloutStoreState.Failed) - r.FailuresForgiven} failure(s) accepted" : string.Empty)}."),
            cancellationToken);

    public Task<CommandResult> AbortAsync(Actor actor, string client, string id, CancellationToken cancellationToken) =>
        ChangeAsync(actor, client, AuditActions.RolloutAbort, id,
            r => r.State switch
            {
                RolloutState.Running or RolloutState.Paused => null,
                RolloutState.Aborted => TypedResults.Ok(RolloutResource.From(r)),
                _ => Final(r, "aborted"),
            },
            (r, now) => (r.Aborted(actor.Subject, now),
                $"Aborted by {actor.Subject}: {r.Count(RolloutStoreState.Waiting)} store(s) not yet started are left untouched{(r.Count(RolloutStoreState.Upgrading) > 0 ? $"; {r.Count(RolloutStoreState.Upgrading)} upgrade(s) under way finish (each rolls back on its own if it fails)" : string.Empty)}."),
            cancellationToken);

    private async Task<CommandResult> ChangeAsync(
        Actor actor, string client, string action, string id, Func<Rollout, IResult?> refuse, Func<Rollout, DateTimeOffset, (Rollout Next, string Event)> change, CancellationToken cancellationToken)
    {
        if (!IsId(id))
        {
            return new(NotFound(id), null);
        }

        for (var attempt = 0; attempt < 5; attempt++)
        {
            var rollout = await rollouts.GetAsync(id, cancellationToken);
            if (rollout is null)
            {
                return new(NotFound(id), null);
            }

            if (refuse(rollout) is { } answer)
            {
                await Audit(actor, client, action, id, answer is IStatusCodeHttpResult { StatusCode: 200 } ? "ok: already" : "refused: conflict");
                return new(answer, null);
            }

            var now = clock.GetUtcNow();
            var (next, message) = change(rollout, now);
            if (await rollouts.UpdateAsync(next, [new RolloutEvent(now, message)], cancellationToken) is { } written)
            {
                await Audit(actor, client, action, id, "ok");
                return new(TypedResults.Ok(RolloutResource.From(written)), null);
            }
        }

        return new(Problems.Conflict("The rollout is changing.", $"Rollout '{id}' changed several times while this request was applied; send the request again.", "busy"), null);
    }

    /// <summary>The outdated stores the selection takes, by name; and the named stores that do not exist.</summary>
    private async Task<(IReadOnlyList<string> Chosen, IReadOnlyList<string> Unknown)> SelectAsync(
        StoreEngine engine, RolloutSelectionRequest selection, AppOverrides? overrides, AppVersions targetApps, CancellationToken cancellationToken)
    {
        var candidates = new List<Store>();
        var unknown = new List<string>();
        if (selection.Stores is { } names)
        {
            foreach (var name in names.Distinct(StringComparer.Ordinal))
            {
                if (await stores.GetAsync(name, cancellationToken) is { } store)
                {
                    candidates.Add(store);
                }
                else
                {
                    unknown.Add(name);
                }
            }
        }
        else
        {
            string? next = null;
            do
            {
                var page = await stores.ListAsync(new StoreQuery(StoreQuery.MaxLimit, next, Owner: selection.Owner), cancellationToken);
                candidates.AddRange(page.Items);
                next = page.Continue;
            }
            while (next is not null);
        }

        var chosen = candidates
            // Warm-pool members are recycled by the pool's keeper, never rolled out to.
            .Where(s => s.Spec.Engine == engine && s.Phase != StorePhase.Deleting && !s.IsPoolMember
                && (selection.Plan is null || s.Spec.Plan.Id == selection.Plan)
                && (selection.Owner is null || s.Owner == selection.Owner)
                && NotAtTarget(s, overrides)
                && !(s.Pin?.Apps is { } runs && AppVersionOrder.IsDowngrade(runs, targetApps)))
            .Select(s => s.Name)
            .Order(StringComparer.Ordinal)
            .Take(MaxStoresPerRollout)
            .ToList();
        return (chosen, unknown);
    }

    /// <summary>Outdated against what this control plane ships, or current but with other overrides than the rollout's.</summary>
    private bool NotAtTarget(Store store, AppOverrides? overrides) => versions.Standing(store) switch
    {
        VersionStanding.Outdated => true,
        VersionStanding.Current => store.Overrides != overrides,
        _ => false,
    };

    private static AppOverrides? Overrides(RolloutTargetRequest? request, Dictionary<string, string[]> errors)
    {
        if (request is null || (request.WordPressTag is null && request.WooCommerceVersion is null))
        {
            return null;
        }

        // The chart's own schema rules for these values: a pinned image tag (never latest), a plugin version.
        if (request.WordPressTag is { } tag && (!System.Text.RegularExpressions.Regex.IsMatch(tag, "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$") || tag == "latest"))
        {
            errors["target.wordPressTag"] = ["wordPressTag must be a pinned tag of the official WordPress image, e.g. 6.8.3-php8.3-apache (never latest)."];
        }

        if (request.WooCommerceVersion is { } version && !System.Text.RegularExpressions.Regex.IsMatch(version, "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$"))
        {
            errors["target.wooCommerceVersion"] = ["wooCommerceVersion must be a version such as 10.2.2."];
        }

        return new AppOverrides(request.WordPressTag, request.WooCommerceVersion);
    }

    private static RolloutStrategy? Strategy(RolloutStrategyRequest? request, Dictionary<string, string[]> errors)
    {
        var d = RolloutStrategy.Default;
        var strategy = new RolloutStrategy(
            Check(request?.Canary ?? d.Canary, 0, 100, "canary"),
            Check(request?.BatchSize ?? d.BatchSize, 1, MaxStoresPerRollout, "batchSize"),
            Check(request?.BatchPercent ?? d.BatchPercent, 0, 100, "batchPercent"),
            Check(request?.MaxInFlight ?? d.MaxInFlight, 1, 100, "maxInFlight"),
            Check(request?.FailureBudget ?? d.FailureBudget, 0, MaxStoresPerRollout, "failureBudget"),
            TimeSpan.FromSeconds(Check(request?.SoakSeconds ?? (int)d.Soak.TotalSeconds, 0, 86_400, "soakSeconds")),
            request?.HelmTest ?? d.HelmTest);
        if (request is { BatchSize: not null, BatchPercent: > 0 })
        {
            errors["strategy.batchPercent"] = ["Give batchSize or batchPercent, not both."];
        }

        return strategy;

        int Check(int value, int min, int max, string field)
        {
            if (value < min || value > max)
            {
                errors[$"strategy.{field}"] = [$"{field} must be between {min} and {max}."];
            }

            return value;
        }
    }

    private static IResult Final(Rollout rollout, string verb) => Problems.Conflict($"The rollout is {RolloutResource.Wire(rollout.State)}.",
        $"Rollout '{rollout.Id}' is {RolloutResource.Wire(rollout.State)} and cannot be {verb}. Create a new rollout for the stores still outdated (GET /api/v1/fleet).", "rollout-finished");

    /// <summary>Rollout ids are <c>ro-</c> and 12 hex digits; anything else is not looked up.</summary>
    public static bool IsId(string id) => id.Length == 15 && id.StartsWith("ro-", StringComparison.Ordinal) && id[3..].All(char.IsAsciiHexDigitLower);

    public static IResult NotFound(string id) => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Rollout not found.",
        detail: $"There is no rollout '{id}'. List them with GET /api/v1/rollouts.", type: Problems.TypeBase + "rollout-not-found");

    private Task Audit(Actor actor, string client, string action, string rollout, string result) =>
        audit.RecordAsync(new AuditEntry(clock.GetUtcNow(), actor.Subject, actor.Role, client, action, $"rollout/{rollout}", result));
}

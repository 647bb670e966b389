using Storefleet.Core.Stores;

namespace Storefleet.Core.Rollouts;

/// <summary>Where a rollout stands. Running and Paused are active; Succeeded and Aborted are final.</summary>
public enum RolloutState
{
    Running,

    /// <summary>No store is started until a person resumes (a failed canary, the failure budget spent, or asked).</summary>
    Paused,

    Succeeded,

    /// <summary>Stopped by a person: no further store is touched; upgrades already under way finish and are reported.</summary>
    Aborted,
}

/// <summary>Where one selected store stands in its rollout.</summary>
public enum RolloutStoreState
{
    /// <summary>Not started: its batch has not come, or the in-flight limit is reached.</summary>
    Waiting,

    /// <summary>Its upgrade was asked for (at <see cref="RolloutStoreResult.BaseGeneration"/> + 1) and the engine is on it.</summary>
    Upgrading,

    Succeeded,

    /// <summary>Its upgrade failed its analysis and was rolled back (or the store failed), with the reason.</summary>
    Failed,

    /// <summary>Never touched: deleted, not live, waiting for a person, or the rollout was aborted before its turn.</summary>
    Skipped,
}

/// <summary>
/// What a rollout moves its stores to: one engine's chart version and the application versions it runs — the chart's,
/// or with <paramref name="Overrides"/> (an image-tag override) applied.
/// </summary>
public sealed record RolloutTarget(string Engine, string ChartVersion, AppVersions Apps, AppOverrides? Overrides = null);

/// <summary>
/// Which outdated stores a rollout takes, fixed when it is created (a store created later is created at the target
/// anyway): every outdated store of the engine, narrowed by plan, owner or a list of names.
/// </summary>
public sealed record RolloutSelection(string? Plan = null, string? Owner = null, IReadOnlyList<string>? Names = null)
{
    public string Describe() =>
        Plan is null && Owner is null && Names is null
            ? "all outdated stores"
            : string.Join(", ", new[]
            {
                Plan is null ? null : $"plan {Plan}",
                Owner is null ? null : $"owner {Owner}",
                Names is null ? null : $"{Names.Count} named store(s)",
            }.Where(s => s is not null));
}

/// <summary>
/// How fast a rollout goes: <paramref name="Canary"/> stores first (a failure among them pauses the rollout), then
/// batches of <paramref name="BatchSize"/> stores (or <paramref name="BatchPercent"/> of the selection when set), at most
/// <paramref name="MaxInFlight"/> upgrades at a time, paused when more than <paramref name="FailureBudget"/> stores failed
/// since it was last started or resumed, and <paramref name="Soak"/> between batches, after which the batch's stores must
/// still be ready. Each store's analysis: its workloads ready and its upgrade Job (migrations) succeeded, then — with
/// <paramref name="HelmTest"/> — <c>helm test</c>, the storefront smoke test (storefront, Store API, cart); a store that
/// fails it is rolled back.
/// </summary>
public sealed record RolloutStrategy(int Canary, int BatchSize, int BatchPercent, int MaxInFlight, int FailureBudget, TimeSpan Soak, bool HelmTest = true)
{
    public static RolloutStrategy Default { get; } = new(Canary: 1, BatchSize: 5, BatchPercent: 0, MaxInFlight: 4, FailureBudget: 0, Soak: TimeSpan.Zero, HelmTest: true);

    /// <summary>The stores of each batch, in order: the canary first (when there is one), then equal batches.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Batches(IReadOnlyList<string> stores)
    {
        var batches = new List<IReadOnlyList<string>>();
        var canary = Math.Min(Canary, stores.Count);
        if (canary > 0)
        {
            batches.Add([.. stores.Take(canary)]);
        }

        var size = BatchPercent > 0 ? Math.Max(1, (int)Math.Ceiling(stores.Count * BatchPercent / 100.0)) : Math.Max(1, BatchSize);
        batches.AddRange(stores.Skip(canary).Chunk(size).Select(chunk => (IReadOnlyList<string>)chunk));
        return batches;
    }
}

/// <summary>One selected store's course through the rollout, with durations and the reason for how it ended.</summary>
public sealed record RolloutStoreResult(
    string Name,
    int Batch,
    RolloutStoreState State = RolloutStoreState.Waiting,
    long BaseGeneration = 0,
    string? From = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null,
    string? Reason = null)
{
    public bool IsFinished => State is RolloutStoreState.Succeeded or RolloutStoreState.Failed or RolloutStoreState.Skipped;

    public RolloutStoreResult Finished(RolloutStoreState state, string reason, DateTimeOffset now) =>
        this with { State = state, Reason = reason, FinishedAt = now };
}

/// <summary>
/// A fleet rollout: moving a selection of outdated stores to <see cref="Target"/> in batches, with a canary, an in-flight
/// limit, a failure budget and a soak time. Kept in Redis and advanced by whichever control-plane replica holds its lease;
/// every write is checked against <see cref="Version"/>, so a store is never started twice.
/// </summary>
public sealed record Rollout
{
    public required string Id { get; init; }

    public required string CreatedBy { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public required RolloutTarget Target { get; init; }

    public required RolloutSelection Selection { get; init; }

    public required RolloutStrategy Strategy { get; init; }

    public RolloutState State { get; init; } = RolloutState.Running;

    /// <summary>Why it is paused, aborted or finished as it did (null while running normally).</summary>
    public string? Reason { get; init; }

    /// <summary>The batch under way (index into the batches of <see cref="Stores"/>).</summary>
    public int CurrentBatch { get; init; }

    /// <summary>How many batches there are (the canary counts as one).</summary>
    public int BatchCount { get; init; }

    /// <summary>When the finished current batch has soaked long enough (null: not soaking).</summary>
    public DateTimeOffset? SoakUntil { get; init; }

    /// <summary>Failures already accepted by a person (by resuming): the canary and budget checks count only later ones.</summary>
    public int FailuresForgiven { get; init; }

    public required IReadOnlyList<RolloutStoreResult> Stores { get; init; }

    /// <summary>Optimistic concurrency: the repository's version of this record; 0 before the first write.</summary>
    public long Version { get; init; }

    public bool IsActive => State is RolloutState.Running or RolloutState.Paused || Stores.Any(s => s.State == RolloutStoreState.Upgrading);

    public int Count(RolloutStoreState state) => Stores.Count(s => s.State == state);

    public static Rollout Create(string id, string createdBy, RolloutTarget target, RolloutSelection selection, RolloutStrategy strategy, IReadOnlyList<string> stores, DateTimeOffset now)
    {
        var batches = strategy.Batches(stores);
        return new Rollout
        {
            Id = id,
            CreatedBy = createdBy,
            CreatedAt = now,
            UpdatedAt = now,
            Target = target,
            Selection = selection,
            Strategy = strategy,
            BatchCount = batches.Count,
            Stores = [.. batches.SelectMany((names, batch) => names.Select(name => new RolloutStoreResult(name, batch)))],
        };
    }

    /// <summary>A person paused it: no further store starts; upgrades under way finish.</summary>
    public Rollout Paused(string by, DateTimeOffset now) =>
        this with { State = RolloutState.Paused, Reason = $"Paused by {by}.", UpdatedAt = now };

    /// <summary>A person resumed it: the failures so far are accepted (the canary and budget checks count only new ones).</summary>
    public Rollout Resumed(DateTimeOffset now) =>
        this with { State = RolloutState.Running, Reason = null, FailuresForgiven = Count(RolloutStoreState.Failed), UpdatedAt = now };

    /// <summary>A person aborted it: every store not yet started is skipped and never touched; upgrades under way finish.</summary>
    public Rollout Aborted(string by, DateTimeOffset now) =>
        this with
        {
            State = RolloutState.Aborted,
            Reason = $"Aborted by {by}.",
            SoakUntil = null,
            UpdatedAt = now,
            Stores = [.. Stores.Select(s => s.State == RolloutStoreState.Waiting ? s.Finished(RolloutStoreState.Skipped, $"The rollout was aborted by {by} before its turn; not touched.", now) : s)],
        };

    public Rollout With(RolloutStoreResult result) =>
        this with { Stores = [.. Stores.Select(s => s.Name == result.Name ? result : s)] };
}

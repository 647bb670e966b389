namespace Storefleet.Core.Stores;

/// <summary>
/// The control plane's record of one store: what was asked for and where it stands. Immutable;
/// changes produce a new record through the lifecycle methods, which enforce <see cref="StoreLifecycle"/>.
/// </summary>
public sealed record Store
{
    public required string Name { get; init; }

    /// <summary>
    /// This store's identity, assigned when it is requested and stamped on its namespace, credentials Secret and
    /// Helm release. A namespace of the same name with another uid (a store that was lost or deleted) is never
    /// adopted. Empty only for records written before uids existed (their objects are judged by labels alone).
    /// </summary>
    public string Uid { get; init; } = string.Empty;

    public required StoreSpec Spec { get; init; }

    /// <summary>The subject that created the store (from its identity, never from the request body).</summary>
    public required string Owner { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public StorePhase Phase { get; init; } = StorePhase.Requested;

    /// <summary>When the store entered its current phase (for step durations; the timeout uses <see cref="Progress"/>).</summary>
    public DateTimeOffset PhaseStartedAt { get; init; }

    /// <summary>How long the current step has waited for progress (the phase timeout's clock; outages do not count).</summary>
    public ProgressClock Progress { get; init; } = ProgressClock.StartedAt(DateTimeOffset.MinValue);

    /// <summary>
    /// The chart and values the store's current generation is installed with, pinned by the first engine that
    /// installs it, so replicas shipping different charts during a control-plane upgrade never bounce a store
    /// between releases. Null until the first install of a generation.
    /// </summary>
    public ReleasePin? Pin { get; init; }

    /// <summary>The phase a failed store failed in; a retry resumes there. Null unless <see cref="Phase"/> is Failed.</summary>
    public StorePhase? FailedPhase { get; init; }

    public IReadOnlyList<StoreCondition> Conditions { get; init; } = [];

    /// <summary>How many times the current step has been attempted (reset when a phase completes or on retry).</summary>
    public int Attempts { get; init; }

    public StoreUrls? Urls { get; init; }

    /// <summary>Bumped when the spec changes (a new Helm values digest is expected).</summary>
    public long Generation { get; init; } = 1;

    /// <summary>Bumped on each bootstrap retry, so only the bootstrap Job is re-run.</summary>
    public long BootstrapGeneration { get; init; } = 1;

    /// <summary>Optimistic concurrency: the repository's version of this record; 0 before the first write.</summary>
    public long Version { get; init; }

    public string SpecHash => Spec.Hash;

    public static Store Request(string name, StoreSpec spec, string owner, DateTimeOffset now) => new()
    {
        Name = name,
        Uid = Guid.NewGuid().ToString(),
        Spec = spec,
        Owner = owner,
        CreatedAt = now,
        UpdatedAt = now,
        PhaseStartedAt = now,
        Progress = ProgressClock.StartedAt(now),
    };

    public bool CanTake(StoreTrigger trigger) => StoreLifecycle.TryMove(Phase, trigger, FailedPhase, out _);

    /// <summary>Moves to the next phase or throws <see cref="InvalidStoreTransitionException"/>.</summary>
    public Store Take(StoreTrigger trigger, DateTimeOffset now, StoreCondition? failure = null)
    {
        if (!StoreLifecycle.TryMove(Phase, trigger, FailedPhase, out var next))
        {
            throw new InvalidStoreTransitionException(Phase, trigger);
        }

        var moved = trigger switch
        {
            StoreTrigger.Fail => this with
            {
                Phase = next,
                FailedPhase = Phase,
                UpdatedAt = now,
                Conditions = WithCondition(failure ?? throw new ArgumentNullException(nameof(failure), "A failure needs a condition saying why.")),
            },
            StoreTrigger.Retry => this with
            {
                Phase = next,
                FailedPhase = null,
                Attempts = 0,
                UpdatedAt = now,
                BootstrapGeneration = next == StorePhase.Bootstrapping ? BootstrapGeneration + 1 : BootstrapGeneration,
                Conditions = Conditions.Where(c => c.Type != ConditionTypes.Failed).ToArray(),
            },
            _ => this with { Phase = next, UpdatedAt = now, Attempts = next == Phase ? Attempts : 0 },
        };
        return moved.Phase == Phase ? moved : moved with { PhaseStartedAt = now, Progress = ProgressClock.StartedAt(now) };
    }

    /// <summary>A step made progress: the timeout's clock restarts.</summary>
    public Store WithProgress(DateTimeOffset now) => this with { Progress = ProgressClock.StartedAt(now) };

    /// <summary>Records one more failed attempt at the current step, with the condition saying why.</summary>
    public Store WithFailedAttempt(StoreCondition condition, DateTimeOffset now) =>
        this with { Attempts = Attempts + 1, UpdatedAt = now, Conditions = WithCondition(condition) };

    /// <summary>Replaces (or adds) one condition.</summary>
    public Store With(StoreCondition condition, DateTimeOffset now) =>
        this with { UpdatedAt = now, Conditions = WithCondition(condition) };

    /// <summary>Removes every condition of <paramref name="type"/>.</summary>
    public Store Without(string type, DateTimeOffset now) =>
        Conditions.Any(c => c.Type == type) ? this with { UpdatedAt = now, Conditions = [.. Conditions.Where(c => c.Type != type)] } : this;

    public StoreCondition? Condition(string type) => Conditions.FirstOrDefault(c => c.Type == type);

    /// <summary>Returns the conditions with <paramref name="condition"/> replacing any of the same type.</summary>
    public IReadOnlyList<StoreCondition> WithCondition(StoreCondition condition) =>
        [.. Conditions.Where(c => c.Type != condition.Type), condition];
}

/// <summary>The chart version and values digest a store's (bootstrap) generation is installed with (see <see cref="Store.Pin"/>).</summary>
public sealed record ReleasePin(long Generation, long BootstrapGeneration, string ChartVersion, string Digest);

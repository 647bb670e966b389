using Storefleet.Core.Pool;

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

    /// <summary>
    /// The pin the store served with before the update in progress: a rolled-back update returns to it, so the store
    /// keeps the chart and values it ran with instead of being moved to whatever this control plane ships.
    /// </summary>
    public ReleasePin? PreviousPin { get; init; }

    /// <summary>Pins the release for the current generation; a serving store keeps the pin it served with (see <see cref="PreviousPin"/>).</summary>
    public Store Repinned(ReleasePin pin, DateTimeOffset now) => this with
    {
        Pin = pin,
        // Only the pin of the generation that is live (observed, and not yet left for an update) is what the store served:
        // a pin written for a generation that was never deployed (changed again before its update started) is not.
        PreviousPin = Pin is { } served && served.Generation != pin.Generation && served.Generation == ObservedGeneration && Phase is StorePhase.Ready or StorePhase.Degraded ? served : PreviousPin,
        UpdatedAt = now,
    };

    /// <summary>
    /// The latest requested upgrade (see <see cref="WithUpgradeRequested"/>): the chart renders its upgrade Job for this
    /// generation (a pre-upgrade snapshot first when <see cref="UpgradeRun.Snapshot"/>), and the release keeps it afterwards.
    /// </summary>
    public UpgradeRun? Upgrade { get; init; }

    /// <summary>The update in progress is an upgrade with an upgrade Job (its migrations must succeed before it is done).</summary>
    public bool IsUpgradeWithJob => Upgrade is { } run && run.Generation == Generation && Phase == StorePhase.Updating;

    /// <summary>How often this store is backed up instead of its plan's schedule (hourly, daily or cron); null: the plan's.</summary>
    public string? BackupSchedule { get; init; }

    /// <summary>
    /// A person set the store's own backup schedule (null: back to its plan's): part of its release's values, so a new
    /// generation the engine upgrades the release to, as a plan change.
    /// </summary>
    public Store WithBackupSchedule(string? schedule, DateTimeOffset now) =>
        this with
        {
            BackupSchedule = schedule,
            PreviousBackupSchedule = Serving ? BackupSchedule : PreviousBackupSchedule,
            Generation = Generation + 1,
            AppliedPlan = AppliedPlan ?? Spec.Plan,
            PreviousOverrides = Serving ? Overrides : PreviousOverrides,
            PreviousUpgrade = Serving ? Upgrade : PreviousUpgrade,
            UpdatedAt = now,
        };

    /// <summary>The schedule the store served with before the update in progress (a rolled-back update returns to it).</summary>
    public string? PreviousBackupSchedule { get; init; }

    /// <summary>An admin asked to purge the store's backups with it (<c>DELETE …?purgeBackups=true</c>): its repository is emptied once it is gone.</summary>
    public bool PurgeBackups { get; init; }

    /// <summary>A clone's source: the backup its bootstrap restores instead of installing a new store (null: a new, empty store).</summary>
    public CloneSource? CloneFrom { get; init; }

    /// <summary>
    /// The name the store's cluster objects are derived from (namespace, Helm release, Secrets) when it is not its own:
    /// the warm-pool member it took over (see <see cref="Claim"/>). Null: its own name.
    /// </summary>
    public string? Placement { get; init; }

    /// <summary>The name its namespace, release and Secrets are derived from: its own, or the warm-pool member's it took over.</summary>
    public string ClusterName => Placement ?? Name;

    /// <summary>The warm-pool member the store took over, and how far that is (kept once done: part of its values for life).</summary>
    public PoolClaim? Claim { get; init; }

    /// <summary>A warm-pool member (not a person's store): provisioned ahead, waiting to be claimed.</summary>
    public bool IsPoolMember => WarmPool.IsMember(this);

    /// <summary>
    /// The store claimed <paramref name="member"/>: it takes over the member's namespace and release (its placement) and
    /// uid (the namespace and Secrets carry it), and starts provisioning there; a new bootstrap generation personalises it.
    /// </summary>
    public Store ClaimedFrom(Store member, DateTimeOffset now)
    {
        var started = Take(StoreTrigger.StartProvisioning, now);
        return started with
        {
            Uid = member.Uid,
            Placement = member.ClusterName,
            Claim = new PoolClaim(member.Name, now, PoolClaimStage.Adopt),
            BootstrapGeneration = member.BootstrapGeneration + 1,
            Pin = null,
        };
    }

    /// <summary>The claim moved on to <paramref name="stage"/> (with the reason when it is given up).</summary>
    public Store WithClaimStage(PoolClaimStage stage, DateTimeOffset now, string? reason = null) =>
        this with { Claim = Claim! with { Stage = stage, Reason = reason ?? Claim.Reason }, Attempts = 0, UpdatedAt = now, Progress = ProgressClock.StartedAt(now) };

    /// <summary>
    /// The claimed member was discarded: the store starts again from nothing under its own name, with a new uid (nothing of
    /// the member's is ever adopted again), as if it had just been requested — provisioning.
    /// </summary>
    public Store ProvisionedCold(DateTimeOffset now) =>
        this with
        {
            Uid = Guid.NewGuid().ToString(),
            Placement = null,
            Claim = null,
            Pin = null,
            Inventory = null,
            Urls = null,
            BootstrapGeneration = 1,
            Phase = StorePhase.Provisioning,
            Attempts = 0,
            UpdatedAt = now,
            PhaseStartedAt = now,
            Progress = ProgressClock.StartedAt(now),
            Conditions = [.. Conditions.Where(c => c.Type is not (ConditionTypes.Retrying or ConditionTypes.WorkloadsReady or ConditionTypes.BootstrapComplete or ConditionTypes.Namespace))],
        };

    /// <summary>The restore in progress (phase Restoring), or the one that failed (Failed in Restoring); null otherwise.</summary>
    public RestoreRun? Restore { get; init; }

    /// <summary>
    /// A person asked to restore a backup into the store: Restoring, with the safety backup first — except after a
    /// failed restore that had taken its safety backup, which is kept (backing up a half-restored store would help no one).
    /// </summary>
    public Store WithRestoreRequested(string backup, string snapshot, string requestedBy, string safetyBackupJob, DateTimeOffset now)
    {
        // Only a safety backup that was taken is kept: a restore that failed before it had one takes one now.
        var afterFailedRestore = Phase == StorePhase.Failed && Restore is { SafetySnapshot: not null };
        var run = afterFailedRestore
            ? new RestoreRun(backup, snapshot, requestedBy, now, RestoreStage.Restore, Restore!.SafetyBackup, Restore.SafetySnapshot)
            : new RestoreRun(backup, snapshot, requestedBy, now, RestoreStage.SafetyBackup, safetyBackupJob);
        var moved = Take(StoreTrigger.StartRestore, now);
        return moved with
        {
            Restore = run,
            FailedPhase = null,
            Attempts = 0,
            Conditions = [.. moved.Conditions.Where(c => c.Type is not (ConditionTypes.Failed or ConditionTypes.Retrying or ConditionTypes.Restore))],
        };
    }

    /// <summary>The restore moved on to <paramref name="stage"/> (with the safety backup's snapshot once it is taken).</summary>
    public Store WithRestoreStage(RestoreStage stage, DateTimeOffset now, string? safetySnapshot = null) =>
        this with
        {
            Restore = Restore! with { Stage = stage, SafetySnapshot = safetySnapshot ?? Restore.SafetySnapshot },
            Attempts = 0,
            UpdatedAt = now,
            Progress = ProgressClock.StartedAt(now),
            Conditions = [.. Conditions.Where(c => c.Type is not (ConditionTypes.Retrying or ConditionTypes.Restore))],
        };

    /// <summary>The failure reason of a store whose namespace was deleted or replaced out of band (its data is gone).</summary>
    public const string NamespaceLostReason = "NamespaceLost";

    /// <summary>The phase a failed store failed in; a retry resumes there. Null unless <see cref="Phase"/> is Failed.</summary>
    public StorePhase? FailedPhase { get; init; }

    public IReadOnlyList<StoreCondition> Conditions { get; init; } = [];

    /// <summary>How many times the current step has been attempted (reset when a phase completes or on retry).</summary>
    public int Attempts { get; init; }

    public StoreUrls? Urls { get; init; }

    /// <summary>Bumped on every spec change (a new Helm values digest is expected), as Kubernetes' metadata.generation.</summary>
    public long Generation { get; init; } = 1;

    /// <summary>
    /// The generation the current phase describes (Kubernetes' status.observedGeneration): lower than
    /// <see cref="Generation"/> while a spec change waits for the engine to pick it up.
    /// </summary>
    public long ObservedGeneration { get; init; } = 1;

    /// <summary>The plan the release last deployed successfully (what serves while an update runs, and what a failed update returns to).</summary>
    public StorePlan? AppliedPlan { get; init; }

    /// <summary>The objects of the deployed release and when Storefleet last applied them (see <see cref="ReleaseInventory"/>); null until Ready.</summary>
    public ReleaseInventory? Inventory { get; init; }

    /// <summary>When drift was repaired within the last hour, oldest first (for backoff and DriftPersistent).</summary>
    public IReadOnlyList<DateTimeOffset> Repairs { get; init; } = [];

    /// <summary>Bumped on each bootstrap retry, so only the bootstrap Job is re-run.</summary>
    public long BootstrapGeneration { get; init; } = 1;

    /// <summary>
    /// The W3C trace context (<c>traceparent</c>) of the request that asked for the work in progress (a create, a plan
    /// change, a retry, a delete), so the engine's reconciles join that request's trace; cleared when the work is done.
    /// </summary>
    public string? TraceParent { get; init; }

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

    /// <summary>A person changed the plan: the spec and its generation move on; the engine upgrades the release.</summary>
    public Store WithPlan(StorePlan plan, DateTimeOffset now) =>
        this with
        {
            Spec = Spec with { Plan = plan },
            Generation = Generation + 1,
            AppliedPlan = AppliedPlan ?? Spec.Plan,
            PreviousOverrides = Serving ? Overrides : PreviousOverrides,
            PreviousBackupSchedule = Serving ? BackupSchedule : PreviousBackupSchedule,
            PreviousUpgrade = Serving ? Upgrade : PreviousUpgrade,
            UpdatedAt = now,
        };

    /// <summary>
    /// A person asked to move the store to the chart and values this control plane ships: the spec stays, its generation
    /// moves on, and the engine pins the shipped release for it and upgrades (rolled back to the old pin if that fails).
    /// </summary>
    /// <param name="now">When it was asked for.</param>
    /// <param name="snapshot">The application versions change: the database and WordPress's code are snapshotted before migrating.</param>
    /// <param name="test">Run <c>helm test</c> (the storefront smoke test) once it is ready; a failure rolls it back.</param>
    /// <param name="overrides">The application versions it runs instead of the chart's (a rollout's image-tag override); null: the chart's.</param>
    public Store WithUpgradeRequested(DateTimeOffset now, bool snapshot, bool test, AppOverrides? overrides) =>
        this with
        {
            Generation = Generation + 1,
            AppliedPlan = AppliedPlan ?? Spec.Plan,
            Upgrade = new UpgradeRun(Generation + 1, snapshot, test),
            Overrides = overrides,
            PreviousOverrides = Serving ? Overrides : PreviousOverrides,
            PreviousBackupSchedule = Serving ? BackupSchedule : PreviousBackupSchedule,
            PreviousUpgrade = Serving ? Upgrade : PreviousUpgrade,
            UpdatedAt = now,
        };

    /// <summary>The upgrade the store served with before the update in progress (a rolled-back update returns to it: it is in the served values).</summary>
    public UpgradeRun? PreviousUpgrade { get; init; }

    /// <summary>The record describes what serves: its generation is the observed one (no change waits to be picked up).</summary>
    private bool Serving => Generation == ObservedGeneration;

    /// <summary>
    /// The WordPress image tag and WooCommerce version the store runs instead of what its chart ships (set by a rollout
    /// with an image-tag override; cleared by one without). Part of its Helm values, so of its values digest.
    /// </summary>
    public AppOverrides? Overrides { get; init; }

    /// <summary>The overrides the store served with before the update in progress (a rolled-back update returns to them).</summary>
    public AppOverrides? PreviousOverrides { get; init; }

    /// <summary>The plan that serves: the last one deployed successfully (the spec's own before the first update).</summary>
    public StorePlan ServingPlan => AppliedPlan ?? Spec.Plan;

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
                // A store that lost its namespace in the middle of an update or a restore had served: retry provisions it
                // afresh, as a live store that lost it (the update's or restore's own steps would only fail again).
                FailedPhase = failure?.Reason == NamespaceLostReason && Phase is StorePhase.Updating or StorePhase.Restoring ? StorePhase.Ready : Phase,
                Restore = failure?.Reason == NamespaceLostReason ? null : Restore,
                UpdatedAt = now,
                Conditions = WithCondition(failure ?? throw new ArgumentNullException(nameof(failure), "A failure needs a condition saying why.")),
            },
            StoreTrigger.Retry => this with
            {
                Phase = next,
                FailedPhase = null,
                Attempts = 0,
                UpdatedAt = now,
                BootstrapGeneration = next == StorePhase.Bootstrapping || FailedPhase is StorePhase.Ready or StorePhase.Degraded ? BootstrapGeneration + 1 : BootstrapGeneration,
                Inventory = FailedPhase is StorePhase.Ready or StorePhase.Degraded ? null : Inventory,
                // A failed restore Job never runs again: a retried restore runs a new one.
                Restore = FailedPhase == StorePhase.Restoring && Restore is { Stage: RestoreStage.Restore } failedRestore ? failedRestore with { Attempt = failedRestore.Attempt + 1 } : Restore,
                Repairs = [],
                Conditions = Conditions.Where(c => c.Type is not (ConditionTypes.Failed or ConditionTypes.DriftPersistent or ConditionTypes.Degraded or ConditionTypes.RollingBack)).ToArray(),
            },
            StoreTrigger.StartUpdate => this with { Phase = next, ObservedGeneration = Generation, Attempts = 0, UpdatedAt = now },
            StoreTrigger.UpdateSucceeded => this with
            {
                Phase = next,
                AppliedPlan = Spec.Plan,
                PreviousPin = null,
                PreviousOverrides = null,
                PreviousUpgrade = null,
                PreviousBackupSchedule = null,
                Attempts = 0,
                UpdatedAt = now,
                Conditions = Conditions.Where(c => c.Type is not (ConditionTypes.UpdateFailed or ConditionTypes.Degraded or ConditionTypes.Retrying or ConditionTypes.Migrated)).ToArray(),
            },
            StoreTrigger.RestoreSucceeded or StoreTrigger.RestoreNotStarted => this with
            {
                Phase = next,
                Restore = null,
                Attempts = 0,
                UpdatedAt = now,
                Conditions = Conditions.Where(c => c.Type is not (ConditionTypes.Restore or ConditionTypes.Retrying or ConditionTypes.Degraded)).ToArray(),
            },
            StoreTrigger.Recover => this with { Phase = next, UpdatedAt = now, Conditions = Conditions.Where(c => c.Type != ConditionTypes.Degraded).ToArray() },
            _ => this with { Phase = next, UpdatedAt = now, Attempts = next == Phase ? Attempts : 0 },
        };
        return moved.Phase == Phase ? moved : moved with { PhaseStartedAt = now, Progress = ProgressClock.StartedAt(now) };
    }

    /// <summary>
    /// A failed update was rolled back: the spec returns to the plan that serves (a new generation, observed at once) and
    /// the release pin to the one it served with,
    /// and the store is Degraded with the reason until the plan is changed again or a person retries.
    /// </summary>
    public Store RolledBack(StoreCondition reason, DateTimeOffset now)
    {
        var degraded = Take(StoreTrigger.UpdateRolledBack, now);
        return degraded with
        {
            Spec = Spec with { Plan = ServingPlan },
            Generation = Generation + 1,
            ObservedGeneration = Generation + 1,
            // Back to the chart and values it served with (the release was rolled back to them), for the new generation.
            Pin = PreviousPin is { } served ? served with { Generation = Generation + 1 } : Pin,
            PreviousPin = null,
            Overrides = PreviousOverrides,
            Upgrade = PreviousUpgrade,
            BackupSchedule = PreviousBackupSchedule,
            PreviousBackupSchedule = null,
            Attempts = 0,
            Conditions = [.. degraded.Conditions.Where(c => c.Type is not (ConditionTypes.Retrying or ConditionTypes.Degraded or ConditionTypes.UpdateFailed or ConditionTypes.RollingBack or ConditionTypes.Migrated)), reason,
                new StoreCondition(ConditionTypes.Degraded, true, ConditionTypes.UpdateFailed, reason.Message, now)],
        };
    }

    /// <summary>Drift was repaired now: remembered for an hour (backoff, DriftPersistent).</summary>
    public Store WithRepair(DateTimeOffset now) =>
        this with { Repairs = [.. Repairs.Where(r => now - r < TimeSpan.FromHours(1)), now], UpdatedAt = now };

    /// <summary>A person asked to resume a live store's automatic care: paused repairs resume, a rolled-back update's mark clears.</summary>
    public Store Resumed(DateTimeOffset now) =>
        this with
        {
            Repairs = [],
            UpdatedAt = now,
            Conditions = [.. Conditions.Where(c => c.Type is not (ConditionTypes.DriftPersistent or ConditionTypes.UpdateFailed)
                && !(c.Type == ConditionTypes.Degraded && c.Reason == ConditionTypes.UpdateFailed))],
        };

    /// <summary>The live store waits for a person: repairs paused (DriftPersistent) or a failed update to acknowledge.</summary>
    public bool AwaitsPerson => Phase.IsLive() && (Condition(ConditionTypes.DriftPersistent) is { Status: true } || Condition(ConditionTypes.UpdateFailed) is not null);

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

/// <summary>
/// What the deployed release consists of: its objects (<c>Kind/name</c>, from the release's own manifest) and
/// when Storefleet last applied them by the API server's clock. An object missing from the cluster, or written by
/// another field manager after <paramref name="AppliedAt"/>, is drift. <paramref name="Revision"/>: the release revision.
/// </summary>
public sealed record ReleaseInventory(IReadOnlyList<string> Objects, DateTimeOffset AppliedAt, int Revision);

/// <summary>
/// The chart version and values digest a store's (bootstrap) generation is installed with (see <see cref="Store.Pin"/>),
/// and the application versions that chart and its values run (null on pins written before versions were recorded).
/// </summary>
public sealed record ReleasePin(long Generation, long BootstrapGeneration, string ChartVersion, string Digest, AppVersions? Apps = null);

/// <summary>
/// An upgrade asked for at <paramref name="Generation"/>: its upgrade Job runs migrations, after a snapshot when
/// <paramref name="Snapshot"/>; with <paramref name="Test"/>, <c>helm test</c> must pass before it is done.
/// </summary>
public sealed record UpgradeRun(long Generation, bool Snapshot, bool Test = false);

/// <summary>Application versions a store runs instead of its chart's: the WordPress image tag and the WooCommerce version (null: the chart's).</summary>
public sealed record AppOverrides(string? WordPressTag, string? WooCommerceVersion);

/// <summary>The application versions a store runs: the WordPress and MySQL image tags and the WooCommerce plugin version.</summary>
public sealed record AppVersions(string WordPress, string WooCommerce, string MySql)
{
    /// <summary>These versions with <paramref name="overrides"/> applied.</summary>
    public AppVersions With(AppOverrides? overrides) =>
        overrides is null ? this : new(overrides.WordPressTag ?? WordPress, overrides.WooCommerceVersion ?? WooCommerce, MySql);
}

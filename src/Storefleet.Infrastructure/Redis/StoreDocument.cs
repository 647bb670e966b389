using System.Text.Json;
using System.Text.Json.Serialization;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary>The JSON shape of a store record in Redis. The version lives beside it in the hash.</summary>
internal sealed record StoreDocument(
    string Name,
    string Engine,
    string Plan,
    string Owner,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    StorePhase Phase,
    StorePhase? FailedPhase,
    IReadOnlyList<StoreCondition> Conditions,
    int Attempts,
    StoreUrls? Urls,
    long Generation,
    long BootstrapGeneration,
    DateTimeOffset? PhaseStartedAt = null,
    string? Uid = null,
    ProgressClock? Progress = null,
    ReleasePin? Pin = null,
    long? ObservedGeneration = null,
    string? AppliedPlan = null,
    ReleaseInventory? Inventory = null,
    IReadOnlyList<DateTimeOffset>? Repairs = null,
    string? TraceParent = null,
    ReleasePin? PreviousPin = null,
    UpgradeRun? Upgrade = null,
    AppOverrides? Overrides = null,
    AppOverrides? PreviousOverrides = null,
    UpgradeRun? PreviousUpgrade = null,
    RestoreRun? Restore = null,
    CloneSource? CloneFrom = null,
    bool? PurgeBackups = null,
    string? BackupSchedule = null,
    string? PreviousBackupSchedule = null,
    string? Placement = null,
    Core.Pool.PoolClaim? Claim = null)
{
    public static StoreDocument From(Store store) => new(
        store.Name, store.Spec.Engine.Id, store.Spec.Plan.Id, store.Owner, store.CreatedAt, store.UpdatedAt,
        store.Phase, store.FailedPhase, store.Conditions, store.Attempts, store.Urls, store.Generation, store.BootstrapGeneration,
        store.PhaseStartedAt, store.Uid.Length == 0 ? null : store.Uid, store.Progress, store.Pin,
        store.ObservedGeneration, store.AppliedPlan?.Id, store.Inventory, store.Repairs.Count == 0 ? null : store.Repairs, store.TraceParent, store.PreviousPin, store.Upgrade, store.Overrides, store.PreviousOverrides, store.PreviousUpgrade, store.Restore, store.CloneFrom, store.PurgeBackups ? true : null, store.BackupSchedule, store.PreviousBackupSchedule, store.Placement, store.Claim);

    public Store ToStore(long version)
    {
        var engine = StoreEngine.Find(Engine)
            ?? throw new InvalidDataException($"Store '{Name}' has engine '{Engine}', which this version of Storefleet does not know.");
        var plan = StorePlan.Find(Plan)
            ?? throw new InvalidDataException($"Store '{Name}' has plan '{Plan}', which this version of Storefleet does not know.");
        return new Store
        {
            Name = Name,
            Uid = Uid ?? string.Empty,
            Spec = new StoreSpec(engine, plan),
            Owner = Owner,
            CreatedAt = CreatedAt,
            UpdatedAt = UpdatedAt,
            Phase = Phase,
            PhaseStartedAt = PhaseStartedAt ?? UpdatedAt,
            Progress = Progress ?? ProgressClock.StartedAt(PhaseStartedAt ?? UpdatedAt),
            Pin = Pin,
            PreviousPin = PreviousPin,
            Upgrade = Upgrade,
            Overrides = Overrides,
            PreviousOverrides = PreviousOverrides,
            PreviousUpgrade = PreviousUpgrade,
            Restore = Restore,
            CloneFrom = CloneFrom,
            PurgeBackups = PurgeBackups ?? false,
            BackupSchedule = BackupSchedule,
            PreviousBackupSchedule = PreviousBackupSchedule,
            Placement = Placement,
            Claim = Claim,
            FailedPhase = FailedPhase,
            Conditions = Conditions,
            Attempts = Attempts,
            Urls = Urls,
            Generation = Generation,
            // Records from before spec changes existed describe their only generation.
            ObservedGeneration = ObservedGeneration ?? Generation,
            AppliedPlan = AppliedPlan is null ? null : StorePlan.Find(AppliedPlan)
                ?? throw new InvalidDataException($"Store '{Name}' was applied with plan '{AppliedPlan}', which this version of Storefleet does not know."),
            Inventory = Inventory,
            Repairs = Repairs ?? [],
            TraceParent = TraceParent,
            BootstrapGeneration = BootstrapGeneration,
            Version = version,
        };
    }
}

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoreDocument))]
[JsonSerializable(typeof(StoreEvent))]
[JsonSerializable(typeof(TombstoneEntry))]
[JsonSerializable(typeof(ContinueToken))]
[JsonSerializable(typeof(Dictionary<string, long>))]
internal sealed partial class StateJsonContext : JsonSerializerContext;

/// <summary>What the tombstone list remembers of a deleted store.</summary>
internal sealed record TombstoneEntry(string Name, string Owner, string Engine, string Plan, DateTimeOffset CreatedAt, StoreEvent Event);

using System.Text.Json;
using System.Text.Json.Serialization;
using Storefleet.Core.Stores;

namespace Storefleet.Server.Api;

/// <summary>
/// Body of <c>POST /api/v1/stores</c>. Unknown fields are rejected. <paramref name="RestoreFrom"/>: a clone — the new
/// store starts from that backup of another store (which may since have been deleted) instead of empty.
/// </summary>
public sealed record CreateStoreRequest(string? Name, string? Engine, string? Plan, RestoreFromRequest? RestoreFrom = null);

/// <summary>A clone's source: the store (by name, even deleted) and the id of one of its backups.</summary>
public sealed record RestoreFromRequest(string? Store, string? Backup);

/// <summary>
/// Body of <c>PATCH /api/v1/stores/{name}</c> (<c>application/merge-patch+json</c>): the plan to move to. The name and
/// engine may be sent only with their current values (they cannot change). Unknown fields are rejected.
/// </summary>
public sealed record ChangeStoreRequest(string? Plan, string? Name, string? Engine);

/// <summary>A store as the API shows it.</summary>
public sealed record StoreResource(
    string Name,
    string Engine,
    string Plan,
    string Owner,
    string Phase,
    string? FailedPhase,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int Attempts,
    IReadOnlyList<ConditionResource> Conditions,
    StoreUrls? Urls,
    long Generation,
    long BootstrapGeneration,
    string SpecHash,
    long Version,
    string Namespace,
    string Release,
    long ObservedGeneration,
    string ServingPlan,
    StoreVersionsResource? Versions = null,
    string? BackupSchedule = null,
    CloneSourceResource? ClonedFrom = null,
    WarmPoolClaimResource? ClaimedFromPool = null)
{
    public static StoreResource From(Store store, string namespacePrefix) => new(
        store.Name,
        store.Spec.Engine.Id,
        store.Spec.Plan.Id,
        store.Owner,
        store.Phase.ToWire(),
        store.FailedPhase?.ToWire(),
        store.CreatedAt,
        store.UpdatedAt,
        store.Attempts,
        store.Conditions.Select(ConditionResource.From).ToArray(),
        store.Urls,
        store.Generation,
        store.BootstrapGeneration,
        store.SpecHash,
        store.Version,
        namespacePrefix + store.ClusterName,
        store.ClusterName,
        store.ObservedGeneration,
        store.ServingPlan.Id,
        StoreVersionsResource.From(store.Pin),
        store.BackupSchedule,
        store.CloneFrom is { } source ? new CloneSourceResource(source.Store, source.Backup, source.Snapshot) : null,
        store.Claim is { } claim ? new WarmPoolClaimResource(claim.Member, claim.ClaimedAt, claim.Stage.ToString().ToLowerInvariant()) : null);
}

/// <summary>The warm-pool member a store took over (its namespace and release keep the member's name), when, and how far that is.</summary>
public sealed record WarmPoolClaimResource(string Member, DateTimeOffset ClaimedAt, string Stage);

/// <summary>Where a clone came from: the source store, its backup and that backup's snapshot.</summary>
public sealed record CloneSourceResource(string Store, string Backup, string Snapshot);

/// <summary>
/// The chart, values digest and application versions the store's current generation is installed with (null until
/// the engine first pins them, right before its first helm run; application versions null on older records).
/// </summary>
public sealed record StoreVersionsResource(string ChartVersion, string ValuesDigest, string? WordPress, string? WooCommerce, string? MySql)
{
    public static StoreVersionsResource? From(ReleasePin? pin) =>
        pin is null ? null : new(pin.ChartVersion, pin.Digest, pin.Apps?.WordPress, pin.Apps?.WooCommerce, pin.Apps?.MySql);
}

/// <summary>
/// The ETag of a store is its spec's generation, quoted (<c>"3"</c>): a client that read the store may change it with
/// <c>If-Match</c> while the engine keeps updating its status; only a concurrent spec change makes it stale (412).
/// </summary>
public static class StoreETag
{
    public static string Of(long generation) => $"\"{generation}\"";

    /// <summary>Whether an If-Match header value matches the generation (<c>*</c> matches any; lists are allowed).</summary>
    public static bool Matches(string ifMatch, long generation) =>
        ifMatch.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Any(tag => tag == "*" || tag == Of(generation));
}

/// <summary>A store's WordPress administrator login (<c>GET /api/v1/stores/{name}/credentials</c>; never cached, never logged).</summary>
public sealed record CredentialsResource(string AdminUser, string AdminPassword, string? AdminUrl);

/// <summary>Namespaces labelled as Storefleet stores with no record (<c>GET /api/v1/orphans</c>).</summary>
public sealed record OrphanListResource(IReadOnlyList<OrphanResource> Items);

public sealed record OrphanResource(string Namespace, string Store, DateTimeOffset FirstSeen, string Message, string? Uid);

public sealed record ConditionResource(string Type, string Status, string Reason, string Message, DateTimeOffset LastTransitionTime)
{
    public static ConditionResource From(StoreCondition c) =>
        new(c.Type, c.Status ? "True" : "False", c.Reason, c.Message, c.LastTransitionTime);
}

/// <summary>Body of <c>PUT /api/v1/stores/{name}/backups/schedule</c>: hourly, daily or a cron expression; null: the plan's.</summary>
public sealed record BackupScheduleRequest(string? Schedule);

/// <summary>Body of <c>POST /api/v1/stores/{name}/restore</c>: the id of the store's backup to restore in place.</summary>
public sealed record RestoreStoreRequest(string Backup);

/// <summary>A page of stores; pass <see cref="Continue"/> back as <c>?continue=</c> for the next one.</summary>
public sealed record StoreListResource(IReadOnlyList<StoreResource> Items, string? Continue);

/// <summary>One timeline entry; <paramref name="Id"/> is stable (the Last-Event-ID of the follow stream).</summary>
public sealed record StoreEventResource(DateTimeOffset Time, string Type, string Phase, string Message, double? DurationMs, string? Step, long? Id = null)
{
    public static StoreEventResource From(StoreEvent e, long? id = null) =>
        new(e.Time, JsonNamingPolicy.CamelCase.ConvertName(e.Type.ToString()), e.Phase.ToWire(), e.Message, e.Duration?.TotalMilliseconds, e.Step, id);
}

public sealed record StoreEventListResource(IReadOnlyList<StoreEventResource> Items);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(CreateStoreRequest))]
[JsonSerializable(typeof(CreateRolloutRequest))]
[JsonSerializable(typeof(ChangeStoreRequest))]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(RestoreStoreRequest))]
[JsonSerializable(typeof(BackupScheduleRequest))]
[JsonSerializable(typeof(StoreResource))]
[JsonSerializable(typeof(StoreListResource))]
[JsonSerializable(typeof(StoreEventListResource))]
[JsonSerializable(typeof(StoreEventResource))]
[JsonSerializable(typeof(Streaming.StreamGap))]
[JsonSerializable(typeof(Streaming.StreamPosition))]
[JsonSerializable(typeof(Streaming.StreamRelist))]
[JsonSerializable(typeof(Streaming.DeletedStore))]
[JsonSerializable(typeof(CredentialsResource))]
[JsonSerializable(typeof(OrphanListResource))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

using System.Text.Json;
using k8s;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Engine.Reconciling;

/// <summary>A namespace carrying Storefleet's labels with no store record (of its uid): reported, never deleted silently.</summary>
public sealed record OrphanNamespace(string Namespace, string Store, DateTimeOffset FirstSeen, string Message, string? Uid = null);

/// <summary>
/// Finds orphan namespaces — ours by label, but no record of that name, or a record of that name with
/// another uid (a record lost with a Redis volume and the name taken again, or a late worker's straggler) —
/// and reports them loudly: a warning in the log, an entry in Redis for the admin list endpoint. A person
/// decides: delete the namespace, or restore the store.
/// </summary>
public sealed partial class OrphanNamespaces(
    ClusterConnection cluster,
    IStoreRepository repository,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    TimeProvider clock,
    ILogger<OrphanNamespaces> logger)
{
    public async Task ScanAsync(CancellationToken cancellationToken)
    {
        var client = cluster.TryGetClient(out _);
        if (client is null)
        {
            return;
        }

        var namespaces = await client.CoreV1.ListNamespaceAsync(labelSelector: $"{StoreClusterNames.ManagedByLabel}={StoreClusterNames.ManagedByValue}", cancellationToken: cancellationToken);
        var db = redis.GetDatabase();
        var seen = new HashSet<string>();
        foreach (var ns in namespaces.Items)
        {
            var labels = ns.Metadata.Labels ?? new Dictionary<string, string>();
            var store = labels.TryGetValue(StoreClusterNames.StoreLabel, out var label) ? label : null;
            var uid = labels.TryGetValue(StoreClusterNames.StoreUidLabel, out var uidLabel) ? uidLabel : null;
            if (store is null || ns.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            var record = await repository.GetAsync(store, cancellationToken);
            if (record is not null && (record.Uid.Length == 0 || uid is null || record.Uid == uid))
            {
                continue;
            }

            seen.Add(ns.Metadata.Name);
            var known = await db.HashGetAsync(keys.Orphans, ns.Metadata.Name);
            var previous = known.IsNull ? null : JsonSerializer.Deserialize((string)known!, OrphanJson.Default.OrphanNamespace);

            var message = record is null
                ? $"Namespace {ns.Metadata.Name} is labelled as store '{store}' (uid {uid ?? "none recorded"}) but Storefleet has no record of it. Its database and files are still there. Delete the namespace if the store is gone for good; a new store of that name is never given it."
                : $"Namespace {ns.Metadata.Name} belongs to an earlier store '{store}' (uid {uid}); the current store of that name (uid {record.Uid}) is a different one and never adopts it. Delete the namespace if the earlier store is gone for good.";
            if (previous is not null && previous.Message == message)
            {
                continue;
            }

            // New, or its situation changed (e.g. a new store of that name was created meanwhile): first seen stays.
            var orphan = new OrphanNamespace(ns.Metadata.Name, store, previous?.FirstSeen ?? clock.GetUtcNow(), message, uid);
            await db.HashSetAsync(keys.Orphans, ns.Metadata.Name, JsonSerializer.Serialize(orphan, OrphanJson.Default.OrphanNamespace));
            LogOrphan(logger, ns.Metadata.Name, store);
        }

        // Forget orphans that were resolved (namespace deleted or store recreated).
        foreach (var entry in await db.HashKeysAsync(keys.Orphans))
        {
            if (!seen.Contains((string)entry!))
            {
                await db.HashDeleteAsync(keys.Orphans, entry);
            }
        }
    }

    public async Task<IReadOnlyList<OrphanNamespace>> ListAsync()
    {
        var entries = await redis.GetDatabase().HashValuesAsync(keys.Orphans);
        return [.. entries.Select(e => JsonSerializer.Deserialize((string)e!, OrphanJson.Default.OrphanNamespace)!).OrderBy(o => o.Namespace, StringComparer.Ordinal)];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orphan namespace {Namespace}: labelled as store {Store}, but no record exists. It is reported (GET /api/v1/orphans), never deleted automatically.")]
    private static partial void LogOrphan(ILogger logger, string @namespace, string store);
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(OrphanNamespace))]
internal sealed partial class OrphanJson : System.Text.Json.Serialization.JsonSerializerContext;

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
        var candidates = namespaces.Items
            .Where(ns => ns.Metadata.DeletionTimestamp is null && ns.Metadata.Labels?.ContainsKey(StoreClusterNames.StoreLabel) == true)
            .Select(ns => (Namespace: ns.Metadata.Name, Store: ns.Metadata.Labels![StoreClusterNames.StoreLabel], Uid: ns.Metadata.Labels.TryGetValue(StoreClusterNames.StoreUidLabel, out var u) ? u : null))
            .ToList();

        // Every record and every known orphan in a few pipelined round trips, not one per namespace.
        var known = (await db.HashGetAllAsync(keys.Orphans)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);
        var records = new List<Store?>(candidates.Count);
        foreach (var chunk in candidates.Chunk(500))
        {
            records.AddRange(await Task.WhenAll(chunk.Select(c => repository.GetAsync(c.Store, cancellationToken))));
        }

        foreach (var ((nsName, store, uid), record) in candidates.Zip(records))
        {
            if (record is not null && (record.Uid.Length == 0 || uid is null || record.Uid == uid))
            {
                continue;
            }

            seen.Add(nsName);
            var previous = known.TryGetValue(nsName, out var json) ? JsonSerializer.Deserialize(json, OrphanJson.Default.OrphanNamespace) : null;

            var message = record is null
                ? $"Namespace {nsName} is labelled as store '{store}' (uid {uid ?? "none recorded"}) but Storefleet has no record of it. Its database and files are still there. Delete the namespace if the store is gone for good; a new store of that name is never given it."
                : $"Namespace {nsName} belongs to an earlier store '{store}' (uid {uid}); the current store of that name (uid {record.Uid}) is a different one and never adopts it. Delete the namespace if the earlier store is gone for good.";
            if (previous is not null && previous.Message == message)
            {
                continue;
            }

            // New, or its situation changed (e.g. a new store of that name was created meanwhile): first seen stays.
            var orphan = new OrphanNamespace(nsName, store, previous?.FirstSeen ?? clock.GetUtcNow(), message, uid);
            await db.HashSetAsync(keys.Orphans, nsName, JsonSerializer.Serialize(orphan, OrphanJson.Default.OrphanNamespace));
            LogOrphan(logger, nsName, store);
        }

        // Forget orphans that were resolved (namespace deleted or store recreated).
        var resolved = known.Keys.Where(k => !seen.Contains(k)).Select(k => (RedisValue)k).ToArray();
        if (resolved.Length > 0)
        {
            await db.HashDeleteAsync(keys.Orphans, resolved);
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

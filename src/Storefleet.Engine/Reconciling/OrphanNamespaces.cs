using System.Text.Json;
using k8s;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Kubernetes;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Engine.Reconciling;

/// <summary>A namespace carrying Storefleet's labels with no store record: reported, never deleted silently.</summary>
public sealed record OrphanNamespace(string Namespace, string Store, DateTimeOffset FirstSeen, string Message);

/// <summary>
/// Finds orphan namespaces (ours by label, no record — e.g. a record lost with a Redis volume) and
/// reports them: a warning in the log, an entry in Redis for the admin list endpoint. A person decides:
/// delete the namespace, or recreate the store.
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
            var store = ns.Metadata.Labels is { } labels && labels.TryGetValue(StoreClusterNames.StoreLabel, out var label) ? label : null;
            if (store is null || ns.Metadata.DeletionTimestamp is not null || await repository.GetAsync(store, cancellationToken) is not null)
            {
                continue;
            }

            seen.Add(ns.Metadata.Name);
            if (await db.HashExistsAsync(keys.Orphans, ns.Metadata.Name))
            {
                continue;
            }

            var orphan = new OrphanNamespace(ns.Metadata.Name, store, clock.GetUtcNow(),
                $"Namespace {ns.Metadata.Name} is labelled as store '{store}' but Storefleet has no record of it. Delete the namespace if the store is gone, or create the store again to adopt nothing: a new store needs the namespace removed first.");
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

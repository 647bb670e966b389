using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>
/// The object store answers lists, a namespace's objects and an owner's dependents from indexes; they must always agree
/// with what is stored, through creates, replaces that change a namespace's contents or an object's owners, and deletes.
/// </summary>
public sealed class ObjectStoreIndexTests
{
    private static readonly ApiCatalog Catalog = ApiCatalog.LoadRecorded();
    private static readonly ApiResource Pods = Catalog.Find("", "v1", "pods")!;
    private static readonly ApiResource ConfigMaps = Catalog.Find("", "v1", "configmaps")!;
    private static readonly ApiResource Namespaces = Catalog.Find("", "v1", "namespaces")!;

    [Fact]
    public void Lists_AreOrderedAndScopedToTheirResourceAndNamespace()
    {
        var store = new ObjectStore();
        store.TryCreate(Pods, Object("b", "ns1"));
        store.TryCreate(Pods, Object("a", "ns1"));
        store.TryCreate(Pods, Object("c", "ns10"));
        store.TryCreate(ConfigMaps, Object("a", "ns1"));
        store.TryCreate(Namespaces, Object("ns1", null));

        Assert.Equal(["a", "b"], Names(store.List(Pods, "ns1").Items));
        Assert.Equal(["a", "b", "c"], Names(store.List(Pods, null).Items));
        Assert.Equal(["a"], Names(store.List(ConfigMaps, null).Items));
        Assert.Equal(["ns1"], Names(store.List(Namespaces, null).Items));
        Assert.Empty(store.List(Pods, "ns").Items);
    }

    [Fact]
    public void NamespaceAndOwnerIndexes_FollowReplacesAndDeletes()
    {
        var store = new ObjectStore();
        store.TryCreate(Pods, Object("p1", "ns1", "owner-a"));
        store.TryCreate(Pods, Object("p2", "ns1", "owner-a", "owner-b"));
        store.TryCreate(ConfigMaps, Object("c1", "ns2", "owner-b"));

        Assert.Equal(["p1", "p2"], Names(store.OwnedBy("owner-a").Select(o => o.Object)));
        Assert.Equal(["c1", "p2"], Names(store.OwnedBy("owner-b").Select(o => o.Object)).Order(StringComparer.Ordinal));
        Assert.Equal(["p1", "p2"], Names(store.InNamespace("ns1").Select(o => o.Object)));

        // A replace that drops an owner, an update that adds one, a delete.
        store.TryReplace(Pods, Object("p2", "ns1", "owner-b"), expectedVersion: null);
        store.Update(Pods, "ns1", "p1", pod =>
        {
            pod["metadata"]!["ownerReferences"] = new JsonArray(new JsonObject { ["uid"] = "owner-c" });
            return pod;
        });
        store.Remove(ConfigMaps, "ns2", "c1");

        Assert.Empty(store.OwnedBy("owner-a"));
        Assert.Equal(["p2"], Names(store.OwnedBy("owner-b").Select(o => o.Object)));
        Assert.Equal(["p1"], Names(store.OwnedBy("owner-c").Select(o => o.Object)));
        Assert.Empty(store.InNamespace("ns2"));
        Assert.All(store.InNamespace("ns1"), o => Assert.Equal(Pods, o.Resource));
        Assert.Equal(["p1", "p2"], Names(store.InNamespace("ns1").Select(o => o.Object)));

        store.Clear();
        Assert.Empty(store.InNamespace("ns1"));
        Assert.Empty(store.OwnedBy("owner-b"));
        Assert.Empty(store.List(Pods, null).Items);
    }

    private static JsonObject Object(string name, string? ns, params string[] owners)
    {
        var metadata = new JsonObject { ["name"] = name };
        if (ns is not null)
        {
            metadata["namespace"] = ns;
        }

        if (owners.Length > 0)
        {
            metadata["ownerReferences"] = new JsonArray([.. owners.Select(uid => (JsonNode)new JsonObject { ["uid"] = uid })]);
        }

        return new JsonObject { ["metadata"] = metadata };
    }

    private static IEnumerable<string> Names(IEnumerable<JsonObject> objects) =>
        objects.Select(o => o["metadata"]!["name"]!.GetValue<string>());
}

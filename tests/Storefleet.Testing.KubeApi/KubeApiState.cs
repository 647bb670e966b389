using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;
using Storefleet.Testing.KubeApi.Faults;
using Storefleet.Testing.KubeApi.Simulation;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Testing.KubeApi;

/// <summary>Everything one running double holds: catalog, objects, simulation, faults and the request log.</summary>
public sealed class KubeApiState : IDisposable
{
    internal const string VerbItem = "kube-api.verb";
    internal const string ResourceItem = "kube-api.resource";

    private static readonly string[] SystemNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];
    private readonly CancellationTokenSource _stopping = new();

    public KubeApiState(TimeProvider? clock = null)
    {
        Catalog = ApiCatalog.LoadRecorded();
        Store = new ObjectStore();
        Writer = new ObjectWriter(Store, Catalog, clock ?? TimeProvider.System);
        Simulation = new SimulationSettings();
        Simulator = new WorkloadSimulator(Store, Writer, Catalog, Simulation, _stopping.Token);
        OpenApiIndex = FilteredOpenApiIndex();
        SeedSystemNamespaces();
    }

    public ApiCatalog Catalog { get; }

    public ObjectStore Store { get; }

    public ObjectWriter Writer { get; }

    public SimulationSettings Simulation { get; }

    public FaultInjector Faults { get; } = new();

    public RequestLog Requests { get; } = new();

    public JsonObject OpenApiIndex { get; }

    internal WorkloadSimulator Simulator { get; }

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Back to a fresh cluster: no objects but the system namespaces, no faults, no log, default simulation delays.</summary>
    public void Reset()
    {
        Store.Clear();
        Faults.Clear();
        Requests.Clear();
        Simulation.ClearFaults();
        Simulation.ReadyDelay = TimeSpan.Zero;
        Simulation.NamespaceDeletionDelay = TimeSpan.FromMilliseconds(50);
        SeedSystemNamespaces();
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>The system namespaces and kind's default StorageClass ("standard", local-path, no volume expansion).</summary>
    private void SeedSystemNamespaces()
    {
        var namespaces = Catalog.Find(string.Empty, "v1", "namespaces")!;
        foreach (var ns in SystemNamespaces)
        {
            Writer.Create(namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }, WriteOptions.Controller);
        }

        Writer.Create(Catalog.Find("storage.k8s.io", "v1", "storageclasses")!, null, new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = DefaultStorageClass,
                ["annotations"] = new JsonObject { ["storageclass.kubernetes.io/is-default-class"] = "true" },
            },
            ["provisioner"] = "rancher.io/local-path",
            ["reclaimPolicy"] = "Delete",
            ["volumeBindingMode"] = "WaitForFirstConsumer",
        }, WriteOptions.Controller);
    }

    /// <summary>The name of the StorageClass every fresh double has as its default (as kind's).</summary>
    public const string DefaultStorageClass = "standard";

    private static JsonObject FilteredOpenApiIndex()
    {
        var index = Recorded.Json("openapi/v3-index.json").AsObject();
        var paths = index["paths"]!.AsObject();
        foreach (var key in paths.Select(kv => kv.Key).ToArray())
        {
            if (!Recorded.Exists("openapi/v3_" + key.Replace('/', '_') + ".json"))
            {
                paths.Remove(key);
            }
        }

        return index;
    }
}

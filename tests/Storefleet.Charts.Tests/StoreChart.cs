using System.Collections.Concurrent;
using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>The store chart under test: its path, values files, plans, and cached renderings.</summary>
public static class StoreChart
{
    public const string Release = "demo";
    public const string Namespace = "store-demo";

    private static readonly ConcurrentDictionary<string, Lazy<Task<RenderedChart>>> Renderings = new();

    public static string Path { get; } = System.IO.Path.Combine(RepositoryPaths.Root, "charts", "store");

    public static IReadOnlyList<string> ValuesFiles { get; } = ["values-local.yaml", "values-k3d.yaml", "values-prod.yaml"];

    public static IReadOnlyList<string> Plans { get; } = [.. StorePlan.All.Select(p => p.Id)];

    /// <summary>Every values file × every plan, as xunit theory data.</summary>
    public static TheoryData<string, string> FilesAndPlans
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var file in ValuesFiles)
            {
                foreach (var plan in Plans)
                {
                    data.Add(file, plan);
                }
            }

            return data;
        }
    }

    public static TheoryData<string> Files => [.. ValuesFiles];

    public static TheoryData<string> PlanIds => [.. Plans];

    public static string ValuesFile(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>A values file and plan, with the credentials Secret the control plane creates.</summary>
    public static ChartValues AsControlPlaneInstalls(string file, string plan) =>
        ChartValues.From(ValuesFile(file)).With("plan", plan).With("credentials.existingSecret", "demo-credentials");

    public static Task<RenderedChart> RenderAsync(ChartValues values, string release = Release, string ns = Namespace) =>
        Renderings.GetOrAdd($"{release}|{ns}|{values}", _ => new Lazy<Task<RenderedChart>>(() => HelmCli.TemplateAsync(Path, release, ns, values))).Value;
}

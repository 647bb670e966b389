using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Storefleet.Testing.KubeApi.Schema;

namespace Storefleet.Testing.Charts.Rendering;

/// <summary>
/// Every object of a rendered chart, decoded as the API server would decode what helm sends: the YAML
/// read with its scalar types (an unquoted <c>1</c> is a number), then checked against the recorded
/// OpenAPI schema of its kind — a mistyped, unknown or missing required field, or a value outside an
/// enforced enum, fails the parse with the server's message — and finally deserialized into the
/// KubernetesClient model types for the tests to read.
/// </summary>
public sealed class RenderedChart
{
    private RenderedChart(string yaml, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects)
    {
        Yaml = yaml;
        Objects = objects;
    }

    public string Yaml { get; }

    public IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects { get; }

    /// <summary>Every pod the chart can start: Deployments, StatefulSets, Jobs and bare Pods (helm tests).</summary>
    public IReadOnlyList<RenderedPod> Pods => [.. Objects.SelectMany(RenderedPod.From)];

    public static RenderedChart Parse(string yaml)
    {
        foreach (var document in TypedYaml.ParseAll(yaml).OfType<JsonObject>())
        {
            if (SchemaProblem(document) is { } problem)
            {
                throw new InvalidOperationException(problem);
            }
        }

        var documents = KubernetesYaml.LoadAllFromString(yaml, typeMap: null, strict: true);
        var objects = new List<IKubernetesObject<V1ObjectMeta>>();
        foreach (var document in documents)
        {
            objects.Add(document as IKubernetesObject<V1ObjectMeta>
                ?? throw new InvalidOperationException($"rendered document of type {document?.GetType().Name ?? "null"} is not a Kubernetes object"));
        }

        return new RenderedChart(yaml, objects);
    }

    /// <summary>Why the API server would refuse <paramref name="obj"/> (400 or 422), or null when it would decode it.</summary>
    public static string? SchemaProblem(JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>() ?? string.Empty;
        var kind = obj["kind"]?.GetValue<string>() ?? string.Empty;
        var name = $"{kind}/{obj["metadata"]?["name"]}";
        return SchemaValidator.CheckKind(obj, apiVersion, kind) switch
        {
            null => null,
            { DecodeError: { } error } => $"{name}: {kind} in version \"{apiVersion}\" cannot be handled as a {kind}: {error}",
            { UnknownFields.Count: > 0 } findings => $"{name}: {findings.StrictDecodingError}",
            { Invalid.Count: > 0 } findings => $"{name} is invalid: {string.Join(", ", findings.Invalid)}",
            _ => null,
        };
    }

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    public T Named<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta> =>
        All<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new InvalidOperationException($"no {typeof(T).Name} named {name} in the rendering (have: {string.Join(", ", Objects.Select(o => $"{o.Kind}/{o.Metadata.Name}"))})");
}

/// <summary>A pod the chart starts, with what the policies need to know about it.</summary>
public sealed record RenderedPod(string OwnerKind, string OwnerName, V1ObjectMeta Metadata, V1PodSpec Spec, int Replicas)
{
    /// <summary>Long-running pods need probes; run-to-completion pods (Jobs, helm test pods) do not.</summary>
    public bool RunsToCompletion => OwnerKind is "Job" or "Pod";

    public IReadOnlyDictionary<string, string> Labels => (IReadOnlyDictionary<string, string>?)Metadata?.Labels?.AsReadOnly() ?? new Dictionary<string, string>();

    public IEnumerable<V1Container> AllContainers => (Spec.InitContainers ?? []).Concat(Spec.Containers ?? []);

    public override string ToString() => $"{OwnerKind}/{OwnerName}";

    public static IEnumerable<RenderedPod> From(IKubernetesObject<V1ObjectMeta> obj)
    {
        switch (obj)
        {
            case V1Deployment d:
                yield return new RenderedPod("Deployment", d.Metadata.Name, d.Spec.Template.Metadata, d.Spec.Template.Spec, d.Spec.Replicas ?? 1);
                break;
            case V1StatefulSet s:
                yield return new RenderedPod("StatefulSet", s.Metadata.Name, s.Spec.Template.Metadata, s.Spec.Template.Spec, s.Spec.Replicas ?? 1);
                break;
            case V1Job j:
                yield return new RenderedPod("Job", j.Metadata.Name, j.Spec.Template.Metadata, j.Spec.Template.Spec, j.Spec.Parallelism ?? 1);
                break;
            case V1Pod p:
                yield return new RenderedPod("Pod", p.Metadata.Name, p.Metadata, p.Spec, 1);
                break;
            default:
                break;
        }
    }
}

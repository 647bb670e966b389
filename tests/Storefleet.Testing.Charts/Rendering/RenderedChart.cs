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
    private static readonly Dictionary<(string ApiVersion, string Kind), Type> Models = typeof(V1Pod).Assembly.GetTypes()
        .Select(t => (Type: t, Entity: System.Reflection.CustomAttributeExtensions.GetCustomAttribute<KubernetesEntityAttribute>(t)))
        .Where(x => x.Entity is not null && !x.Type.Name.EndsWith("List", StringComparison.Ordinal))
        .GroupBy(x => (ApiVersion: x.Entity!.Group.Length == 0 ? x.Entity.ApiVersion : $"{x.Entity.Group}/{x.Entity.ApiVersion}", x.Entity.Kind))
        .ToDictionary(g => g.Key, g => g.First().Type);

    private static readonly System.Reflection.MethodInfo Deserialize = typeof(KubernetesYaml).GetMethods()
        .Single(m => m.Name == nameof(KubernetesYaml.Deserialize) && m.GetParameters()[0].ParameterType == typeof(string));

    private RenderedChart(string yaml, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects, IReadOnlyList<JsonObject> custom)
    {
        Yaml = yaml;
        Objects = objects;
        Custom = custom;
    }

    public string Yaml { get; }

    public IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects { get; }

    /// <summary>Objects of kinds the Kubernetes model types do not cover (cert-manager, Prometheus operator...), as JSON.</summary>
    public IReadOnlyList<JsonObject> Custom { get; }

    /// <summary>Every pod the chart can start: Deployments, StatefulSets, Jobs and bare Pods (helm tests).</summary>
    public IReadOnlyList<RenderedPod> Pods => [.. Objects.SelectMany(RenderedPod.From)];

    public static RenderedChart Parse(string yaml)
    {
        var objects = new List<IKubernetesObject<V1ObjectMeta>>();
        var custom = new List<JsonObject>();
        foreach (var document in TypedYaml.ParseAll(yaml))
        {
            if (document is not JsonObject obj)
            {
                throw new InvalidOperationException($"rendered document {document?.ToJsonString()} is not a Kubernetes object");
            }

            if (SchemaProblem(obj) is { } problem)
            {
                throw new InvalidOperationException(problem);
            }

            var key = (obj["apiVersion"]?.GetValue<string>() ?? string.Empty, obj["kind"]?.GetValue<string>() ?? string.Empty);
            if (!Models.TryGetValue(key, out var type))
            {
                custom.Add(obj);
                continue;
            }

            var typed = Deserialize.MakeGenericMethod(type).Invoke(null, [obj.ToJsonString(), true]);
            objects.Add(typed as IKubernetesObject<V1ObjectMeta>
                ?? throw new InvalidOperationException($"rendered {key} is not a Kubernetes object with metadata"));
        }

        return new RenderedChart(yaml, objects, custom);
    }

    /// <summary>The custom-kind objects of <paramref name="kind"/> (e.g. ClusterIssuer).</summary>
    public IEnumerable<JsonObject> CustomOf(string kind) => Custom.Where(o => o["kind"]?.GetValue<string>() == kind);

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
    /// <summary>Long-running pods need probes; run-to-completion pods (Jobs, CronJobs' runs, helm test pods) do not.</summary>
    public bool RunsToCompletion => OwnerKind is "Job" or "CronJob" or "Pod";

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
            case V1CronJob c:
                yield return new RenderedPod("CronJob", c.Metadata.Name, c.Spec.JobTemplate.Spec.Template.Metadata, c.Spec.JobTemplate.Spec.Template.Spec, c.Spec.JobTemplate.Spec.Parallelism ?? 1);
                break;
            case V1Pod p:
                yield return new RenderedPod("Pod", p.Metadata.Name, p.Metadata, p.Spec, 1);
                break;
            default:
                break;
        }
    }
}

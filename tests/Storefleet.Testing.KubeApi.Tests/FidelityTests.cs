using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Storefleet.Testing;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>
/// The fidelity table: raw requests whose answers a real kube-apiserver 1.35 is known to give — from the
/// recording in <c>shared/reference/kube-api</c> (errors/samples.json) where it has them, otherwise from
/// the API server's decoding, validation and admission code and the API conventions. Each case runs in a
/// fresh namespace: set-up requests first, then the request under test, whose status code, reason and
/// message the double must answer as the real server does.
/// </summary>
public sealed class FidelityTests(KubeApiFixture api) : IClassFixture<KubeApiFixture>
{
    private const string Json = "application/json";
    private const string Merge = "application/merge-patch+json";
    private const string Strategic = "application/strategic-merge-patch+json";
    private const string Apply = "application/apply-patch+yaml";

    public static TheoryData<FidelityCase> Cases => new()
    {
        // --- From the recording (errors/samples.json) ---
        new("get-missing-404 (recorded)", [], Get("/api/v1/namespaces/{ns}/configmaps/nope"), 404, "NotFound", "configmaps \"nope\" not found"),
        new("create-duplicate-409 (recorded)", [Post("/api/v1/namespaces/{ns}/configmaps", ConfigMap("dup"))],
            Post("/api/v1/namespaces/{ns}/configmaps", ConfigMap("dup")), 409, "AlreadyExists", "configmaps \"dup\" already exists"),
        new("create-invalid-name-422 (recorded)", [], Post("/api/v1/namespaces/{ns}/configmaps", ConfigMap("Bad_Name")), 422, "Invalid",
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        new("create-unknown-field-strict-400 (recorded)", [],
            Post("/api/v1/namespaces/{ns}/configmaps?fieldValidation=Strict", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u"},"dataz":{"a":"b"}}"""),
            400, "BadRequest", "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dataz\""),
        new("create-in-missing-namespace-404 (recorded)", [], Post("/api/v1/namespaces/nope-{ns}/configmaps", ConfigMap("x")), 404, "NotFound", "namespaces \"nope-"),
        new("update-stale-resourceversion-409 (recorded)", [Post("/api/v1/namespaces/{ns}/configmaps", ConfigMap("dup"))],
            Put("/api/v1/namespaces/{ns}/configmaps/dup", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","resourceVersion":"1"},"data":{"a":"b"}}"""),
            409, "Conflict", "Operation cannot be fulfilled on configmaps \"dup\": the object has been modified"),

        // --- Type-exact decoding (the server decodes with Go's encoding/json: a number is not a string) ---
        new("configmap data value is a number", [],
            Post("/api/v1/namespaces/{ns}/configmaps?fieldValidation=Strict", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n"},"data":{"a":5}}"""),
            400, "BadRequest", "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
        new("label value is a number", [],
            Post("/api/v1/namespaces/{ns}/configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"l","labels":{"v":1.0}}}"""),
            400, "BadRequest", "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
        new("deployment replicas is a string", [],
            Post("/apis/apps/v1/namespaces/{ns}/deployments", Deployment("d", replicas: "\"2\"")),
            400, "BadRequest", "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        new("container port is a fraction", [],
            Post("/apis/apps/v1/namespaces/{ns}/deployments", Deployment("d", port: "80.5")),
            400, "BadRequest", "json: cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"),
        new("unknown nested field, strict", [],
            Post("/apis/apps/v1/namespaces/{ns}/deployments?fieldValidation=Strict", Deployment("d").Replace("\"image\":", "\"imagez\":\"x\",\"image\":", StringComparison.Ordinal)),
            400, "BadRequest", "strict decoding error: unknown field \"spec.template.spec.containers[0].imagez\""),
        new("missing required field", [],
            Post("/apis/apps/v1/namespaces/{ns}/deployments", Deployment("d").Replace("\"name\":\"web\",", string.Empty, StringComparison.Ordinal)),
            422, "Invalid", "spec.template.spec.containers[0].name: Required value"),
        new("value outside an enum", [],
            Post("/apis/apps/v1/namespaces/{ns}/deployments", Deployment("d").Replace("\"image\":", "\"imagePullPolicy\":\"Sometimes\",\"image\":", StringComparison.Ordinal)),
            422, "Invalid", "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""),
        new("malformed quantity", [],
            Post("/api/v1/namespaces/{ns}/resourcequotas", """{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},"spec":{"hard":{"memory":"1.5Gb"}}}"""),
            400, "BadRequest", "quantities must match the regular expression"),

        // --- Immutable fields (the registry strategies' update validation) ---
        new("job spec.template changed (strategic merge patch)", [Post("/apis/batch/v1/namespaces/{ns}/jobs", Job("j"))],
            Patch("/apis/batch/v1/namespaces/{ns}/jobs/j", Strategic, """{"spec":{"template":{"spec":{"containers":[{"name":"run","image":"busybox:1.37"}]}}}}"""),
            422, "Invalid", "Job.batch \"j\" is invalid: spec.template: Invalid value:"),
        new("statefulset volumeClaimTemplates changed", [Post("/apis/apps/v1/namespaces/{ns}/statefulsets", StatefulSet("s", "1Gi"))],
            Patch("/apis/apps/v1/namespaces/{ns}/statefulsets/s", Json + "-patch+json", """[{"op":"replace","path":"/spec/volumeClaimTemplates/0/spec/resources/requests/storage","value":"2Gi"}]"""),
            422, "Invalid", "StatefulSet.apps \"s\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"),
        new("deployment spec.selector changed", [Post("/apis/apps/v1/namespaces/{ns}/deployments", Deployment("d"))],
            Patch("/apis/apps/v1/namespaces/{ns}/deployments/d", Merge, """{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}"""),
            422, "Invalid", "Deployment.apps \"d\" is invalid: spec.selector: Invalid value:"),
        new("immutable secret's data changed", [Post("/api/v1/namespaces/{ns}/secrets", """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"immutable":true,"data":{"k":"YQ=="}}""")],
            Patch("/api/v1/namespaces/{ns}/secrets/s", Merge, """{"data":{"k":"Yg=="}}"""),
            422, "Invalid", "Secret \"s\" is invalid: data: Forbidden: field is immutable when `immutable` is set"),
        new("service clusterIP changed", [Post("/api/v1/namespaces/{ns}/services", """{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"},"spec":{"clusterIP":"10.96.200.7","ports":[{"port":80}]}}""")],
            Patch("/api/v1/namespaces/{ns}/services/svc", Merge, """{"spec":{"clusterIP":"10.96.200.8"}}"""),
            422, "Invalid", "Service \"svc\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.96.200.8\"}: may not change once set"),
        new("pvc shrunk below its capacity", [Post("/api/v1/namespaces/{ns}/persistentvolumeclaims", Claim("c", "2Gi"))],
            Patch("/api/v1/namespaces/{ns}/persistentvolumeclaims/c", Merge, """{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}"""),
            422, "Invalid", "field can not be less than status.capacity", WaitForBound: "c"),
        new("pvc grown without an expandable storage class", [Post("/api/v1/namespaces/{ns}/persistentvolumeclaims", Claim("c", "1Gi"))],
            Patch("/api/v1/namespaces/{ns}/persistentvolumeclaims/c", Merge, """{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}"""),
            403, "Forbidden", "persistentvolumeclaims \"c\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize", WaitForBound: "c"),

        // --- Preconditions ---
        new("merge patch carrying a stale resourceVersion", [Post("/api/v1/namespaces/{ns}/configmaps", ConfigMap("rv"))],
            Patch("/api/v1/namespaces/{ns}/configmaps/rv", Merge, """{"metadata":{"resourceVersion":"1"},"data":{"a":"c"}}"""),
            409, "Conflict", "Operation cannot be fulfilled on configmaps \"rv\": the object has been modified"),
        new("apply carrying a stale resourceVersion", [Post("/api/v1/namespaces/{ns}/configmaps", ConfigMap("rv"))],
            Patch("/api/v1/namespaces/{ns}/configmaps/rv?fieldManager=t", Apply, """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"rv","resourceVersion":"1"},"data":{"a":"c"}}"""),
            409, "Conflict", "Operation cannot be fulfilled on configmaps \"rv\""),

        // --- Admission ---
        new("pod with a service account that does not exist", [],
            Post("/api/v1/namespaces/{ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"serviceAccountName":"ghost","containers":[{"name":"c","image":"busybox"}]}}"""),
            403, "Forbidden", "pods \"p\" is forbidden: error looking up service account {ns}/ghost: serviceaccount \"ghost\" not found"),
        new("pod beyond the namespace's quota",
            [Post("/api/v1/namespaces/{ns}/resourcequotas", """{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},"spec":{"hard":{"limits.memory":"1Gi","pods":"5"}}}""")],
            Post("/api/v1/namespaces/{ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"limits":{"memory":"2Gi"}}}]}}"""),
            403, "Forbidden", "pods \"big\" is forbidden: exceeded quota: q, requested: limits.memory=2Gi, used: limits.memory=0, limited: limits.memory=1Gi"),
        new("pod without the limits a quota tracks",
            [Post("/api/v1/namespaces/{ns}/resourcequotas", """{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},"spec":{"hard":{"limits.cpu":"1"}}}""")],
            Post("/api/v1/namespaces/{ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bare"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}"""),
            403, "Forbidden", "pods \"bare\" is forbidden: failed quota: q: must specify limits.cpu for: c"),
        new("NodePort service under a quota of no node ports",
            [Post("/api/v1/namespaces/{ns}/resourcequotas", """{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},"spec":{"hard":{"services.nodeports":"0"}}}""")],
            Post("/api/v1/namespaces/{ns}/services", """{"apiVersion":"v1","kind":"Service","metadata":{"name":"cm-acme-http-solver-x"},"spec":{"type":"NodePort","ports":[{"port":8089}]}}"""),
            403, "Forbidden", "exceeded quota: q, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0"),
        new("container above the limit range's maximum",
            [Post("/api/v1/namespaces/{ns}/limitranges", """{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"l"},"spec":{"limits":[{"type":"Container","max":{"cpu":"1"}}]}}""")],
            Post("/api/v1/namespaces/{ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"hog"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"limits":{"cpu":"2"}}}]}}"""),
            403, "Forbidden", "pods \"hog\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"),

        // --- The same requests, answered as they should be when nothing is wrong ---
        new("apply with the current resourceVersion", [Post("/api/v1/namespaces/{ns}/configmaps", ConfigMap("ok"))],
            Patch("/api/v1/namespaces/{ns}/configmaps/ok", Merge, """{"data":{"a":"c"}}"""), 200, null, "\"a\":\"c\""),
        new("job labels changed (mutable)", [Post("/apis/batch/v1/namespaces/{ns}/jobs", Job("j"))],
            Patch("/apis/batch/v1/namespaces/{ns}/jobs/j", Merge, """{"metadata":{"labels":{"x":"y"}}}"""), 200, null, "\"x\":\"y\""),
        new("statefulset replicas changed (mutable)", [Post("/apis/apps/v1/namespaces/{ns}/statefulsets", StatefulSet("s", "1Gi"))],
            Patch("/apis/apps/v1/namespaces/{ns}/statefulsets/s", Merge, """{"spec":{"replicas":2}}"""), 200, null, "\"replicas\":2"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task TheDoubleAnswers_AsARealServer(FidelityCase c)
    {
        var ns = await api.NewNamespaceAsync("fid");
        using var http = new HttpClient { BaseAddress = api.Server.BaseUrl };
        foreach (var setup in c.Setup)
        {
            using var response = await SendAsync(http, setup, ns);
            Assert.True(response.IsSuccessStatusCode, $"set-up {setup.Method} {setup.Path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        if (c.WaitForBound is { } claim)
        {
            var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(api.Server.KubeconfigPath));
            await Eventually.WaitUntilAsync(async () => (await client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claim, ns)).Status?.Phase == "Bound",
                TimeSpan.FromSeconds(10), $"claim {claim} to bind");
        }

        using var answer = await SendAsync(http, c.Request, ns);
        var body = await answer.Content.ReadAsStringAsync();
        Assert.True((int)answer.StatusCode == c.Status, $"{c.Name}: expected {c.Status}, got {(int)answer.StatusCode}: {body}");
        var json = JsonNode.Parse(body)!;
        if (c.Reason is not null)
        {
            Assert.Equal("Status", json["kind"]?.GetValue<string>());
            Assert.Equal(c.Reason, json["reason"]?.GetValue<string>());
            Assert.Equal(c.Status, json["code"]?.GetValue<int>());
            Assert.Contains(c.Message.Replace("{ns}", ns, StringComparison.Ordinal), json["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains(c.Message, body, StringComparison.Ordinal);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, FidelityRequest request, string ns)
    {
        var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Path.Replace("{ns}", ns, StringComparison.Ordinal));
        if (request.Body is not null)
        {
            message.Content = new StringContent(request.Body, Encoding.UTF8);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue(request.ContentType ?? Json);
        }

        return await http.SendAsync(message);
    }

    private static FidelityRequest Get(string path) => new("GET", path, null, null);

    private static FidelityRequest Post(string path, string body) => new("POST", path, Json, body);

    private static FidelityRequest Put(string path, string body) => new("PUT", path, Json, body);

    private static FidelityRequest Patch(string path, string contentType, string body) => new("PATCH", path, contentType, body);

    private static string ConfigMap(string name) => """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"@name@"},"data":{"a":"b"}}""".Replace("@name@", name, StringComparison.Ordinal);

    private static string Deployment(string name, string replicas = "1", string port = "80") =>
        """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"@name@"},"spec":{"replicas":@replicas@,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","ports":[{"containerPort":@port@}]}]}}}}""".Replace("@name@", name, StringComparison.Ordinal).Replace("@replicas@", replicas, StringComparison.Ordinal).Replace("@port@", port, StringComparison.Ordinal);

    private static string Job(string name) =>
        """{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"@name@"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"run","image":"busybox:1.36"}]}}}}""".Replace("@name@", name, StringComparison.Ordinal);

    private static string StatefulSet(string name, string size) =>
        """{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"@name@"},"spec":{"serviceName":"@name@","selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"db","image":"mysql:8.4"}]}},"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"@size@"}}}}]}}""".Replace("@name@", name, StringComparison.Ordinal).Replace("@size@", size, StringComparison.Ordinal);

    private static string Claim(string name, string size) =>
        """{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"@name@"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"standard","resources":{"requests":{"storage":"@size@"}}}}""".Replace("@name@", name, StringComparison.Ordinal).Replace("@size@", size, StringComparison.Ordinal);
}

/// <summary>One request of the fidelity table.</summary>
public sealed record FidelityRequest(string Method, string Path, string? ContentType, string? Body);

/// <summary>A case of the fidelity table: set-up requests, the request under test, and the real server's answer.</summary>
public sealed record FidelityCase(string Name, FidelityRequest[] Setup, FidelityRequest Request, int Status, string? Reason, string Message, string? WaitForBound = null)
{
    public override string ToString() => Name;
}

/// <summary>The test suite's own waiting helper: a give-up ends the wait at once instead of at the timeout.</summary>
public sealed class EventuallyTests
{
    [Fact]
    public async Task AGiveUp_EndsTheWaitAtOnce_WhileOtherErrorsAreRetriedUntilTheTimeout()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var probes = 0;
        var error = await Assert.ThrowsAsync<GiveUpException>(() => Eventually.WaitUntilAsync(() =>
        {
            probes++;
            throw new GiveUpException("the process died");
        }, TimeSpan.FromMinutes(5), "something that cannot happen"));

        Assert.Equal("the process died", error.Message);
        Assert.Equal(1, probes);
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"the wait went on for {clock.Elapsed}");

        var retried = 0;
        await Assert.ThrowsAsync<TimeoutException>(() => Eventually.WaitUntilAsync(() =>
        {
            retried++;
            throw new InvalidOperationException("not yet");
        }, TimeSpan.FromSeconds(3), "a flaky probe"));
        Assert.True(retried > 1, $"probed {retried} times");
    }
}

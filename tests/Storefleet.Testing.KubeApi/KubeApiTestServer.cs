using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Storefleet.Testing.KubeApi.Faults;
using Storefleet.Testing.KubeApi.Http;
using Storefleet.Testing.KubeApi.Simulation;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Testing.KubeApi;

/// <summary>
/// TEST INFRASTRUCTURE: a Kubernetes API server stand-in on loopback (plain HTTP), for helm, kubectl
/// and KubernetesClient in tests. Start it, point clients at <see cref="KubeconfigPath"/>, shape the
/// simulation and faults, assert on <see cref="Requests"/>. See this project's README for every known
/// difference from a real API server.
/// </summary>
public sealed class KubeApiTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _ownedDirectory;

    private KubeApiTestServer(WebApplication app, KubeApiState state, Uri baseUrl, string kubeconfigPath, string? ownedDirectory)
    {
        _app = app;
        State = state;
        BaseUrl = baseUrl;
        KubeconfigPath = kubeconfigPath;
        _ownedDirectory = ownedDirectory;
    }

    public KubeApiState State { get; }

    public Uri BaseUrl { get; }

    /// <summary>A kubeconfig whose current context points at this server.</summary>
    public string KubeconfigPath { get; }

    public ObjectStore Store => State.Store;

    public SimulationSettings Simulation => State.Simulation;

    public FaultInjector Faults => State.Faults;

    public RequestLog Requests => State.Requests;

    /// <summary>Starts on <paramref name="port"/> (0: a free one) and writes a kubeconfig (to a temp file unless given).</summary>
    public static async Task<KubeApiTestServer> StartAsync(int port = 0, string? kubeconfigPath = null)
    {
        var state = new KubeApiState();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, port);
            o.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
        });
        var app = builder.Build();
        var handler = new KubeApiHandler(state);
        app.Run(context => ServeAsync(context, state, handler));
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var baseUrl = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
        string? owned = null;
        if (kubeconfigPath is null)
        {
            owned = Directory.CreateTempSubdirectory("kube-api-test-double-").FullName;
            kubeconfigPath = Path.Combine(owned, "kubeconfig");
        }

        await File.WriteAllTextAsync(kubeconfigPath, Kubeconfig(baseUrl));
        File.SetUnixFileMode(kubeconfigPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new KubeApiTestServer(app, state, baseUrl, kubeconfigPath, owned);
    }

    /// <summary>Back to a fresh cluster (see <see cref="KubeApiState.Reset"/>).</summary>
    public void Reset() => State.Reset();

    public async ValueTask DisposeAsync()
    {
        State.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownedDirectory is not null)
        {
            Directory.Delete(_ownedDirectory, recursive: true);
        }
    }

    public static string Kubeconfig(Uri server) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: kube-api-test-double
          cluster:
            server: {server.ToString().TrimEnd('/')}
        contexts:
        - name: kube-api-test-double
          context:
            cluster: kube-api-test-double
            user: test-double
            namespace: default
        current-context: kube-api-test-double
        users:
        - name: test-double
          user:
            token: kube-api-test-double
        """;

    private static async Task ServeAsync(HttpContext context, KubeApiState state, KubeApiHandler handler)
    {
        var started = DateTimeOffset.UtcNow;
        var pathAndQuery = context.Request.Path + context.Request.QueryString;
        var logged = 0;
        void Log()
        {
            // Logged when the response starts, so long-running watches appear at once.
            if (Interlocked.Exchange(ref logged, 1) == 0)
            {
                state.Requests.Add(new LoggedRequest(
                    started,
                    context.Request.Method,
                    pathAndQuery,
                    context.Items.TryGetValue(KubeApiState.VerbItem, out var verb) ? verb as string : null,
                    context.Items.TryGetValue(KubeApiState.ResourceItem, out var resource) ? resource as string : null,
                    context.Response.StatusCode,
                    context.Request.Headers.UserAgent.ToString()));
            }
        }

        context.Response.OnStarting(() =>
        {
            Log();
            return Task.CompletedTask;
        });
        try
        {
            var fault = state.Faults.Match(context.Request.Method, pathAndQuery);
            switch (fault?.Kind)
            {
                case FaultKind.Status:
                    await WriteFaultAsync(context, fault);
                    return;
                case FaultKind.Latency:
                    await Task.Delay(fault.Latency, context.RequestAborted);
                    break;
                case FaultKind.EndStream:
                    context.Response.StatusCode = 200;
                    context.Response.ContentType = "application/json";
                    return;
                case FaultKind.CloseConnection:
                    context.Response.StatusCode = 200;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("{\"kind\":", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    context.Abort();
                    return;
            }

            await handler.HandleAsync(context);
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
        {
            await KubeApiHandler.WriteJsonAsync(context, 500, StatusBodies.Failure(500, "InternalError", $"Internal error in the Kubernetes API test double: {e}"));
        }
        finally
        {
            Log();
        }
    }

    /// <summary>A 403 in the words an RBAC refusal uses: <c>pods "x" is forbidden: User "…" cannot get resource "pods" …</c>.</summary>
    private static string ForbiddenMessage(HttpRequest request)
    {
        var segments = (request.Path.Value ?? string.Empty).Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.IndexOf(segments, "namespaces");
        var ns = at >= 0 && at + 1 < segments.Length ? segments[at + 1] : null;
        var rest = at >= 0 ? segments[(at + 2)..] : segments[^Math.Min(2, segments.Length)..];
        var plural = rest.Length > 0 ? rest[0] : "resources";
        var name = rest.Length > 1 ? $" \"{rest[1]}\"" : string.Empty;
        var verb = request.Method switch { "POST" => "create", "PUT" => "update", "PATCH" => "patch", "DELETE" => "delete", _ => rest.Length > 1 ? "get" : "list" };
        var scope = ns is null ? "at the cluster scope" : $"in the namespace \"{ns}\"";
        return $"{plural}{name} is forbidden: User \"system:serviceaccount:storefleet:storefleet\" cannot {verb} resource \"{plural}\" in API group \"\" {scope} (simulated by the test double)";
    }

    private static Task WriteFaultAsync(HttpContext context, FaultRule fault)
    {
        var body = fault.StatusCode switch
        {
            429 => StatusBodies.Failure(429, "TooManyRequests", "the server has received too many requests and has asked us to try again later",
                new System.Text.Json.Nodes.JsonObject { ["retryAfterSeconds"] = fault.RetryAfterSeconds }),
            503 => StatusBodies.Failure(503, "ServiceUnavailable", "the server is currently unable to handle the request"),
            409 => StatusBodies.Conflict("resourcequotas", "store-quota"),
            403 => StatusBodies.Failure(403, "Forbidden", ForbiddenMessage(context.Request)),
            404 => StatusBodies.Failure(404, "NotFound", "the server could not find the requested resource"),
            _ => StatusBodies.Failure(fault.StatusCode, "InternalError", "Internal error occurred: simulated by the test double"),
        };
        if (fault.StatusCode is 429 or 503)
        {
            context.Response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return KubeApiHandler.WriteJsonAsync(context, fault.StatusCode, body);
    }
}

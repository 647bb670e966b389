namespace Storefleet.Engine.Telemetry;

/// <summary>
/// Counts every Kubernetes API request by verb (get, list, watch, create, patch, update, delete), resource (the plural
/// name, with <c>/status</c>-style subresources folded in) and status code. Object names and namespaces never become labels.
/// </summary>
public sealed class KubeRequestMetricsHandler(StorefleetMetrics metrics) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var (verb, resource) = Describe(request);
        // A span per call, except long-lived watches (they belong to no reconcile).
        using var span = verb == "watch" ? null : StorefleetTracing.Source.StartActivity($"kube {verb} {resource}", System.Diagnostics.ActivityKind.Client);
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            metrics.KubeRequest(verb, resource, (int)response.StatusCode);
            span?.SetTag("http.response.status_code", (int)response.StatusCode);
            return response;
        }
        catch (HttpRequestException)
        {
            metrics.KubeRequest(verb, resource, 0); // no answer
            throw;
        }
    }

    /// <summary>The verb and resource of a request path such as <c>/api/v1/namespaces/ns/pods/name</c> or <c>/apis/apps/v1/deployments</c>.</summary>
    internal static (string Verb, string Resource) Describe(HttpRequestMessage request)
    {
        var segments = request.RequestUri?.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        // After /api/v1 or /apis/group/version: [namespaces, ns,] resource [, name [, subresource]].
        var rest = segments.Length > 0 && segments[0] == "api" ? segments.Skip(2).ToArray()
            : segments.Length > 0 && segments[0] == "apis" ? segments.Skip(3).ToArray()
            : [];
        if (rest.Length >= 3 && rest[0] == "namespaces")
        {
            rest = rest[2..];
        }

        var resource = rest.Length == 0 ? (segments.Length > 0 ? "discovery" : "unknown") : rest[0];
        var named = rest.Length >= 2;
        var query = request.RequestUri?.Query ?? string.Empty;
        var verb = request.Method.Method switch
        {
            "GET" when query.Contains("watch=true", StringComparison.Ordinal) || query.Contains("watch=1", StringComparison.Ordinal) => "watch",
            "GET" => named ? "get" : "list",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => named ? "delete" : "deletecollection",
            _ => "other",
        };
        return (verb, resource);
    }
}

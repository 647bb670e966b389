using System.Net;
using System.Net.Sockets;
using k8s.Autorest;

namespace Storefleet.Engine.Kubernetes;

/// <summary>How to treat an error from the Kubernetes API: try again later, or stop and tell a person.</summary>
public static class KubeErrors
{
    public static bool IsNotFound(Exception e) => Status(e) == HttpStatusCode.NotFound;

    public static bool IsConflict(Exception e) => Status(e) == HttpStatusCode.Conflict;

    /// <summary>
    /// The cluster could not be reached at all (as opposed to answering with an error). A missing local file
    /// (helm, a chart) is an I/O error too, but not the cluster's: it is not counted here.
    /// </summary>
    public static bool IsUnreachable(Exception e) => e switch
    {
        HttpRequestException { StatusCode: null } => true,
        FileNotFoundException or DirectoryNotFoundException or PathTooLongException or DriveNotFoundException => false,
        SocketException or IOException => true,
        TaskCanceledException t when t.InnerException is TimeoutException => true,
        _ when e.InnerException is { } inner => IsUnreachable(inner),
        _ => false,
    };

    /// <summary>Connection errors, 5xx, 429 and conflicts (e.g. "Operation cannot be fulfilled on resourcequotas") heal with time.</summary>
    public static bool IsRetryable(Exception e) =>
        IsUnreachable(e) || Status(e) is { } status && ((int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.Conflict);

    /// <summary>What the API server said, in one line, for events (never a request body).</summary>
    public static string Describe(Exception e) => e switch
    {
        HttpOperationException h => $"{(int)h.Response.StatusCode} {h.Response.StatusCode}: {Message(h)}",
        _ when IsUnreachable(e) => $"cluster unreachable: {Innermost(e).Message}",
        _ => e.Message,
    };

    private static HttpStatusCode? Status(Exception e) => (e as HttpOperationException)?.Response?.StatusCode;

    private static string Message(HttpOperationException e)
    {
        var content = e.Response.Content;
        if (string.IsNullOrEmpty(content))
        {
            return e.Message;
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(content);
            return document.RootElement.TryGetProperty("message", out var message) ? message.GetString() ?? e.Message : e.Message;
        }
        catch (System.Text.Json.JsonException)
        {
            return content.Length > 300 ? content[..300] : content;
        }
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;
}

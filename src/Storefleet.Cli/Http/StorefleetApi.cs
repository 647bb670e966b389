using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Storefleet.Cli.Config;

namespace Storefleet.Cli.Http;

/// <summary>
/// The Storefleet REST API for the CLI: JSON in and out, problem+json answers turned into one sentence and an exit
/// code (<see cref="CliException"/>), and Server-Sent Events streams read with the framework's parser.
/// </summary>
public sealed class StorefleetApi : IDisposable
{
    private readonly HttpClient _http;
    private readonly Func<CancellationToken, ValueTask<string?>> _bearer;

    /// <param name="context">The server.</param>
    /// <param name="bearer">The bearer token for each request (none: the context's API token, if any).</param>
    public StorefleetApi(CliContext context, Func<CancellationToken, ValueTask<string?>>? bearer = null)
    {
        Server = context.Server.TrimEnd('/');
        _bearer = bearer ?? (_ => ValueTask.FromResult(context.Token));
        _http = new HttpClient
        {
            BaseAddress = new Uri(Server + "/"),
            Timeout = Timeout.InfiniteTimeSpan, // streams stay open; requests are bounded by their own token
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"storefleet-cli/{typeof(StorefleetApi).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}");
    }

    public string Server { get; }

    public static TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public Task<JsonNode> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, null, null, cancellationToken);

    public Task<JsonNode> PostAsync(string path, JsonNode? body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, body, "application/json", null, cancellationToken);

    public Task<JsonNode> DeleteAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, path, null, null, null, cancellationToken);

    /// <summary>Sends a request and returns its JSON answer (an empty object for an empty body); a problem becomes a <see cref="CliException"/>.</summary>
    public async Task<JsonNode> SendAsync(HttpMethod method, string path, JsonNode? body, string? contentType, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/json");
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        await AuthorizeAsync(request, cancellationToken);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw Unreachable(e);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw Problem(response.StatusCode, text, response.Headers.RetryAfter?.Delta);
            }

            return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text) ?? new JsonObject();
        }
    }

    /// <summary>Reads a Server-Sent Events stream until it ends or <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<SseItem<string>> StreamAsync(string path, string? lastEventId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/'));
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        await AuthorizeAsync(request, cancellationToken);

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw Problem(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), response.Headers.RetryAfter?.Delta);
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            await foreach (var item in SseParser.Create(body).EnumerateAsync(cancellationToken))
            {
                yield return item;
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private async ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (await _bearer(cancellationToken) is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private CliException Unreachable(Exception e) =>
        new(ExitCodes.Unreachable, $"Cannot reach the Storefleet server at {Server} ({e.GetBaseException().Message}). Check the address ('storefleet contexts') and that the server runs.");

    /// <summary>A problem+json answer as one sentence: the server's title and detail (which say what to do), and the exit code.</summary>
    internal static CliException Problem(HttpStatusCode status, string body, TimeSpan? retryAfter)
    {
        string? title = null;
        string? detail = null;
        var fields = new List<string>();
        try
        {
            if (JsonNode.Parse(body) is JsonObject problem)
            {
                title = problem["title"]?.GetValue<string>();
                detail = problem["detail"]?.GetValue<string>();
                if (problem["errors"] is JsonObject errors)
                {
                    fields.AddRange(errors.Select(kv => string.Join(" ", kv.Value?.AsArray().Select(m => m?.GetValue<string>()) ?? [])));
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON: the status says enough.
        }

        var code = status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => ExitCodes.Unauthorized,
            HttpStatusCode.NotFound => ExitCodes.NotFound,
            HttpStatusCode.ServiceUnavailable => ExitCodes.Unreachable,
            _ => ExitCodes.Failed,
        };
        var message = string.Join(" ", new[] { title, fields.Count > 0 ? string.Join(" ", fields) : detail }.Where(p => !string.IsNullOrWhiteSpace(p)));
        if (message.Length == 0)
        {
            message = $"The server answered {(int)status} {status}.";
        }

        if (status == HttpStatusCode.Unauthorized)
        {
            message += " Sign in again with 'storefleet login <url>'.";
        }

        if (retryAfter is { } wait)
        {
            message += $" (Retry after {Math.Ceiling(wait.TotalSeconds):0} s.)";
        }

        return new CliException(code, message);
    }
}

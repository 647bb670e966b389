using System.Net;

namespace Storefleet.Engine.Kubernetes;

/// <summary>
/// Retries a Kubernetes API request a few times, quickly, when the server answers 429, 5xx or a
/// quota-update conflict, or the connection drops — what client-go does for helm and kubectl. Honours
/// <c>Retry-After</c> (capped). A retried create that had in fact succeeded comes back 409 AlreadyExists,
/// which the engine treats as done. Steps still fail (and back off) when the errors persist.
/// </summary>
public sealed class TransientRetryHandler : DelegatingHandler
{
    private static readonly TimeSpan[] Delays = [TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250)];
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(2);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var contentHeaders = request.Content?.Headers.ToList();
        for (var attempt = 0; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException) when (attempt < Delays.Length && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Delays[attempt], cancellationToken);
                request = Clone(request, body, contentHeaders);
                continue;
            }

            if (attempt >= Delays.Length || !await IsTransientAsync(response, cancellationToken) || IsWatch(request))
            {
                return response;
            }

            var delay = response.Headers.RetryAfter?.Delta is { } after ? (after < MaxRetryAfter ? after : MaxRetryAfter) : Delays[attempt];
            response.Dispose();
            await Task.Delay(delay, cancellationToken);
            request = Clone(request, body, contentHeaders);
        }
    }

    private static async Task<bool> IsTransientAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status == 429 || status >= 500)
        {
            return true;
        }

        if (response.StatusCode != HttpStatusCode.Conflict)
        {
            return false;
        }

        // "Operation cannot be fulfilled on resourcequotas": the quota controller raced us; AlreadyExists is not transient.
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Contains("resourcequotas", StringComparison.Ordinal);
    }

    private static bool IsWatch(HttpRequestMessage request) =>
        request.RequestUri?.Query.Contains("watch=true", StringComparison.OrdinalIgnoreCase) == true;

    private static HttpRequestMessage Clone(HttpRequestMessage original, byte[]? body, List<KeyValuePair<string, IEnumerable<string>>>? contentHeaders)
    {
        var clone = new HttpRequestMessage(original.Method, original.RequestUri) { Version = original.Version };
        foreach (var (key, values) in original.Headers)
        {
            clone.Headers.TryAddWithoutValidation(key, values);
        }

        if (body is not null)
        {
            clone.Content = new ByteArrayContent(body);
            foreach (var (key, values) in contentHeaders ?? [])
            {
                clone.Content.Headers.TryAddWithoutValidation(key, values);
            }
        }

        foreach (var option in original.Options)
        {
            clone.Options.TryAdd(option.Key, option.Value);
        }

        return clone;
    }
}

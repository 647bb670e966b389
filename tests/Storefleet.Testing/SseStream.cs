using System.Net.ServerSentEvents;
using System.Threading.Channels;

namespace Storefleet.Testing;

/// <summary>
/// A Server-Sent Events stream read in the background with the framework's own parser: each event arrives in
/// <see cref="Events"/> as it is received; <see cref="NextAsync"/> waits for the next one (bounded).
/// </summary>
public sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseItem<string>> _events = Channel.CreateUnbounded<SseItem<string>>();
    private readonly Task _reader;

    private SseStream(HttpResponseMessage response)
    {
        _response = response;
        _reader = Task.Run(ReadAsync);
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Opens <paramref name="path"/> as a stream (with <c>Last-Event-ID</c> when given); the answer's status is not checked here.</summary>
    public static async Task<SseStream> OpenAsync(HttpClient client, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        return new SseStream(await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
    }

    /// <summary>The next event (heartbeats skipped unless asked for), or a TimeoutException naming what was awaited.</summary>
    public async Task<SseItem<string>> NextAsync(TimeSpan timeout, bool heartbeats = false)
    {
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var item = await _events.Reader.ReadAsync(wait.Token);
                if (heartbeats || item.EventType != "heartbeat")
                {
                    return item;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No event within {timeout.TotalSeconds:0} s.");
        }
        catch (ChannelClosedException)
        {
            throw new EndOfStreamException("The stream ended.");
        }
    }

    /// <summary>True when the server ended the stream (after the events already received).</summary>
    public async Task<bool> EndedAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _reader.WaitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _reader;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
            // Closed by us.
        }

        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            if (!_response.IsSuccessStatusCode)
            {
                return;
            }

            await using var body = await _response.Content.ReadAsStreamAsync(_stop.Token);
            await foreach (var item in SseParser.Create(body).EnumerateAsync(_stop.Token))
            {
                await _events.Writer.WriteAsync(item, _stop.Token);
            }
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }
}

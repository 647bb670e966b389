using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Storefleet.Server.Access;

/// <summary>
/// Turns a client address away (429) after too many failed sign-ins or invalid tokens in a minute, so
/// tokens cannot be guessed at speed. In memory, per instance; the window slides.
/// </summary>
public sealed class FailedSignInThrottle(IOptions<AccessOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new();

    public void RecordFailure(HttpContext http)
    {
        var queue = _failures.GetOrAdd(AuditTrail.ClientAddress(http), _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            queue.Enqueue(clock.GetUtcNow());
            Trim(queue);
        }
    }

    /// <summary>How long the client must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(HttpContext http)
    {
        if (!_failures.TryGetValue(AuditTrail.ClientAddress(http), out var queue))
        {
            return null;
        }

        lock (queue)
        {
            Trim(queue);
            return queue.Count >= options.Value.RateLimits.FailedSignInsPerMinute ? queue.Peek() + Window - clock.GetUtcNow() : null;
        }
    }

    private void Trim(Queue<DateTimeOffset> queue)
    {
        var cutoff = clock.GetUtcNow() - Window;
        while (queue.Count > 0 && queue.Peek() < cutoff)
        {
            queue.Dequeue();
        }
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Storefleet.Server.Access;

/// <summary>
/// Turns a client address away (429) after too many failed sign-ins or invalid tokens in a minute, so
/// tokens cannot be guessed at speed. In memory, for a single node (<see cref="SharedLimits"/> keeps it in Redis when
/// replicas share one); the window slides. Addresses whose failures
/// have all left the window are forgotten, so many clients over a long time do not grow it without bound.
/// </summary>
public sealed class FailedSignInThrottle(IOptions<AccessOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new();
    private long _nextSweep;

    /// <summary>Client addresses with failures still in the window (for tests and diagnostics).</summary>
    public int TrackedClients => _failures.Count;

    public void RecordFailure(string client)
    {
        var queue = _failures.GetOrAdd(client, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            queue.Enqueue(clock.GetUtcNow());
            Trim(queue);
        }

        SweepIfDue();
    }

    /// <summary>At most once per window: forget every client whose failures have all expired.</summary>
    private void SweepIfDue()
    {
        var now = clock.GetUtcNow().UtcTicks;
        var due = Interlocked.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + Window.Ticks, due) != due)
        {
            return;
        }

        foreach (var (client, queue) in _failures)
        {
            lock (queue)
            {
                Trim(queue);
                if (queue.Count == 0)
                {
                    _failures.TryRemove(new KeyValuePair<string, Queue<DateTimeOffset>>(client, queue));
                }
            }
        }
    }

    /// <summary>How long the client must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(string client)
    {
        if (!_failures.TryGetValue(client, out var queue))
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

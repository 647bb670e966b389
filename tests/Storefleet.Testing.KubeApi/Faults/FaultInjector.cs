using System.Text.RegularExpressions;

namespace Storefleet.Testing.KubeApi.Faults;

/// <summary>What an injected fault does to a matching request.</summary>
public enum FaultKind
{
    /// <summary>Answer with an error status and a metav1.Status body (500, 503, 429 with Retry-After, 409 on resourcequotas...).</summary>
    Status,

    /// <summary>Wait, then serve the request normally.</summary>
    Latency,

    /// <summary>Send the headers and part of the body, then abort the connection.</summary>
    CloseConnection,

    /// <summary>Answer 200 with an empty body: a watch stream that ends at once, cleanly (as a proxy closing streams does).</summary>
    EndStream,
}

/// <summary>One rule: requests whose method and path-and-query match get the fault, <see cref="Remaining"/> times (-1: always).</summary>
public sealed class FaultRule
{
    private int _remaining;

    public FaultRule(string method, string pathPattern, FaultKind kind, int times, int status = 500, TimeSpan? latency = null, int retryAfterSeconds = 1, double probability = 1.0)
    {
        Method = method;
        Path = new Regex(pathPattern, RegexOptions.CultureInvariant);
        Kind = kind;
        _remaining = times;
        StatusCode = status;
        Latency = latency ?? TimeSpan.Zero;
        RetryAfterSeconds = retryAfterSeconds;
        Probability = probability;
    }

    public string Method { get; }

    public Regex Path { get; }

    public FaultKind Kind { get; }

    public int StatusCode { get; }

    public TimeSpan Latency { get; }

    public int RetryAfterSeconds { get; }

    /// <summary>Chance (0..1) that a matching request is hit; with &lt; 1, faults are random but seeded.</summary>
    public double Probability { get; }

    public int Remaining => Volatile.Read(ref _remaining);

    internal bool TryConsume()
    {
        while (true)
        {
            var current = Volatile.Read(ref _remaining);
            if (current == 0)
            {
                return false;
            }

            if (current < 0 || Interlocked.CompareExchange(ref _remaining, current - 1, current) == current)
            {
                return true;
            }
        }
    }
}

/// <summary>The active fault rules; the first matching rule with uses left wins.</summary>
public sealed class FaultInjector
{
    private readonly object _gate = new();
    private readonly List<FaultRule> _rules = [];
    private Random _random = new(12345);

    /// <summary>Fails the next <paramref name="times"/> requests matching <paramref name="method"/> (or "*") and <paramref name="pathPattern"/> with <paramref name="status"/>.</summary>
    public FaultRule FailNext(string method, string pathPattern, int status, int times = 1, int retryAfterSeconds = 1) =>
        Add(new FaultRule(method, pathPattern, FaultKind.Status, times, status, retryAfterSeconds: retryAfterSeconds));

    /// <summary>Fails a random share of matching requests, forever, with a seeded generator (reproducible).</summary>
    public FaultRule FailRandomly(string method, string pathPattern, int status, double probability, int seed = 12345, int retryAfterSeconds = 1)
    {
        lock (_gate)
        {
            _random = new Random(seed);
        }

        return Add(new FaultRule(method, pathPattern, FaultKind.Status, -1, status, retryAfterSeconds: retryAfterSeconds, probability: probability));
    }

    /// <summary>Removes one rule (e.g. a random failure rate for the length of one test).</summary>
    public void Remove(FaultRule rule)
    {
        lock (_gate)
        {
            _rules.Remove(rule);
        }
    }

    public FaultRule AddLatency(string method, string pathPattern, TimeSpan latency, int times = -1) =>
        Add(new FaultRule(method, pathPattern, FaultKind.Latency, times, latency: latency));

    public FaultRule CloseConnection(string method, string pathPattern, int times = 1) =>
        Add(new FaultRule(method, pathPattern, FaultKind.CloseConnection, times));

    /// <summary>Matching requests (e.g. watches) get 200 with an empty body: the stream ends cleanly at once.</summary>
    public FaultRule EndStreams(string method, string pathPattern, int times = -1) =>
        Add(new FaultRule(method, pathPattern, FaultKind.EndStream, times));

    public FaultRule Add(FaultRule rule)
    {
        lock (_gate)
        {
            _rules.Add(rule);
        }

        return rule;
    }

    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
        }
    }

    internal FaultRule? Match(string method, string pathAndQuery)
    {
        lock (_gate)
        {
            foreach (var rule in _rules)
            {
                if ((rule.Method == "*" || rule.Method.Equals(method, StringComparison.OrdinalIgnoreCase))
                    && rule.Path.IsMatch(pathAndQuery)
                    && (rule.Probability >= 1.0 || _random.NextDouble() < rule.Probability)
                    && rule.TryConsume())
                {
                    return rule;
                }
            }

            return null;
        }
    }
}

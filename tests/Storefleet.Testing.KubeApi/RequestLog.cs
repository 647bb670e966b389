namespace Storefleet.Testing.KubeApi;

/// <summary>One request as the double saw it: method, path and query, audit verb, resource (group-qualified plural), status.</summary>
public sealed record LoggedRequest(DateTimeOffset Time, string Method, string PathAndQuery, string? Verb, string? Resource, int Status, string? UserAgent);

/// <summary>Every request served, in order; thread-safe.</summary>
public sealed class RequestLog
{
    private readonly object _gate = new();
    private readonly List<LoggedRequest> _entries = [];

    public IReadOnlyList<LoggedRequest> Entries
    {
        get
        {
            lock (_gate)
            {
                return _entries.ToArray();
            }
        }
    }

    public void Add(LoggedRequest entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }
}

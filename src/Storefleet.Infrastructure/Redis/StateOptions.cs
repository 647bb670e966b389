using System.ComponentModel.DataAnnotations;

namespace Storefleet.Infrastructure.Redis;

/// <summary>Where and how the control plane keeps its state. Section <c>Storefleet:State</c>.</summary>
public sealed class StateOptions
{
    public const string SectionName = "Storefleet:State";

    /// <summary>Prepended to every key, so several installations can share one Redis.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.:-]{1,64}$", ErrorMessage = "KeyPrefix must be 1-64 characters of letters, digits, '_', '.', ':' or '-'.")]
    public string KeyPrefix { get; set; } = "storefleet:";

    /// <summary>How many events a store's timeline keeps (oldest dropped first).</summary>
    [Range(10, 10_000)]
    public int MaxEventsPerStore { get; set; } = 200;

    /// <summary>How long the timeline of a deleted store is kept before it expires.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan TombstoneRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How many recent changes to store records the change feed keeps (<c>GET /api/v1/stores?watch=true</c>): a client
    /// that reconnects further behind than this is told to list again.
    /// </summary>
    [Range(100, 1_000_000)]
    public int MaxChanges { get; set; } = 10_000;

    /// <summary>
    /// Replicas that must confirm (Redis <c>WAIT</c>) a write a person is told succeeded — store creation, deletion,
    /// plan change and retry, token changes — before the answer is sent, so a failover cannot lose it. 0 (the default)
    /// for a single node or embedded Garnet; 1 with Sentinel and at least two replicas (one may be down or promoted).
    /// </summary>
    [Range(0, 10)]
    public int MinReplicaAcknowledgements { get; set; }

    /// <summary>How long a write waits for its replicas; past it the request is answered 503 and can be repeated safely.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan ReplicaAcknowledgementTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many tombstones of deleted stores are kept in the tombstone list.</summary>
    [Range(10, 1_000_000)]
    public int MaxTombstones { get; set; } = 10_000;
}

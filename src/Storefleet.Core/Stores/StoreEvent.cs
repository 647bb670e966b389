namespace Storefleet.Core.Stores;

/// <summary>What happened to a store, for its timeline.</summary>
public enum StoreEventType
{
    Created,
    PhaseChanged,
    StepStarted,
    StepSucceeded,
    StepFailed,
    Warning,
    RetryRequested,
    DeleteRequested,
    Deleted,

    /// <summary>Drift of a live store was repaired (the message names the objects and how they had changed).</summary>
    DriftRepaired,

    /// <summary>A person changed the store's spec (its plan).</summary>
    SpecChanged,
}

/// <summary>One entry of a store's timeline. <paramref name="Duration"/> is set for completed steps.</summary>
public sealed record StoreEvent(
    DateTimeOffset Time,
    StoreEventType Type,
    StorePhase Phase,
    string Message,
    TimeSpan? Duration = null,
    string? Step = null);

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
}

/// <summary>One entry of a store's timeline. <paramref name="Duration"/> is set for completed steps.</summary>
public sealed record StoreEvent(
    DateTimeOffset Time,
    StoreEventType Type,
    StorePhase Phase,
    string Message,
    TimeSpan? Duration = null,
    string? Step = null);

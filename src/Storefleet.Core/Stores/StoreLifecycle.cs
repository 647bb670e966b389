namespace Storefleet.Core.Stores;

/// <summary>
/// The store state machine, every allowed move in one table:
/// <code>
/// Requested → Provisioning → Bootstrapping → Ready
///     Requested | Provisioning | Bootstrapping → Failed (remembering the phase that failed)
///     Failed → Retry → the phase that failed
///     any phase except Deleting → Deleting (repeating a delete is not a move; the record just stays Deleting)
/// </code>
/// Leaving Deleting is not a move: the record is removed and the event timeline keeps a tombstone.
/// </summary>
public static class StoreLifecycle
{
    private static readonly Dictionary<(StorePhase From, StoreTrigger Trigger), StorePhase> Moves = new()
    {
        [(StorePhase.Requested, StoreTrigger.StartProvisioning)] = StorePhase.Provisioning,
        [(StorePhase.Provisioning, StoreTrigger.InfrastructureReady)] = StorePhase.Bootstrapping,
        [(StorePhase.Bootstrapping, StoreTrigger.BootstrapSucceeded)] = StorePhase.Ready,

        [(StorePhase.Requested, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Provisioning, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Bootstrapping, StoreTrigger.Fail)] = StorePhase.Failed,

        // The target of Retry is the phase recorded at failure; Failed here is a marker resolved in TryMove.
        [(StorePhase.Failed, StoreTrigger.Retry)] = StorePhase.Failed,

        [(StorePhase.Requested, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Provisioning, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Bootstrapping, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Ready, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Failed, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
    };

    /// <summary>Every (phase, trigger) pair that is allowed, for documentation and tests.</summary>
    public static IEnumerable<(StorePhase From, StoreTrigger Trigger)> AllowedMoves => Moves.Keys;

    /// <summary>
    /// Computes the phase after <paramref name="trigger"/>. <paramref name="failedPhase"/> is the phase a
    /// failed store failed in; it is required for <see cref="StoreTrigger.Retry"/>.
    /// </summary>
    public static bool TryMove(StorePhase from, StoreTrigger trigger, StorePhase? failedPhase, out StorePhase to)
    {
        if (!Moves.TryGetValue((from, trigger), out to))
        {
            return false;
        }

        if (trigger == StoreTrigger.Retry)
        {
            if (failedPhase is not (StorePhase.Requested or StorePhase.Provisioning or StorePhase.Bootstrapping))
            {
                to = default;
                return false;
            }

            to = failedPhase.Value;
        }

        return true;
    }
}

/// <summary>Thrown when code asks for a move the state machine forbids: a programming error, not user input.</summary>
public sealed class InvalidStoreTransitionException(StorePhase from, StoreTrigger trigger)
    : InvalidOperationException($"A store in phase {from} cannot take trigger {trigger}.")
{
    public StorePhase From { get; } = from;

    public StoreTrigger Trigger { get; } = trigger;
}

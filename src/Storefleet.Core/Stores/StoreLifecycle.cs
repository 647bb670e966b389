namespace Storefleet.Core.Stores;

/// <summary>
/// The store state machine, every allowed move in one table:
/// <code>
/// Requested → Provisioning → Bootstrapping → Ready
///     Ready ⇄ Degraded (health, both ways, by themselves)
///     Ready | Degraded → Updating (a spec change) → Ready, or → Degraded (failed, rolled back to the old plan)
///     Requested | Provisioning | Bootstrapping | Updating → Failed (remembering the phase that failed)
///     Ready | Degraded → Failed (the namespace was lost: its data is gone)
///     Ready | Degraded → Restoring (a backup restored in place) → Ready, or → Ready untouched (its safety backup failed), or → Failed
///     Failed (in Restoring) → Restoring (another backup, e.g. the safety backup, restored)
///     Failed → Retry → the phase that failed; a live store that lost its namespace is provisioned afresh
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

        [(StorePhase.Ready, StoreTrigger.Degrade)] = StorePhase.Degraded,
        [(StorePhase.Degraded, StoreTrigger.Recover)] = StorePhase.Ready,
        [(StorePhase.Ready, StoreTrigger.StartUpdate)] = StorePhase.Updating,
        [(StorePhase.Degraded, StoreTrigger.StartUpdate)] = StorePhase.Updating,
        [(StorePhase.Updating, StoreTrigger.UpdateSucceeded)] = StorePhase.Ready,
        [(StorePhase.Updating, StoreTrigger.UpdateRolledBack)] = StorePhase.Degraded,

        [(StorePhase.Ready, StoreTrigger.StartRestore)] = StorePhase.Restoring,
        [(StorePhase.Degraded, StoreTrigger.StartRestore)] = StorePhase.Restoring,
        [(StorePhase.Failed, StoreTrigger.StartRestore)] = StorePhase.Restoring,
        [(StorePhase.Restoring, StoreTrigger.RestoreSucceeded)] = StorePhase.Ready,
        [(StorePhase.Restoring, StoreTrigger.RestoreNotStarted)] = StorePhase.Ready,

        [(StorePhase.Requested, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Restoring, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Provisioning, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Bootstrapping, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Updating, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Ready, StoreTrigger.Fail)] = StorePhase.Failed,
        [(StorePhase.Degraded, StoreTrigger.Fail)] = StorePhase.Failed,

        // The target of Retry is the phase recorded at failure; Failed here is a marker resolved in TryMove.
        [(StorePhase.Failed, StoreTrigger.Retry)] = StorePhase.Failed,

        [(StorePhase.Requested, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Provisioning, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Bootstrapping, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Ready, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Degraded, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Updating, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Failed, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
        [(StorePhase.Restoring, StoreTrigger.RequestDelete)] = StorePhase.Deleting,
    };

    /// <summary>Every (phase, trigger) pair that is allowed, for documentation and tests.</summary>
    public static IEnumerable<(StorePhase From, StoreTrigger Trigger)> AllowedMoves => Moves.Keys;

    /// <summary>
    /// Computes the phase after <paramref name="trigger"/>. <paramref name="failedPhase"/> is the phase a
    /// failed store failed in; it is required for <see cref="StoreTrigger.Retry"/>, which resumes there — except that
    /// a live store (Ready or Degraded) fails only when its namespace is lost, and is provisioned afresh.
    /// </summary>
    public static bool TryMove(StorePhase from, StoreTrigger trigger, StorePhase? failedPhase, out StorePhase to)
    {
        if (!Moves.TryGetValue((from, trigger), out to))
        {
            return false;
        }

        if (from == StorePhase.Failed && trigger == StoreTrigger.StartRestore && failedPhase != StorePhase.Restoring)
        {
            // Only a failed restore is restored again: a store that failed elsewhere is retried (or deleted) first.
            to = default;
            return false;
        }

        if (trigger == StoreTrigger.Retry)
        {
            switch (failedPhase)
            {
                case StorePhase.Requested or StorePhase.Provisioning or StorePhase.Bootstrapping or StorePhase.Updating or StorePhase.Restoring:
                    to = failedPhase.Value;
                    break;
                case StorePhase.Ready or StorePhase.Degraded:
                    to = StorePhase.Provisioning;
                    break;
                default:
                    to = default;
                    return false;
            }
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

using System.Collections.Concurrent;
using Storefleet.Engine.Telemetry;

namespace Storefleet.Engine.Reconciling;

/// <summary>One completed step of the engine: which instance did what to which store under which lease.</summary>
public sealed record EngineStep(DateTimeOffset Time, string Store, string Instance, long Fence, string Step, string Outcome, TimeSpan Duration);

/// <summary>
/// The engine's recent steps (a bounded in-memory ring) and live counters, for the dashboard's status
/// bar, diagnostics and tests (e.g. proving one instance at a time acted on a store); each is also a metric.
/// </summary>
public sealed class EngineActivity(StorefleetMetrics? metrics = null)
{
    private const int Capacity = 20_000;
    private readonly ConcurrentQueue<EngineStep> _steps = new();
    private int _activeReconciles;
    private long _claimAttempts;

    public int ActiveReconciles => Volatile.Read(ref _activeReconciles);

    /// <summary>How many times this instance asked the queue for due stores (an idle engine asks about once a second).</summary>
    public long ClaimAttempts => Interlocked.Read(ref _claimAttempts);

    public IReadOnlyList<EngineStep> Steps => [.. _steps];

    public event Action<EngineStep>? StepCompleted;

    public void Record(EngineStep step)
    {
        _steps.Enqueue(step);
        while (_steps.Count > Capacity && _steps.TryDequeue(out _))
        {
        }

        metrics?.Step(step.Step, step.Outcome, step.Duration);
        StepCompleted?.Invoke(step);
    }

    internal void LeasesClaimed(int count) => metrics?.LeaseAcquired(count);

    internal void LeaseLost() => metrics?.LeaseLost();

    internal void ClaimAttempted() => Interlocked.Increment(ref _claimAttempts);

    internal void ReconcileStarted()
    {
        Interlocked.Increment(ref _activeReconciles);
        metrics?.ReconcileStarted();
    }

    internal void ReconcileFinished()
    {
        Interlocked.Decrement(ref _activeReconciles);
        metrics?.ReconcileFinished();
    }
}

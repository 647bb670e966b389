using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Storefleet.Engine.Telemetry;

/// <summary>
/// The control plane's own metrics (meter <c>Storefleet</c>), exported by OpenTelemetry: on <c>/metrics</c> in the
/// Prometheus format they are named <c>storefleet_…</c> with base units (seconds) and <c>_total</c> on counters.
/// Labels are bounded sets (phase, step, outcome, command, verb, resource, code, reason, kind): never a store name.
/// Gauges read from Redis (stores by phase, the queue) are registered by the host, which owns the state store.
/// </summary>
public sealed class StorefleetMetrics : IDisposable
{
    public const string MeterName = "Storefleet";

    /// <summary>create → Ready: 1 s to 30 min.</summary>
    private static readonly double[] ReadyBuckets = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1200, 1800];

    private static readonly double[] StepBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private readonly Meter _meter;
    private readonly Histogram<double> _readyDuration;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _helmInvocations;
    private readonly Histogram<double> _helmDuration;
    private readonly Counter<long> _kubeRequests;
    private readonly Counter<long> _leaseAcquisitions;
    private readonly Counter<long> _leaseLosses;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _rateLimitRefusals;
    private readonly Counter<long> _authFailures;
    private int _reconcilesInFlight;

    public StorefleetMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _readyDuration = _meter.CreateHistogram("storefleet.store.ready.duration", "s", "Time from a store's creation to its first Ready.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ReadyBuckets });
        _stepDuration = _meter.CreateHistogram("storefleet.step.duration", "s", "Duration of engine steps, by step and outcome.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _helmInvocations = _meter.CreateCounter<long>("storefleet.helm.invocations", description: "helm processes run, by command and outcome.");
        _helmDuration = _meter.CreateHistogram("storefleet.helm.duration", "s", "Duration of helm processes, by command and outcome.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _kubeRequests = _meter.CreateCounter<long>("storefleet.kube.requests", description: "Kubernetes API requests, by verb, resource and status code.");
        _leaseAcquisitions = _meter.CreateCounter<long>("storefleet.lease.acquisitions", description: "Store leases acquired by this replica.");
        _leaseLosses = _meter.CreateCounter<long>("storefleet.lease.losses", description: "Store leases lost (or possibly lapsed) while working.");
        _retries = _meter.CreateCounter<long>("storefleet.retries", description: "Steps scheduled for another attempt, by step.");
        _failures = _meter.CreateCounter<long>("storefleet.failures", description: "Stores moved to failed, by reason.");
        _rateLimitRefusals = _meter.CreateCounter<long>("storefleet.ratelimit.refusals", description: "Requests refused by a rate limit.");
        _authFailures = _meter.CreateCounter<long>("storefleet.auth.failures", description: "Failed sign-ins and invalid tokens, by kind.");
        _meter.CreateObservableGauge("storefleet.reconciles.in_flight", () => Volatile.Read(ref _reconcilesInFlight), description: "Reconciles running in this replica.");
    }

    /// <summary>The meter, for the host's gauges over the state store.</summary>
    public Meter Meter => _meter;

    /// <summary>A new store became Ready <paramref name="sinceCreation"/> after its create; <paramref name="warm"/>: it took over a warm-pool member (label <c>source</c>: warm or cold).</summary>
    public void StoreReady(TimeSpan sinceCreation, bool warm = false) =>
        _readyDuration.Record(sinceCreation.TotalSeconds, new KeyValuePair<string, object?>("source", warm ? "warm" : "cold"));

    public void Step(string step, string outcome, TimeSpan duration) =>
        _stepDuration.Record(duration.TotalSeconds, new("step", step), new("outcome", outcome));

    public void Helm(string command, bool succeeded, TimeSpan duration)
    {
        var tags = new TagList { { "command", command }, { "outcome", succeeded ? "success" : "failure" } };
        _helmInvocations.Add(1, tags);
        _helmDuration.Record(duration.TotalSeconds, tags);
    }

    public void KubeRequest(string verb, string resource, int code) =>
        _kubeRequests.Add(1, new("verb", verb), new("resource", resource), new("code", code));

    public void LeaseAcquired(int count) => _leaseAcquisitions.Add(count);

    public void LeaseLost() => _leaseLosses.Add(1);

    public void Retry(string step) => _retries.Add(1, new KeyValuePair<string, object?>("step", step));

    public void Failure(string reason) => _failures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RateLimitRefused() => _rateLimitRefusals.Add(1);

    public void AuthFailure(string kind) => _authFailures.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void ReconcileStarted() => Interlocked.Increment(ref _reconcilesInFlight);

    public void ReconcileFinished() => Interlocked.Decrement(ref _reconcilesInFlight);

    public void Dispose() => _meter.Dispose();
}

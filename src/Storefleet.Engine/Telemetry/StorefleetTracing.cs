using System.Diagnostics;

namespace Storefleet.Engine.Telemetry;

/// <summary>
/// The engine's spans (activity source <c>Storefleet</c>): one per reconcile pass — a child of the request that asked
/// for the work, through the trace context kept on the store record — with a span per step, per helm process and per
/// Kubernetes API call beneath it. Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class StorefleetTracing
{
    public const string SourceName = "Storefleet";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>A reconcile pass of <paramref name="store"/>, in the trace of <paramref name="traceParent"/> when there is one.</summary>
    public static Activity? StartReconcile(string store, string? traceParent)
    {
        var parent = traceParent is not null && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
        var activity = Source.StartActivity("reconcile", ActivityKind.Internal, parent);
        activity?.SetTag("storefleet.store", store);
        return activity;
    }

    /// <summary>The current request's trace context, to keep on the store it changes.</summary>
    public static string? CurrentTraceParent() => Activity.Current?.Id;
}

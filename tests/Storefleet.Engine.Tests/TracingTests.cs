using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Tests;

/// <summary>
/// One trace from the request that created a store to the store being Ready: the POST's span, then every reconcile
/// pass it caused (through the trace context kept on the record), with spans for the steps, each helm process and the
/// Kubernetes API calls — seen by the SDK's in-memory exporter.
/// </summary>
public sealed class TracingTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    [Fact]
    public async Task CreatingAStore_IsOneTrace_FromThePostThroughNamespaceHelmAndReadiness()
    {
        var spans = new List<Activity>();
        await using var plane = fixture.StartControlPlane(services: s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        var name = EngineFixture.NewStoreName("trace");

        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromMinutes(2));
        var ready = await plane.Repository.GetAsync(name);
        await plane.DisposeAsync(); // flushes the exporter

        List<Activity> Snapshot()
        {
            lock (spans)
            {
                return [.. spans];
            }
        }

        var all = Snapshot();
        // Listeners are process-wide: other tests' control planes in this process are seen too; ours is the POST
        // that parents the first reconcile of this store.
        var firstReconcile = all.Where(a => a.DisplayName == "reconcile" && a.GetTagItem("storefleet.store") as string == name).MinBy(a => a.StartTimeUtc)!;
        var post = all.Single(a => a.SpanId == firstReconcile.ParentSpanId && a.Kind == ActivityKind.Server && a.GetTagItem("http.request.method") as string == "POST"
            && (a.GetTagItem("http.route") as string ?? string.Empty).Contains("api/v1/stores", StringComparison.Ordinal));
        var trace = all.Where(a => a.TraceId == post.TraceId).ToList();
        var names = trace.Select(a => a.DisplayName).ToHashSet();

        Assert.Contains(trace, a => a.DisplayName == "reconcile" && a.GetTagItem("storefleet.store") as string == name && a.ParentSpanId == post.SpanId);
        Assert.Contains("namespace", names);
        Assert.Contains("helm upgrade", names);
        Assert.Contains("ready", names);
        Assert.Contains(trace, a => a.DisplayName.StartsWith("kube create", StringComparison.Ordinal));
        Assert.All(trace.Where(a => a != post), a => Assert.NotEqual(default, a.ParentSpanId));
        Assert.Null(ready!.TraceParent); // Ready: later passes start their own traces
    }
}

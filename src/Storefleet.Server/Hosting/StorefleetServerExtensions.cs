using Radzen;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.FluentUI.AspNetCore.Components;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Scalar.AspNetCore;
using Storefleet.Engine.Hosting;
using Storefleet.Infrastructure;
using Storefleet.Server.Api.Idempotency;
using Storefleet.Server.Access;

namespace Storefleet.Server.Hosting;

public static class StorefleetServerExtensions
{
    /// <summary>Registers everything the control plane needs: state, API plumbing, health, docs.</summary>
    public static WebApplicationBuilder AddStorefleetServer(this WebApplicationBuilder builder)
    {
        builder.Services.AddStorefleetState(builder.Configuration);
        builder.Services.AddStorefleetEngine(builder.Configuration);
        builder.Services.AddHostedService<StateStartupLogger>();
        builder.Services.AddSharedKeyRing(builder.Configuration);
        builder.AddStorefleetAccess();
        builder.Services.AddSingleton<Api.StoreWork>();
        builder.Services.AddSingleton<Api.StoreCommands>();
        builder.Services.AddSingleton<Api.BackupCommands>();
        builder.Services.AddSingleton<Api.CloneSources>();
        builder.Services.AddSingleton<Api.RolloutCommands>();
        builder.Services.AddOptions<Api.Streaming.StreamOptions>().Bind(builder.Configuration.GetSection(Api.Streaming.StreamOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Api.Streaming.StoreStreams>();
        // Serve the framework's and packages' static files from the build output in every environment
        // (dotnet run, tests); a published app has them in wwwroot and this is a no-op.
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddFluentUIComponents();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddSingleton<Dashboard.StoreFeed>();
        builder.Services.AddSingleton<Dashboard.PlatformStatus>();
        builder.Services.AddSingleton<Dashboard.FleetOverviewReader>();
        builder.Services.AddRadzenComponents();

        if (!TelemetryEnabled(builder.Configuration))
        {
            return builder.AddErrorsDocsAndHealth();
        }

        builder.Services.AddHostedService<StateMetrics>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("storefleet"))
            .WithMetrics(metrics => metrics
                .AddMeter(Storefleet.Engine.Telemetry.StorefleetMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter())
            .WithTracing(tracing =>
            {
                tracing.AddSource(Storefleet.Engine.Telemetry.StorefleetTracing.SourceName).AddAspNetCoreInstrumentation();
                // Off unless the standard OpenTelemetry variables name a collector.
                if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
                {
                    tracing.AddOtlpExporter();
                }
            });

        return builder.AddErrorsDocsAndHealth();
    }

    /// <summary>
    /// <c>Storefleet:Telemetry:Enabled</c> (default true): metrics at <c>/metrics</c> and traces. Off, neither is
    /// collected (no <c>/metrics</c>); the benchmark compares the two to bound telemetry's cost.
    /// </summary>
    public static bool TelemetryEnabled(IConfiguration configuration) => configuration.GetValue("Storefleet:Telemetry:Enabled", true);

    private static WebApplicationBuilder AddErrorsDocsAndHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<StateUnavailableHandler>();
        builder.Services.AddOpenApi();
        builder.Services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", tags: ["ready"])
            .AddCheck<ClusterHealthCheck>("kubernetes", tags: ["ready"]);

        return builder;
    }

    public static WebApplication UseStorefleetPipeline(this WebApplication app)
    {
        app.UseMiddleware<SecurityHeaders>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseStorefleetAccess();
        app.UseAntiforgery();
        app.UseMiddleware<IdempotencyMiddleware>();
        return app;
    }

    /// <summary>
    /// <c>/healthz</c>: the process is alive. <c>/readyz</c>: Redis answers (503 when not) and the cluster's
    /// state (Degraded, still 200, when unreachable: the API keeps recording intent and stores wait).
    /// </summary>
    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).ExcludeFromDescription().AllowAnonymous().DisableRateLimiting();
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = HealthResponseWriter.WriteAsync,
        }).ExcludeFromDescription().AllowAnonymous().DisableRateLimiting();
        return app;
    }

    /// <summary>The dashboard (Blazor Server, interactive) at <c>/</c>, behind the same access rules as the API.</summary>
    public static WebApplication MapDashboard(this WebApplication app)
    {
        app.MapStaticAssets().AllowAnonymous();
        app.MapRazorComponents<Dashboard.App>()
            .AddInteractiveServerRenderMode()
            .RequireAuthorization(AccessPolicies.Read);
        return app;
    }

    /// <summary>
    /// <c>/metrics</c>: Prometheus text format (OpenTelemetry's exporter), for admins only — Prometheus scrapes it with
    /// an admin API token (a bearer token in its scrape config). Never a store name as a label.
    /// </summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        if (TelemetryEnabled(app.Configuration))
        {
            app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(AccessPolicies.Administer);
        }

        return app;
    }

    /// <summary>The OpenAPI document at <c>/openapi/v1.json</c> and a browsable reference at <c>/scalar/v1</c>.</summary>
    public static WebApplication MapApiDocumentation(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference(options => options.WithTitle("Storefleet API")).AllowAnonymous();
        app.MapGet("/api", () => Results.Redirect("/scalar/v1")).ExcludeFromDescription().AllowAnonymous();
        return app;
    }
}

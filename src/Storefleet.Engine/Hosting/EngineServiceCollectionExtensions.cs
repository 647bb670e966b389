using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Storefleet.Engine.Helm;
using Storefleet.Engine.Kubernetes;
using Storefleet.Engine.Reconciling;

namespace Storefleet.Engine.Hosting;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// Registers the provisioning engine: cluster access, helm, the reconciler, and (unless
    /// <c>Storefleet:Engine:Enabled</c> is false) its background services — workers, watches, resync.
    /// </summary>
    public static IServiceCollection AddStorefleetEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EngineOptions>().Bind(configuration.GetSection(EngineOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new EngineInstance(sp.GetRequiredService<IOptions<EngineOptions>>().Value.InstanceId
            ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}"));
        services.AddSingleton<EnginePaths>();
        services.AddSingleton<ClusterConnection>();
        services.AddSingleton<StoreClusterActions>();
        services.AddMetrics();
        services.AddSingleton<Telemetry.StorefleetMetrics>();
        services.AddSingleton<HelmRunner>();
        services.AddSingleton<StoreReleases>();
        services.AddSingleton<Fleet.FleetVersions>();
        services.AddSingleton<Watching.StoreCaches>();
        services.AddSingleton<Watching.LiveStoreObserver>();
        services.AddSingleton<EngineActivity>();
        services.AddSingleton<StoreReconciler>();
        services.TryAddSingleton<IReconcileGate, OpenReconcileGate>();
        services.AddSingleton<OrphanNamespaces>();
        services.AddSingleton<CronRunReporter>();
        services.AddSingleton<Pool.PoolPlacements>();
        services.AddSingleton<Pool.WarmPoolInventory>();
        services.AddSingleton<Pool.WarmPoolSizes>();
        services.AddOptions<Backups.BackupOptions>().Bind(configuration.GetSection(Backups.BackupOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Backups.BackupSecrets>();
        services.AddSingleton<Backups.BackupRequests>();
        services.AddSingleton<Backups.BackupRunRecorder>();
        services.AddSingleton<Backups.StoreRestores>();
        services.AddSingleton<Backups.BackupPurges>();
        services.AddSingleton<Backups.FleetBackups>();
        services.AddSingleton<StoreCredentialsReader>();
        services.AddSingleton<PlanChangeCheck>();

        // Shutdown waits for helm: SIGTERM, then helm's own timeout and a margin, before the host gives up.
        services.AddOptions<HostOptions>().Configure<IOptions<EngineOptions>>((host, engine) =>
        {
            var needed = engine.Value.HelmTimeout + TimeSpan.FromSeconds(15);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });

        if (configuration.GetValue(EngineOptions.SectionName + ":Enabled", true))
        {
            services.AddSingleton<InstanceRegistration>();
            services.AddSingleton<Storefleet.Core.IStartupCheck>(sp => sp.GetRequiredService<InstanceRegistration>());
            services.AddHostedService(sp => sp.GetRequiredService<InstanceRegistration>());
            services.AddHostedService<EngineWorker>();
            services.AddHostedService<ClusterWatcher>();
            services.AddHostedService<Backups.BackupRunSweep>();
            services.AddHostedService(sp => sp.GetRequiredService<Backups.BackupPurges>());
            services.AddHostedService<ResyncService>();
            services.AddHostedService<Pool.WarmPoolKeeper>();
            services.AddSingleton<Rollouts.RolloutConductor>();
            services.AddHostedService(sp => sp.GetRequiredService<Rollouts.RolloutConductor>());
        }

        return services;
    }
}

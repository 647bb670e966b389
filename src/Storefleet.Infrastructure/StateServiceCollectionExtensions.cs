using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Garnet;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Infrastructure;

/// <summary>Which Redis the control plane talks to, for logs, health and the dashboard (never a password).</summary>
public sealed record StateBackend(string Kind, string Endpoint);

public static class StateServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Redis connection and the store repository. With <c>ConnectionStrings:Redis</c> set,
    /// connects there; otherwise starts an embedded, persistent Garnet under the data directory.
    /// </summary>
    public static IServiceCollection AddStorefleetState(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StateOptions>().Bind(configuration.GetSection(StateOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new RedisKeys(sp.GetRequiredService<IOptions<StateOptions>>().Value.KeyPrefix));
        services.AddSingleton<RedisStoreRepository>();
        services.AddSingleton<IStoreRepository>(p => p.GetRequiredService<RedisStoreRepository>());
        services.AddSingleton<Core.Pool.IWarmPoolState, RedisWarmPoolState>();
        services.AddSingleton<IWorkQueue, RedisWorkQueue>();
        services.AddSingleton<Storefleet.Core.Rollouts.IRolloutRepository, RedisRolloutRepository>();
        services.AddSingleton<Storefleet.Core.Backups.IBackupRepository, RedisBackupRepository>();
        services.AddSingleton<Storefleet.Core.Fleet.IFleetHistory, RedisFleetHistory>();
        services.AddSingleton<ReplicaAcknowledgements>();

        // One clock for every replica: this machine's, corrected to Redis's (see RedisClock).
        services.TryAddKeyedSingleton(RedisClock.LocalClockKey, TimeProvider.System);
        services.AddSingleton<RedisClock>();
        services.AddSingleton<TimeProvider>(sp => sp.GetRequiredService<RedisClock>());
        services.AddHostedService<RedisClockSync>();
        services.AddHostedService<IndexBackfill>();
        services.AddHostedService<FleetPhaseSampler>();

        var connectionString = configuration.GetConnectionString("Redis");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            services.AddOptions<EmbeddedGarnetOptions>().Bind(configuration.GetSection(EmbeddedGarnetOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
            services.AddSingleton(_ => DataDirectory.FromConfiguration(configuration["Storefleet:DataDirectory"]));
            services.AddSingleton<EmbeddedGarnetServer>();
            services.AddSingleton(sp =>
            {
                var garnet = sp.GetRequiredService<EmbeddedGarnetServer>();
                return new StateBackend("embedded-garnet", $"{garnet.ConnectionString} (data in {garnet.Directory})");
            });
            services.AddSingleton<IConnectionMultiplexer>(sp => Connect(sp.GetRequiredService<EmbeddedGarnetServer>().ConnectionString, sp));
        }
        else
        {
            // A connection string naming a serviceName is Redis Sentinel: the endpoints are the Sentinels, and the
            // client follows the primary they name across failovers.
            var parsed = ConfigurationOptions.Parse(connectionString);
            services.AddSingleton(parsed.ServiceName is { Length: > 0 } service
                ? new StateBackend("redis-sentinel", $"{service} via {string.Join(",", parsed.EndPoints.Select(e => e.ToString()))}")
                : new StateBackend("redis", string.Join(",", parsed.EndPoints.Select(e => e.ToString()))));
            services.AddSingleton<IConnectionMultiplexer>(sp => Connect(connectionString, sp));
        }

        return services;
    }

    private static ConnectionMultiplexer Connect(string connectionString, IServiceProvider services)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.ClientName ??= "storefleet";
        options.LoggerFactory ??= services.GetService<ILoggerFactory>();
        return ConnectionMultiplexer.Connect(options);
    }
}

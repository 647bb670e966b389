using StackExchange.Redis;
using Storefleet.Infrastructure;

namespace Storefleet.Server.Hosting;

/// <summary>
/// Connects to the state store at start (starting the embedded Garnet when no Redis is configured)
/// so recovery happens before the first request, and says in the log which backend is in use.
/// </summary>
internal sealed partial class StateStartupLogger(IServiceProvider services, ILogger<StateStartupLogger> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        var backend = services.GetRequiredService<StateBackend>();
        LogBackend(logger, backend.Kind, backend.Endpoint, redis.IsConnected);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "State store: {Kind} at {Endpoint} (connected: {Connected})")]
    private static partial void LogBackend(ILogger logger, string kind, string endpoint, bool connected);
}

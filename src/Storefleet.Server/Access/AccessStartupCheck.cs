namespace Storefleet.Server.Access;

/// <summary>
/// Says which auth mode the server runs in. (Mode <c>none</c> beyond loopback never gets here: see
/// <see cref="Hosting.StartupRefusal"/>.)
/// </summary>
internal sealed partial class AccessStartupCheck(AccessMode mode, ILogger<AccessStartupCheck> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (mode.RequiresCredentials)
        {
            LogSecured(logger, mode.OidcEnabled ? "API tokens and OIDC/JWT bearer" : "API tokens");
            return Task.CompletedTask;
        }

        // Exposure without credentials was refused before anything started (StartupRefusal).
        LogNone(logger);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Auth mode none: no credentials are configured, so every request acts as the local admin. This is allowed only on loopback; set Storefleet__Access__BootstrapAdminToken before exposing the server.")]
    private static partial void LogNone(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Auth mode tokens: requests authenticate with {Methods}.")]
    private static partial void LogSecured(ILogger logger, string methods);
}

using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Storefleet.Server.Access;

/// <summary>
/// Says which auth mode the server runs in, and refuses to start in mode <c>none</c> when it would listen
/// beyond loopback: anyone who can reach it would be an admin.
/// </summary>
internal sealed partial class AccessStartupCheck(AccessMode mode, IServer server, IConfiguration configuration, ILogger<AccessStartupCheck> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (mode.RequiresCredentials)
        {
            LogSecured(logger, mode.OidcEnabled ? "API tokens and OIDC/JWT bearer" : "API tokens");
            return Task.CompletedTask;
        }

        var exposed = ListenAddresses().Where(a => !IsLoopback(a)).ToList();
        if (exposed.Count > 0)
        {
            var message = $"Refusing to start: no credentials are configured (auth mode none makes every request an admin) and the server would listen on {string.Join(", ", exposed)}. " +
                "Set Storefleet__Access__BootstrapAdminToken (or ..._BootstrapAdminTokenFile, or Storefleet__Access__Oidc__Authority), or listen on loopback only (e.g. --urls http://127.0.0.1:8080).";
            LogRefused(logger, message);
            throw new InvalidOperationException(message);
        }

        LogNone(logger);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private List<string> ListenAddresses()
    {
        var configured = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        if (configured.Count == 0 && configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls)
        {
            configured.AddRange(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        configured.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        return configured;
    }

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Auth mode none: no credentials are configured, so every request acts as the local admin. This is allowed only on loopback; set Storefleet__Access__BootstrapAdminToken before exposing the server.")]
    private static partial void LogNone(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Auth mode tokens: requests authenticate with {Methods}.")]
    private static partial void LogSecured(ILogger logger, string methods);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogRefused(ILogger logger, string message);
}

using System.Net;
using Microsoft.Extensions.Options;
using Storefleet.Core;
using Storefleet.Server.Access;

namespace Storefleet.Server.Hosting;

/// <summary>
/// Settings the control plane must refuse before anything starts (no state store, no listener): one
/// clear sentence saying what to change, printed to standard error, and exit code 1 — never a stack
/// trace. Checked from configuration alone, right after it is loaded.
/// </summary>
public static class StartupRefusal
{
    /// <summary>Why the server must not start with <paramref name="configuration"/>, or null.</summary>
    public static string? Check(IConfiguration configuration)
    {
        var access = configuration.GetSection(AccessOptions.SectionName).Get<AccessOptions>() ?? new AccessOptions();
        if (!string.IsNullOrWhiteSpace(access.BootstrapAdminTokenFile))
        {
            if (!File.Exists(access.BootstrapAdminTokenFile))
            {
                return $"Refusing to start: Storefleet:Access:BootstrapAdminTokenFile '{access.BootstrapAdminTokenFile}' does not exist. Mount the Secret there, or unset the setting.";
            }

            if (File.ReadAllText(access.BootstrapAdminTokenFile).Trim().Length < AccessMode.MinimumTokenLength)
            {
                return $"Refusing to start: the token in Storefleet:Access:BootstrapAdminTokenFile must be at least {AccessMode.MinimumTokenLength} characters (e.g. `openssl rand -base64 36`).";
            }
        }
        else if (!string.IsNullOrWhiteSpace(access.BootstrapAdminToken) && access.BootstrapAdminToken.Trim().Length < AccessMode.MinimumTokenLength)
        {
            return $"Refusing to start: Storefleet:Access:BootstrapAdminToken must be at least {AccessMode.MinimumTokenLength} characters (e.g. `openssl rand -base64 36`).";
        }

        if (AccessMode.CredentialsConfigured(access))
        {
            return null;
        }

        var exposed = ListenAddresses(configuration).Where(a => !IsLoopback(a)).ToList();
        return exposed.Count == 0
            ? null
            : $"Refusing to start: no credentials are configured (auth mode none makes every request an admin) and the server would listen on {string.Join(", ", exposed)}. " +
              "Set Storefleet__Access__BootstrapAdminToken (or ..._BootstrapAdminTokenFile, or Storefleet__Access__Oidc__Authority), or listen on loopback only (e.g. --urls http://127.0.0.1:8080).";
    }

    /// <summary>An exception at start that is a setting to fix, not a bug: its message is what to print.</summary>
    public static string? Describe(Exception e) => e switch
    {
        SettingException setting => $"Refusing to start: {setting.Message}",
        OptionsValidationException options => $"Refusing to start: invalid settings: {string.Join(" ", options.Failures)}",
        AggregateException { InnerExceptions: [var only] } => Describe(only),
        { InnerException: { } inner } => Describe(inner),
        _ => null,
    };

    /// <summary>Every address the server is configured to listen on (urls, ports, Kestrel endpoints); the framework's default otherwise.</summary>
    public static List<string> ListenAddresses(IConfiguration configuration)
    {
        var addresses = new List<string>();
        if (configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls)
        {
            addresses.AddRange(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        foreach (var (key, scheme) in new[] { ("http_ports", "http"), ("https_ports", "https") })
        {
            if (configuration[key] is { Length: > 0 } ports)
            {
                // ASPNETCORE_HTTP_PORTS binds every interface.
                addresses.AddRange(ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"{scheme}://*:{p}"));
            }
        }

        addresses.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        return addresses;
    }

    public static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}

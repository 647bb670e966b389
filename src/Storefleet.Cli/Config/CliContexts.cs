using System.Text.Json;
using System.Text.Json.Serialization;

namespace Storefleet.Cli.Config;

/// <summary>
/// A server the CLI talks to, with the credentials used there (like a kubeconfig context): an API token, or the
/// identity provider's tokens from the device flow (<see cref="Oidc"/>), or none for a local server without credentials.
/// </summary>
public sealed record CliContext(string Name, string Server, string? Token, OidcCredentials? Oidc = null)
{
    public string CredentialKind => Token is not null ? "api token" : Oidc is not null ? $"oidc ({new Uri(Oidc.Issuer).Host})" : "none";
}

/// <summary>Tokens from the identity provider (device flow); the access token is refreshed shortly before it expires.</summary>
public sealed record OidcCredentials(string Issuer, string ClientId, string AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt);

/// <summary>The CLI's configuration file: contexts and the current one.</summary>
public sealed record CliConfigFile(IReadOnlyList<CliContext> Contexts, string? Current)
{
    public static CliConfigFile Empty { get; } = new([], null);
}

/// <summary>
/// <c>~/.config/storefleet/config.json</c> (or <c>$STOREFLEET_CONFIG</c>), written with mode 0600 since it holds tokens.
/// <c>STOREFLEET_SERVER</c> and <c>STOREFLEET_TOKEN</c> override the current context.
/// </summary>
public sealed class CliContexts(string path)
{
    public string Path { get; } = path;

    public static CliContexts Default() =>
        new(Environment.GetEnvironmentVariable("STOREFLEET_CONFIG") is { Length: > 0 } path
            ? path
            : System.IO.Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg ? xdg : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "storefleet", "config.json"));

    public CliConfigFile Load()
    {
        if (!File.Exists(Path))
        {
            return CliConfigFile.Empty;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(Path), CliConfigJson.Default.CliConfigFile) ?? CliConfigFile.Empty;
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.Usage, $"The configuration file {Path} is not valid JSON ({e.Message}). Fix or delete it, then run 'storefleet login' again.");
        }
    }

    public void Save(CliConfigFile file)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temporary = Path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, file, CliConfigJson.Default.CliConfigFile);
        }

        File.Move(temporary, Path, overwrite: true);
    }

    /// <summary>The server and token to use: the environment, else the named or current context.</summary>
    public CliContext Resolve(string? contextName)
    {
        var server = Environment.GetEnvironmentVariable("STOREFLEET_SERVER");
        var token = Environment.GetEnvironmentVariable("STOREFLEET_TOKEN");
        var file = Load();
        var context = contextName is not null
            ? file.Contexts.FirstOrDefault(c => c.Name == contextName) ?? throw new CliException(ExitCodes.Usage, $"There is no context '{contextName}'. List them with 'storefleet contexts'.")
            : file.Contexts.FirstOrDefault(c => c.Name == file.Current);
        if (server is { Length: > 0 })
        {
            var saved = context?.Server.TrimEnd('/') == server.TrimEnd('/') ? context : file.Contexts.FirstOrDefault(c => c.Server.TrimEnd('/') == server.TrimEnd('/'));
            return token is { Length: > 0 }
                ? new CliContext("environment", server, token)
                : saved is not null ? saved with { Server = server } : new CliContext("environment", server, null);
        }

        return context is null
            ? throw new CliException(ExitCodes.Unauthorized, "Not signed in to any server. Run 'storefleet login <url>' (or set STOREFLEET_SERVER and STOREFLEET_TOKEN).")
            : token is { Length: > 0 } ? context with { Token = token, Oidc = null } : context;
    }

    /// <summary>Saves a context (replacing one of the same name); <paramref name="makeCurrent"/> switches to it.</summary>
    public void Upsert(CliContext context, bool makeCurrent)
    {
        var file = Load();
        Save(new CliConfigFile([.. file.Contexts.Select(c => c.Name == context.Name ? context : c), .. file.Contexts.Any(c => c.Name == context.Name) ? [] : new[] { context }],
            makeCurrent ? context.Name : file.Current));
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CliConfigFile))]
internal sealed partial class CliConfigJson : JsonSerializerContext;

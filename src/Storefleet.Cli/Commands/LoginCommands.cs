using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Storefleet.Cli.Auth;
using Storefleet.Cli.Config;
using Storefleet.Cli.Http;

namespace Storefleet.Cli.Commands;

/// <summary><c>login</c>, <c>contexts</c>, <c>use-context</c>: which server, with which credentials.</summary>
public static class LoginCommands
{
    public static IEnumerable<Command> Build(CliRuntime runtime)
    {
        yield return Login(runtime);
        yield return Contexts(runtime);
        yield return UseContext(runtime);
    }

    private static Command Login(CliRuntime runtime)
    {
        var url = new Argument<string>("URL") { Description = "The control plane's address, e.g. https://storefleet.example.com or http://localhost:8080." };
        var tokenStdin = new Option<bool>("--token-stdin") { Description = "Read an API token from standard input (for scripts; never put a token on the command line)." };
        var useToken = new Option<bool>("--use-token") { Description = "Ask for an API token even when the server offers sign-in with its identity provider." };
        var name = new Option<string?>("--name") { Description = "Name of the context to save (default: the server's host)." };
        var command = new Command("login",
            "Sign in to a Storefleet server and make it the current context.\n" +
            "When the server signs people in with an identity provider (OIDC), this shows a code to enter at the provider's\n" +
            "page, on any device, and waits for the approval; the session is then renewed automatically. Otherwise it asks\n" +
            "for an API token (an admin creates one with 'storefleet tokens create'); a local server without credentials\n" +
            "needs none. The credentials are checked, then saved with mode 0600.\n\n" +
            "Examples:\n  storefleet login https://storefleet.example.com\n  echo \"$TOKEN\" | storefleet login https://storefleet.example.com --token-stdin")
        {
            url, tokenStdin, useToken, name,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            var server = parse.GetValue(url)!.TrimEnd('/');
            if (!Uri.TryCreate(server, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                throw new CliException(ExitCodes.Usage, $"'{server}' is not an http(s) address. Example: storefleet login https://storefleet.example.com");
            }

            var context = new CliContext(parse.GetValue(name) ?? address.Authority, server, null);
            if (parse.GetValue(tokenStdin))
            {
                context = context with { Token = NonEmpty((await runtime.Input.ReadToEndAsync(cancellationToken)).Trim()) };
            }
            else
            {
                var methods = await SignInMethodsAsync(context, cancellationToken);
                if (methods?["deviceFlow"] is JsonObject deviceFlow && !parse.GetValue(useToken))
                {
                    context = context with { Oidc = await DeviceFlowAsync(runtime, deviceFlow, cancellationToken) };
                }
                else if (methods?["apiTokens"]?.GetValue<bool>() != false && runtime.Printer.Interactive)
                {
                    context = context with { Token = NonEmpty(runtime.Printer.Console.Prompt(new TextPrompt<string>("API token (empty for a local server without credentials):").Secret().AllowEmpty())) };
                }
            }

            context = await VerifyAsync(runtime, context, cancellationToken);

            runtime.Contexts.Upsert(context, makeCurrent: true);
            runtime.Printer.Success($"Signed in to {server} (context '{context.Name}', saved in {runtime.Contexts.Path}).");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>One read with the new credentials; returns the context as it is then (a refreshed session included).</summary>
    private static async Task<CliContext> VerifyAsync(CliRuntime runtime, CliContext context, CancellationToken cancellationToken)
    {
        var bearer = new BearerTokens(runtime.Contexts, context, runtime.Time);
        using var api = new StorefleetApi(context, bearer.GetAsync);
        try
        {
            await api.GetAsync("api/v1/stores?limit=1", cancellationToken);
        }
        catch (CliException e) when (e.ExitCode == ExitCodes.Unauthorized)
        {
            throw new CliException(ExitCodes.Unauthorized, context switch
            {
                { Token: null, Oidc: null } => "This server needs credentials. Pass an API token with --token-stdin (an admin creates one with 'storefleet tokens create').",
                { Token: not null } => "The server refused this API token (revoked, expired or mistyped). Ask an admin for a new one ('storefleet tokens create').",
                _ => "The server refused the identity provider's token. Ask the server's operator to check Storefleet:Access:Oidc (the audience, and the subject and role claims the provider releases).",
            });
        }

        return bearer.Context;
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    /// <summary>The server's <c>GET /api/v1/auth</c>; null from a server too old to have it.</summary>
    private static async Task<JsonNode?> SignInMethodsAsync(CliContext context, CancellationToken cancellationToken)
    {
        using var api = new StorefleetApi(context);
        try
        {
            return await api.GetAsync("api/v1/auth", cancellationToken);
        }
        catch (CliException e) when (e.ExitCode == ExitCodes.NotFound)
        {
            return null;
        }
    }

    /// <summary>The OAuth device authorization grant (RFC 8628) at the provider the server names.</summary>
    private static async Task<OidcCredentials> DeviceFlowAsync(CliRuntime runtime, JsonObject offer, CancellationToken cancellationToken)
    {
        var issuer = offer["issuer"]!.GetValue<string>();
        var clientId = offer["clientId"]!.GetValue<string>();
        var scopes = offer["scopes"]?.AsArray().Select(s => s!.GetValue<string>()) ?? ["openid", "profile", "offline_access"];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var provider = await IdentityProvider.DiscoverAsync(http, issuer, cancellationToken);
        var authorization = await provider.StartDeviceAuthorizationAsync(clientId, scopes, offer["audience"]?.GetValue<string>(), cancellationToken);

        // Shown on stderr, also when redirected: a person has to read it, and standard output stays clean for scripts.
        var minutes = Math.Max(1, (int)Math.Round(authorization.ExpiresIn.TotalMinutes));
        runtime.Printer.Error.WriteLine(authorization.VerificationUriComplete is { } complete
            ? $"To sign in, open {complete} and check that it shows the code {authorization.UserCode} (expires in {minutes} min)."
            : $"To sign in, open {authorization.VerificationUri} and enter the code {authorization.UserCode} (expires in {minutes} min).");
        runtime.Printer.Error.WriteLine("Waiting for the approval… (Ctrl+C to stop)");
        var tokens = await provider.WaitForApprovalAsync(clientId, authorization, runtime.Time, cancellationToken);
        return new OidcCredentials(issuer, clientId, tokens.AccessToken, tokens.RefreshToken, tokens.ExpiresAt);
    }

    private static Command Contexts(CliRuntime runtime)
    {
        var command = new Command("contexts", "List the saved contexts; the current one is marked with *.\n\nExample:\n  storefleet contexts");
        command.SetAction(CliApp.Action(runtime, (_, _) =>
        {
            var file = runtime.Contexts.Load();
            runtime.Printer.Table(["CURRENT", "NAME", "SERVER", "CREDENTIALS"], file.Contexts.Select(c => (IReadOnlyList<string>)
                [c.Name == file.Current ? "*" : string.Empty, c.Name, c.Server, c.CredentialKind]));
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static Command UseContext(CliRuntime runtime)
    {
        var name = new Argument<string>("NAME") { Description = "A context from 'storefleet contexts'." };
        var command = new Command("use-context", "Make another saved context the current one.\n\nExample:\n  storefleet use-context staging") { name };
        command.SetAction(CliApp.Action(runtime, (parse, _) =>
        {
            var file = runtime.Contexts.Load();
            var wanted = parse.GetValue(name)!;
            if (file.Contexts.All(c => c.Name != wanted))
            {
                throw new CliException(ExitCodes.NotFound, $"There is no context '{wanted}'. List them with 'storefleet contexts', or sign in with 'storefleet login <url>'.");
            }

            runtime.Contexts.Save(file with { Current = wanted });
            runtime.Printer.Success($"Now using context '{wanted}'.");
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }
}

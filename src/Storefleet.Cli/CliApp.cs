using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Storefleet.Cli.Commands;
using Storefleet.Cli.Config;
using Storefleet.Cli.Http;
using Storefleet.Cli.Output;

namespace Storefleet.Cli;

/// <summary>What every command needs: where the contexts live, how to print, and a client for the chosen server.</summary>
public sealed class CliRuntime(CliContexts contexts, Printer printer, TextReader input)
{
    /// <summary>Global: the context to use instead of the current one.</summary>
    public static readonly Option<string?> ContextOption = new("--context")
    {
        Description = "Use this context instead of the current one (see 'storefleet contexts').",
        Recursive = true,
    };

    public CliContexts Contexts { get; } = contexts;

    public Printer Printer { get; } = printer;

    public TextReader Input { get; } = input;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public StorefleetApi Api(ParseResult parse) => Api(Contexts.Resolve(parse.GetValue(ContextOption)));

    public StorefleetApi Api(CliContext context) => new(context, new Auth.BearerTokens(Contexts, context, Time).GetAsync);
}

/// <summary>The <c>storefleet</c> command tree: verbs, their options and actions, help and completion.</summary>
public static class CliApp
{
    public static RootCommand Build(CliRuntime runtime)
    {
        var root = new RootCommand(
            "Storefleet: run many small WooCommerce stores on Kubernetes.\n\n" +
            "Start with 'storefleet login <url>', then 'storefleet stores create my-shop --wait'; every command has --help.\n" +
            "Environment: STOREFLEET_SERVER and STOREFLEET_TOKEN override the current context; STOREFLEET_CONFIG moves the\n" +
            "configuration file (default ~/.config/storefleet/config.json); NO_COLOR turns colour off.\n" +
            ExitCodes.Summary + "\n\n" +
            "Examples:\n" +
            "  storefleet login https://storefleet.example.com\n" +
            "  storefleet stores create my-shop --plan small --wait\n" +
            "  storefleet stores list -o wide")
        {
            CliRuntime.ContextOption,
        };

        foreach (var command in LoginCommands.Build(runtime)
            .Append(StoreVerbs.Build(runtime))
            .Append(AdminVerbs.Tokens(runtime))
            .Append(AdminVerbs.Audit(runtime))
            .Append(AdminVerbs.Orphans(runtime))
            .Append(AdminVerbs.Fleet(runtime))
            .Concat(CompletionVerbs.Build(runtime)))
        {
            root.Subcommands.Add(command);
        }

        // Lists of commands show each one's first line; a command's own --help shows the rest (details, examples) after it.
        var details = new Dictionary<Command, string>();
        Split(root, details);
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithDetails((HelpAction)help.Action!, details);
        return root;
    }

    private static void Split(Command command, Dictionary<Command, string> details)
    {
        if (command is not RootCommand && command.Description is { } text && text.IndexOf('\n', StringComparison.Ordinal) is var at and > 0)
        {
            command.Description = text[..at].TrimEnd();
            details[command] = text[(at + 1)..].Trim('\n');
        }

        foreach (var sub in command.Subcommands)
        {
            Split(sub, details);
        }
    }

    /// <summary>The built-in help, then the command's details and examples.</summary>
    private sealed class HelpWithDetails(HelpAction builtIn, IReadOnlyDictionary<Command, string> details) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var code = builtIn.Invoke(parseResult);
            if (details.TryGetValue(parseResult.CommandResult.Command, out var text))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine(string.Join('\n', text.Split('\n').Select(line => line.Length == 0 ? line : (line.StartsWith("Example", StringComparison.Ordinal) ? line : "  " + line.TrimStart()))));
                output.WriteLine();
            }

            return code;
        }
    }

    /// <summary>Parses and runs; usage errors exit 2 with the parser's words and where to find help.</summary>
    public static async Task<int> RunAsync(string[] args, CliRuntime runtime, CancellationToken cancellationToken = default)
    {
        var root = Build(runtime);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpWithDetails)
        {
            foreach (var error in parse.Errors)
            {
                runtime.Printer.Fail(error.Message);
            }

            var verb = string.Join(' ', parse.CommandResult.Command is RootCommand ? [] : Path(parse.CommandResult.Command));
            runtime.Printer.Error.WriteLine($"Run 'storefleet {(verb.Length > 0 ? verb + " " : string.Empty)}--help' for usage.");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = runtime.Printer.Out, Error = runtime.Printer.Error }, cancellationToken);
    }

    /// <summary>Wraps a verb's work: a <see cref="CliException"/> becomes its sentence on stderr and its exit code.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Action(CliRuntime runtime, Func<ParseResult, CancellationToken, Task<int>> work) =>
        async (parse, cancellationToken) =>
        {
            try
            {
                return await work(parse, cancellationToken);
            }
            catch (CliException e)
            {
                runtime.Printer.Fail(e.Message);
                return e.ExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                runtime.Printer.Fail("Interrupted.");
                return ExitCodes.Failed;
            }
        };

    private static Stack<string> Path(Command command)
    {
        var names = new Stack<string>();
        for (var c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Push(c.Name);
        }

        return names;
    }
}

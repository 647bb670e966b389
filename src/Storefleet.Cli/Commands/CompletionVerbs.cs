using System.CommandLine;

namespace Storefleet.Cli.Commands;

/// <summary>
/// Shell completion: <c>storefleet completion bash|zsh|fish|powershell</c> prints a script that asks
/// <c>storefleet __complete -- WORDS…</c> (hidden) for the candidates of the last word — verbs, options, plans and,
/// for store verbs, the names of your stores from the server.
/// </summary>
public static class CompletionVerbs
{
    public static IEnumerable<Command> Build(CliRuntime runtime)
    {
        var shell = new Argument<string>("SHELL") { Description = "bash, zsh, fish or powershell." };
        shell.AcceptOnlyFromAmong("bash", "zsh", "fish", "powershell");
        var completion = new Command("completion",
            "Print the shell completion script.\n\n" +
            "Examples:\n" +
            "  source <(storefleet completion bash)            # bash, now; add it to ~/.bashrc to keep it\n" +
            "  storefleet completion zsh > \"${fpath[1]}/_storefleet\"\n" +
            "  storefleet completion fish > ~/.config/fish/completions/storefleet.fish\n" +
            "  storefleet completion powershell | Out-String | Invoke-Expression")
        {
            shell,
        };
        completion.SetAction(CliApp.Action(runtime, (parse, _) =>
        {
            runtime.Printer.Out.Write(Script(parse.GetValue(shell)!));
            return Task.FromResult(ExitCodes.Success);
        }));
        yield return completion;

        var words = new Argument<string[]>("WORDS") { Arity = ArgumentArity.ZeroOrMore };
        var complete = new Command("__complete", "Candidates for the last word of a command line (used by the completion scripts).") { Hidden = true };
        complete.Arguments.Add(words);
        complete.SetAction(CliApp.Action(runtime, (parse, _) =>
        {
            var line = parse.GetValue(words) ?? [];
            var current = line.Length == 0 ? string.Empty : line[^1];
            var tree = CliApp.Build(runtime);
            foreach (var candidate in tree.Parse(line).GetCompletions()
                .Select(c => c.Label)
                .Where(l => l.StartsWith(current, StringComparison.Ordinal) && !l.StartsWith('/') && l is not "-?" and not "-h" && l != "__complete")
                // Options only once the word starts with '-', as kubectl and git complete.
                .Where(l => current.StartsWith('-') || !l.StartsWith('-'))
                .Distinct(StringComparer.Ordinal))
            {
                runtime.Printer.Out.WriteLine(candidate);
            }

            return Task.FromResult(ExitCodes.Success);
        }));
        yield return complete;
    }

    public static string Script(string shell) => shell switch
    {
        "bash" => """
            # storefleet completion for bash: source <(storefleet completion bash)
            _storefleet_complete() {
              local IFS=$'\n'
              COMPREPLY=( $(storefleet __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
            }
            complete -o default -F _storefleet_complete storefleet

            """,
        "zsh" => """
            #compdef storefleet
            # storefleet completion for zsh: storefleet completion zsh > "${fpath[1]}/_storefleet"
            _storefleet() {
              local -a candidates
              candidates=("${(@f)$(storefleet __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
              compadd -- $candidates
            }
            compdef _storefleet storefleet

            """,
        "fish" => """
            # storefleet completion for fish: storefleet completion fish > ~/.config/fish/completions/storefleet.fish
            complete -c storefleet -f -a '(storefleet __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'

            """,
        _ => """
            # storefleet completion for PowerShell: storefleet completion powershell | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName storefleet -ScriptBlock {
              param($wordToComplete, $commandAst, $cursorPosition)
              $words = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
              if ($wordToComplete -eq '') { $words += '' }
              storefleet __complete -- @words 2>$null | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
              }
            }

            """,
    };
}

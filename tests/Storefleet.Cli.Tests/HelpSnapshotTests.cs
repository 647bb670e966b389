using System.CommandLine;
using Storefleet.Cli.Config;
using Storefleet.Cli.Output;
using Storefleet.Testing;

namespace Storefleet.Cli.Tests;

/// <summary>
/// The help of every verb, as a new user reads it, kept under review: each is compared with its approved text in
/// tests/Storefleet.Cli.Tests/Help (regenerate with STOREFLEET_UPDATE_SNAPSHOTS=1 and read the diff before committing).
/// Every verb's help has an example.
/// </summary>
public sealed class HelpSnapshotTests
{
    private static readonly string Directory = Path.Combine(RepositoryPaths.Root, "tests", "Storefleet.Cli.Tests", "Help");

    public static TheoryData<string> Verbs()
    {
        var data = new TheoryData<string>();
        foreach (var path in Paths(CliApp.Build(Runtime(new StringWriter()).Runtime), []))
        {
            data.Add(path);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task TheHelpOfEveryVerb_MatchesItsApprovedText_AndShowsAnExample(string verb)
    {
        var (runtime, output) = Runtime(new StringWriter());
        var code = await CliApp.RunAsync([.. verb.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"], runtime);
        // The usage line names the program as it was started: storefleet for people, the test host here.
        var text = output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Replace("  testhost", "  storefleet", StringComparison.Ordinal);
        var file = Path.Combine(Directory, (verb.Length == 0 ? "storefleet" : verb.Replace(' ', '_')) + ".txt");

        if (Environment.GetEnvironmentVariable("STOREFLEET_UPDATE_SNAPSHOTS") == "1")
        {
            System.IO.Directory.CreateDirectory(Directory);
            await File.WriteAllTextAsync(file, text);
        }

        Assert.Equal(0, code);
        Assert.True(File.Exists(file), $"no approved help for '{verb}': run with STOREFLEET_UPDATE_SNAPSHOTS=1 and review {file}");
        Assert.Equal(await File.ReadAllTextAsync(file), text);
        Assert.Contains("Example", text);
    }

    private static IEnumerable<string> Paths(Command command, List<string> prefix)
    {
        if (command.Hidden)
        {
            yield break;
        }

        yield return string.Join(' ', prefix);
        foreach (var sub in command.Subcommands)
        {
            foreach (var path in Paths(sub, [.. prefix, sub.Name]))
            {
                yield return path;
            }
        }
    }

    private static (CliRuntime Runtime, StringWriter Output) Runtime(StringWriter output) =>
        (new CliRuntime(new CliContexts(Path.Combine(Path.GetTempPath(), $"cli-help-{Guid.NewGuid():N}.json")), new Printer(output, output, interactive: false), TextReader.Null), output);
}

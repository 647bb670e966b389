namespace Storefleet.Testing.Charts.Rendering;

/// <summary>
/// The real helm binary for chart tests: lint and template, in an isolated helm home so a person's
/// repositories and plugins never change the outcome.
/// </summary>
public static class HelmCli
{
    private static readonly string Home = Directory.CreateTempSubdirectory("storefleet-helm-home-").FullName;

    public static Task<CliResult> RunAsync(IEnumerable<string> args, string? kubeconfig = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = Home,
            ["HELM_CONFIG_HOME"] = Path.Combine(Home, "config"),
            ["HELM_CACHE_HOME"] = Path.Combine(Home, "cache"),
            ["HELM_DATA_HOME"] = Path.Combine(Home, "data"),
            ["KUBECONFIG"] = kubeconfig ?? Path.Combine(Home, "no-cluster"),
        };
        return Cli.RunAsync(RepositoryPaths.Helm, args, environment);
    }

    public static Task<CliResult> LintAsync(string chart, ChartValues values) =>
        RunAsync(["lint", "--strict", chart, .. values.ToArguments()]);

    /// <summary>Renders the chart (hooks and test pods included) and parses every object strictly.</summary>
    public static async Task<RenderedChart> TemplateAsync(string chart, string release, string ns, ChartValues values)
    {
        var result = await RunAsync(["template", release, chart, "--namespace", ns, .. values.ToArguments()]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"helm template {chart} failed: {result}");
        }

        return RenderedChart.Parse(result.Stdout);
    }
}

/// <summary>Values files (in order) and <c>--set</c> pairs for one rendering.</summary>
public sealed record ChartValues(IReadOnlyList<string> Files, IReadOnlyList<KeyValuePair<string, string>> Set)
{
    public static ChartValues None { get; } = new([], []);

    public static ChartValues From(params string[] files) => new(files, []);

    public ChartValues With(string key, string value) => this with { Set = [.. Set, new(key, value)] };

    public IEnumerable<string> ToArguments()
    {
        foreach (var file in Files)
        {
            yield return "--values";
            yield return file;
        }

        foreach (var (key, value) in Set)
        {
            yield return "--set";
            yield return $"{key}={value}";
        }
    }

    public override string ToString() =>
        string.Join(" ", Files.Select(Path.GetFileName).Concat(Set.Select(kv => $"{kv.Key}={kv.Value}")));
}

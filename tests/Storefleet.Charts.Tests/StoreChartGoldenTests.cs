using Storefleet.Testing;

namespace Storefleet.Charts.Tests;

/// <summary>
/// The local rendering is committed (Golden/store-local.yaml) so every change to what the chart
/// produces shows up as a reviewed diff. To accept a change: STOREFLEET_UPDATE_GOLDEN=1 ./test.sh --filter Golden
/// and review `git diff tests/Storefleet.Charts.Tests/Golden`.
/// </summary>
public sealed class StoreChartGoldenTests
{
    private static readonly string GoldenFile = Path.Combine(RepositoryPaths.Root, "tests", "Storefleet.Charts.Tests", "Golden", "store-local.yaml");

    [Fact]
    public async Task TheLocalRendering_MatchesTheCommittedGolden()
    {
        var rendered = Normalize((await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"))).Yaml);

        if (Environment.GetEnvironmentVariable("STOREFLEET_UPDATE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(GoldenFile, rendered);
        }

        Assert.True(File.Exists(GoldenFile), $"{GoldenFile} is missing; create it with STOREFLEET_UPDATE_GOLDEN=1 ./test.sh --filter Golden");
        var golden = Normalize(await File.ReadAllTextAsync(GoldenFile));
        if (golden != rendered)
        {
            var actual = GoldenFile + ".actual";
            await File.WriteAllTextAsync(actual, rendered);
            Assert.Fail($"The store chart renders differently from {GoldenFile}. Compare: diff -u {GoldenFile} {actual}. " +
                "If the change is intended, accept it with STOREFLEET_UPDATE_GOLDEN=1 ./test.sh --filter Golden and review the diff.");
        }
    }

    /// <summary>Line endings and trailing spaces (helm indents blank lines of embedded scripts) do not count.</summary>
    private static string Normalize(string yaml) =>
        string.Join('\n', yaml.ReplaceLineEndings("\n").Split('\n').Select(line => line.TrimEnd())).TrimEnd() + "\n";
}

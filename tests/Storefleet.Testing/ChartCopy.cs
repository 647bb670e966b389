namespace Storefleet.Testing;

/// <summary>
/// A copy of the repository's charts with the store chart's version (and optionally its values.yaml) changed, for a
/// control plane that ships another chart than the others in a test or benchmark. Deleted on dispose.
/// </summary>
public sealed class ChartCopy : IDisposable
{
    private ChartCopy(string directory) => Directory = directory;

    /// <summary>The charts directory to give a control plane as <c>Storefleet:Engine:ChartsDirectory</c>.</summary>
    public string Directory { get; }

    public static ChartCopy Create(string storeChartVersion, Func<string, string>? editValues = null)
    {
        var copy = System.IO.Directory.CreateTempSubdirectory("charts-copy-").FullName;
        var source = Path.Combine(RepositoryPaths.Root, "charts");
        foreach (var file in System.IO.Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(copy, Path.GetRelativePath(source, file));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }

        Edit(Path.Combine(copy, "store", "Chart.yaml"), text => Replace(text, "version: 0.1.0", $"version: {storeChartVersion}"));
        if (editValues is not null)
        {
            Edit(Path.Combine(copy, "store", "values.yaml"), editValues);
        }

        return new ChartCopy(copy);
    }

    /// <summary>Replaces text that must be there (a chart edit that silently matched nothing would prove nothing).</summary>
    public static string Replace(string text, string old, string replacement) =>
        text.Contains(old, StringComparison.Ordinal)
            ? text.Replace(old, replacement, StringComparison.Ordinal)
            : throw new InvalidOperationException($"'{old}' is not in the chart file any more; update the test.");

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private static void Edit(string path, Func<string, string> edit) => File.WriteAllText(path, edit(File.ReadAllText(path)));
}

using Microsoft.Extensions.Options;

namespace Storefleet.Engine.Hosting;

/// <summary>
/// Where the charts and helm are. Configured paths win; otherwise the repository layout is found by
/// walking up from the working directory and the application directory, so <c>dotnet run</c> from the
/// repository root needs no setup; helm then falls back to PATH.
/// </summary>
public sealed class EnginePaths(IOptions<EngineOptions> options)
{
    private readonly Lazy<string> _charts = new(() => ResolveCharts(options.Value.ChartsDirectory));
    private readonly Lazy<string> _helm = new(() => ResolveHelm(options.Value.HelmPath));

    public string ChartsDirectory => _charts.Value;

    public string Helm => _helm.Value;

    public string Chart(string chartDirectory) => Path.Combine(ChartsDirectory, chartDirectory);

    /// <summary>The values files for a chart, in order: absolute, or relative to the chart's directory.</summary>
    public IReadOnlyList<string> ValuesFiles(string chartDirectory) =>
        [.. (options.Value.ValuesFiles.Count > 0 ? options.Value.ValuesFiles : ["values-local.yaml"])
            .Select(f => Path.IsPathRooted(f) ? f : Path.Combine(Chart(chartDirectory), f))];

    private static string ResolveCharts(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Directory.Exists(configured)
                ? Path.GetFullPath(configured)
                : throw new DirectoryNotFoundException($"Storefleet:Engine:ChartsDirectory '{configured}' does not exist.");
        }

        return FindUpwards(Path.Combine("charts", "store", "Chart.yaml")) is { } chartFile
            ? Path.GetDirectoryName(Path.GetDirectoryName(chartFile))!
            : throw new DirectoryNotFoundException(
                "The store chart was not found: no charts/store/Chart.yaml above the working directory. Run from the repository, or set Storefleet:Engine:ChartsDirectory.");
    }

    private static string ResolveHelm(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured)
                ? Path.GetFullPath(configured)
                : throw new FileNotFoundException($"Storefleet:Engine:HelmPath '{configured}' does not exist.");
        }

        var toolsDir = Environment.GetEnvironmentVariable("STOREFLEET_TOOLS_DIR");
        if (toolsDir is not null && File.Exists(Path.Combine(toolsDir, "bin", "helm")))
        {
            return Path.Combine(toolsDir, "bin", "helm");
        }

        if (FindUpwards(Path.Combine(".tools", "bin", "helm")) is { } tools)
        {
            return tools;
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "helm"))
            .FirstOrDefault(File.Exists);
        return onPath ?? throw new FileNotFoundException(
            "helm was not found in .tools/bin (scripts/bootstrap-tools.sh installs it) or on PATH. Install helm 4, or set Storefleet:Engine:HelmPath.");
    }

    private static string? FindUpwards(string relative)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}

namespace Storefleet.Testing;

/// <summary>Finds the repository root and the tools the bootstrap script installed (never via PATH).</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary><c>STOREFLEET_TOOLS_DIR</c> or <c>&lt;repo&gt;/.tools</c>, as scripts/bootstrap-tools.sh uses.</summary>
    public static string ToolsBin => Path.Combine(Environment.GetEnvironmentVariable("STOREFLEET_TOOLS_DIR") ?? Path.Combine(Root, ".tools"), "bin");

    public static string Helm => RequireTool("helm");

    public static string Kubectl => RequireTool("kubectl");

    /// <summary>The build configuration the tests run under (Debug or Release), read from their own output path.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar).Contains("Release") ? "Release" : "Debug";

    private static string RequireTool(string name)
    {
        var path = Path.Combine(ToolsBin, name);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{name} is not installed at {path}. Run scripts/bootstrap-tools.sh (./test.sh does it for you).");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Storefleet.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No Storefleet.slnx above {AppContext.BaseDirectory}.");
    }
}

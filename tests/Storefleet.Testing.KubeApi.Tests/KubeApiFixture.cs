using Storefleet.Testing;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>One API test double per test class; tests isolate themselves by namespace.</summary>
public sealed class KubeApiFixture : IAsyncLifetime
{
    public KubeApiTestServer Server { get; private set; } = null!;

    public static string MiniChart => Path.Combine(AppContext.BaseDirectory, "TestCharts", "mini");

    public async Task InitializeAsync() => Server = await KubeApiTestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public Task<CliResult> HelmAsync(params string[] args) => RunAsync(RepositoryPaths.Helm, args);

    public Task<CliResult> KubectlAsync(params string[] args) => RunAsync(RepositoryPaths.Kubectl, args);

    public async Task<string> NewNamespaceAsync(string stem)
    {
        var name = $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 9)];
        var result = await KubectlAsync("apply", "-f", "-", "--stdin-content", $"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
        Assert.True(result.ExitCode == 0, result.ToString());
        return name;
    }

    private Task<CliResult> RunAsync(string executable, string[] args)
    {
        var stdinAt = Array.IndexOf(args, "--stdin-content");
        var stdin = stdinAt >= 0 ? args[stdinAt + 1] : null;
        var arguments = stdinAt >= 0 ? args.Where((_, i) => i != stdinAt && i != stdinAt + 1) : args;
        var home = Path.Combine(Path.GetTempPath(), "kube-api-tests-home");
        return Cli.RunAsync(executable, arguments, new Dictionary<string, string>
        {
            ["KUBECONFIG"] = Server.KubeconfigPath,
            ["HOME"] = home,
            ["HELM_CACHE_HOME"] = Path.Combine(home, "helm-cache"),
        }, stdin);
    }
}

using System.Diagnostics;
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

    private async Task<CliResult> RunAsync(string executable, string[] args)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        string? stdin = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--stdin-content")
            {
                stdin = args[++i];
                continue;
            }

            start.ArgumentList.Add(args[i]);
        }

        start.Environment["KUBECONFIG"] = Server.KubeconfigPath;
        start.Environment["HOME"] = Path.Combine(Path.GetTempPath(), "kube-api-tests-home");
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "kube-api-tests-home", "helm-cache");
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

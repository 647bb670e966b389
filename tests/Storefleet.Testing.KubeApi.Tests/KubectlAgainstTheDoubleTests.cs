using System.Diagnostics;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>The real kubectl 1.35.2 against the double.</summary>
public sealed class KubectlAgainstTheDoubleTests(KubeApiFixture api) : IClassFixture<KubeApiFixture>
{
    [Fact]
    public async Task Kubectl_ApplyGetLabelDescribeDelete_Work()
    {
        var ns = await api.NewNamespaceAsync("kctl");
        var manifest = $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: {ns}\n  labels: {{team: x}}\ndata: {{a: b}}\n";

        await Ok(api.KubectlAsync("apply", "-f", "-", "--stdin-content", manifest));
        await Ok(api.KubectlAsync("apply", "--server-side", "-f", "-", "--stdin-content", manifest.Replace("a: b", "a: c", StringComparison.Ordinal)));
        var yaml = await Ok(api.KubectlAsync("get", "configmap", "applied", "-n", ns, "-o", "yaml"));
        Assert.Contains("a: c", yaml.Stdout);
        await Ok(api.KubectlAsync("label", "configmap", "applied", "-n", ns, "tier=web"));
        var selected = await Ok(api.KubectlAsync("get", "configmaps", "-n", ns, "-l", "team in (x,y),tier=web", "-o", "name"));
        Assert.Equal("configmap/applied", selected.Stdout.Trim());
        Assert.Equal(string.Empty, (await Ok(api.KubectlAsync("get", "configmaps", "-n", ns, "-l", "team notin (x)", "-o", "name"))).Stdout.Trim());
        var described = await Ok(api.KubectlAsync("describe", "configmap", "applied", "-n", ns));
        Assert.Contains("tier=web", described.Stdout);
        await Ok(api.KubectlAsync("delete", "configmap", "applied", "-n", ns));
        var gone = await api.KubectlAsync("get", "configmap", "applied", "-n", ns);
        Assert.Contains("NotFound", gone.Stderr);
    }

    [Fact]
    public async Task KubectlWait_ForAvailableAndForDelete()
    {
        var ns = await api.NewNamespaceAsync("kwait");
        await Ok(api.HelmAsync("install", "rec", KubeApiFixture.MiniChart, "-n", ns));

        await Ok(api.KubectlAsync("wait", "--for=condition=Available", "deployment/rec-web", "-n", ns, "--timeout=20s"));
        await Ok(api.KubectlAsync("delete", "namespace", ns, "--wait=false"));
        await Ok(api.KubectlAsync("wait", "--for=delete", $"namespace/{ns}", "--timeout=20s"));
    }

    [Fact]
    public async Task KubectlGetNamespacesWatch_StreamsChanges()
    {
        var name = $"watched-{Guid.NewGuid():N}"[..16];
        var start = new ProcessStartInfo(Storefleet.Testing.RepositoryPaths.Kubectl) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "get", "namespaces", "-w", "--request-timeout=30s" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["KUBECONFIG"] = api.Server.KubeconfigPath;
        using var watch = Process.Start(start)!;
        var seen = new TaskCompletionSource();
        watch.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains(name, StringComparison.Ordinal) == true)
            {
                seen.TrySetResult();
            }
        };
        watch.BeginOutputReadLine();
        try
        {
            await Storefleet.Testing.Eventually.WaitUntilAsync(
                () => Task.FromResult(api.Server.Requests.Entries.Any(r => r.Verb == "watch" && r.Resource == "namespaces")),
                TimeSpan.FromSeconds(20), "kubectl to start watching namespaces");
            await api.KubectlAsync("apply", "-f", "-", "--stdin-content", $"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");

            await seen.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            watch.Kill();
        }
    }

    private static async Task<CliResult> Ok(Task<CliResult> run)
    {
        var result = await run;
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}

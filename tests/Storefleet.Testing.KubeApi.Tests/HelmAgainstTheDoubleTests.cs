using Storefleet.Testing.KubeApi.Simulation;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>The real helm 4.1.4 CLI against the double, on a chart with every kind the store chart uses.</summary>
public sealed class HelmAgainstTheDoubleTests(KubeApiFixture api) : IClassFixture<KubeApiFixture>
{
    [Fact]
    public async Task Helm_FullReleaseLifecycle_Works()
    {
        var ns = await api.NewNamespaceAsync("helm");

        await Ok(api.HelmAsync("install", "rec", KubeApiFixture.MiniChart, "-n", ns));
        await Ok(api.HelmAsync("upgrade", "--install", "rec", KubeApiFixture.MiniChart, "-n", ns, "--set", "message=bye"));
        var status = await Ok(api.HelmAsync("status", "rec", "-n", ns));
        Assert.Contains("STATUS: deployed", status.Stdout);
        Assert.Contains("REVISION: 2", status.Stdout);
        var list = await Ok(api.HelmAsync("list", "-A"));
        Assert.Contains(ns, list.Stdout);
        var values = await Ok(api.HelmAsync("get", "values", "rec", "-n", ns));
        Assert.Contains("message: bye", values.Stdout);
        await Ok(api.HelmAsync("rollback", "rec", "1", "-n", ns));
        var history = await Ok(api.HelmAsync("history", "rec", "-n", ns));
        Assert.Contains("Rollback to 1", history.Stdout);
        Assert.Equal("hello", (await api.KubectlAsync("get", "configmap", "rec-cfg", "-n", ns, "-o", "jsonpath={.data.message}")).Stdout);

        await Ok(api.HelmAsync("uninstall", "rec", "-n", ns, "--wait"));
        var remaining = await Ok(api.KubectlAsync("get", "deploy,sts,job,svc,cm,secret,networkpolicy,ingress,resourcequota,limitrange,serviceaccount", "-n", ns, "-o", "name"));
        // What helm installed is gone; the namespace's own "default" service account (made by the service account controller) stays.
        Assert.Equal("serviceaccount/default", remaining.Stdout.Trim());
        await Ok(api.HelmAsync("uninstall", "rec", "-n", ns, "--ignore-not-found"));
    }

    [Fact]
    public async Task HelmInstallWait_FinishesWhenTheSimulationMakesWorkloadsReady()
    {
        var ns = await api.NewNamespaceAsync("wait");

        var result = await Ok(api.HelmAsync("install", "rec", KubeApiFixture.MiniChart, "-n", ns, "--wait", "--timeout", "60s"));

        Assert.Contains("STATUS: deployed", result.Stdout);
        await Ok(api.KubectlAsync("wait", "--for=condition=Available", "deployment/rec-web", "-n", ns, "--timeout=10s"));
    }

    [Fact]
    public async Task HelmInstallWait_ImagePullBackOff_FailsWithATimeout()
    {
        var ns = await api.NewNamespaceAsync("pull");
        api.Server.Simulation.AddPodFault(PodFault.ImagePullBackOff, ns, "pause");

        var result = await api.HelmAsync("install", "rec", KubeApiFixture.MiniChart, "-n", ns, "--wait", "--timeout", "3s");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("context deadline exceeded", result.Stderr + result.Stdout);
        var pods = await Ok(api.KubectlAsync("get", "pods", "-n", ns, "-o", "jsonpath={.items[*].status.containerStatuses[*].state.waiting.reason}"));
        Assert.Contains("ImagePullBackOff", pods.Stdout);
    }

    [Fact]
    public async Task HelmInstall_ChartWithAnUnknownField_FailsWithTheServersMessage()
    {
        var ns = await api.NewNamespaceAsync("strict");
        var chart = Directory.CreateTempSubdirectory("bad-chart-").FullName;
        await File.WriteAllTextAsync(Path.Combine(chart, "Chart.yaml"), "apiVersion: v2\nname: bad\nversion: 0.1.0\n");
        Directory.CreateDirectory(Path.Combine(chart, "templates"));
        await File.WriteAllTextAsync(Path.Combine(chart, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndataz:\n  a: b\n");

        var result = await api.HelmAsync("install", "bad", chart, "-n", ns);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("unknown field \"dataz\"", result.Stderr);
    }

    private static async Task<CliResult> Ok(Task<CliResult> run)
    {
        var result = await run;
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}

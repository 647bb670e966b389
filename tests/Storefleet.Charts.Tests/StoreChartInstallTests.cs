using System.Text.Json.Nodes;
using Storefleet.Testing;
using Storefleet.Testing.Charts.Rendering;
using Storefleet.Testing.KubeApi;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Charts.Tests;

/// <summary>
/// The chart installed with the real helm into the Kubernetes API test double, the way the control
/// plane does it: a prepared namespace, an existing credentials Secret, `helm upgrade --install`.
/// </summary>
public sealed class StoreChartInstallTests : IAsyncLifetime
{
    private KubeApiTestServer _api = null!;

    public async Task InitializeAsync()
    {
        _api = await KubeApiTestServer.StartAsync();
        _api.Simulation.ReadyDelay = TimeSpan.FromMilliseconds(50);
        _api.Simulation.NamespaceDeletionDelay = TimeSpan.FromMilliseconds(50);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task UpgradeInstall_IntoAPreparedNamespace_ThenANoOpUpgrade_ThenUninstallAndNamespaceDeletion_LeaveNothing()
    {
        const string ns = "store-shop";
        await PrepareNamespaceAsync(ns, withSecret: true);

        var install = await HelmAsync(UpgradeInstall("shop", ns, "--set", "credentials.existingSecret=shop-credentials"));
        Assert.Contains("STATUS: deployed", install.Stdout);
        await Eventually.WaitUntilAsync(() => Task.FromResult(Workloads(ns).ToList() is { Count: 2 } workloads && workloads.All(w => w.Ready)), TimeSpan.FromSeconds(20), "workloads of the simulated store become ready");
        var first = Snapshot(ns);
        Assert.Contains("Deployment/shop-wordpress", first.Keys);
        Assert.Contains("StatefulSet/shop-mysql", first.Keys);
        Assert.Contains("PersistentVolumeClaim/data-shop-mysql-0", first.Keys);
        Assert.Single(first.Keys, k => k.StartsWith("Job/shop-bootstrap-1-", StringComparison.Ordinal));

        var again = await HelmAsync(UpgradeInstall("shop", ns, "--set", "credentials.existingSecret=shop-credentials"));
        Assert.Contains("REVISION: 2", again.Stdout);
        var second = Snapshot(ns);
        Assert.Equal(first.Keys.Order(), second.Keys.Order());
        foreach (var (key, (uid, generation)) in first)
        {
            Assert.True(second[key] == (uid, generation), $"{key} changed on a no-op upgrade: {first[key]} -> {second[key]}");
        }

        var test = await HelmAsync("test", "shop", "-n", ns, "--timeout", "60s");
        Assert.Contains("shop-test-storefront", test.Stdout);
        Assert.Contains("Succeeded", test.Stdout);

        await HelmAsync("uninstall", "shop", "-n", ns, "--wait", "--timeout", "60s");
        // What stays: the volumes (data), the generated credentials (kept on purpose) and the namespace's own default service account.
        Assert.DoesNotContain(Snapshot(ns).Keys, k => !k.StartsWith("PersistentVolumeClaim/", StringComparison.Ordinal) && !k.StartsWith("Secret/shop-credentials", StringComparison.Ordinal) && k != "ServiceAccount/default");
        await KubectlAsync("delete", "namespace", ns, "--wait=true", "--timeout=60s");
        await Eventually.WaitUntilAsync(() => Task.FromResult(_api.Store.InNamespace(ns).Count == 0), TimeSpan.FromSeconds(20), "the namespace's contents are gone");
        var gone = await Cli.RunAsync(RepositoryPaths.Kubectl, ["get", "namespace", ns], Environment());
        Assert.Contains("NotFound", gone.Stderr);
        Assert.Empty(_api.Store.InNamespace(ns));
    }

    [Fact]
    public async Task WithoutAnExistingSecret_TheGeneratedPasswords_SurviveUpgrades()
    {
        const string ns = "store-byhand";
        await PrepareNamespaceAsync(ns, withSecret: false);

        await HelmAsync(UpgradeInstall("byhand", ns));
        var before = SecretData(ns, "byhand-credentials");
        await HelmAsync(UpgradeInstall("byhand", ns, "--set", "bootstrap.generation=2"));
        var after = SecretData(ns, "byhand-credentials");

        Assert.Equal(3, before.Count);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task WithPerStoreCertificates_TheQuotaRefusesANodePortSolver_AndAdmitsTheClusterIpOne()
    {
        const string ns = "store-tls";
        await PrepareNamespaceAsync(ns, withSecret: true);
        await HelmAsync(UpgradeInstall("tls", ns, "--set", "credentials.existingSecret=tls-credentials", "--set", "ingress.tls.enabled=true", "--set", "ingress.tls.clusterIssuer=letsencrypt-prod"));

        // What cert-manager's HTTP-01 solver creates: a Service, NodePort unless the issuer says ClusterIP.
        string Solver(string type) =>
            $"apiVersion: v1\nkind: Service\nmetadata:\n  name: cm-acme-http-solver-{type.ToLowerInvariant()}\n  labels:\n    acme.cert-manager.io/http01-solver: \"true\"\n" +
            $"spec:\n  type: {type}\n  selector:\n    acme.cert-manager.io/http01-solver: \"true\"\n  ports:\n    - name: http\n      port: 8089\n      targetPort: 8089\n";
        var nodePort = await Cli.RunAsync(RepositoryPaths.Kubectl, ["create", "-n", ns, "-f", "-"], Environment(), Solver("NodePort"));
        var clusterIp = await Cli.RunAsync(RepositoryPaths.Kubectl, ["create", "-n", ns, "-f", "-"], Environment(), Solver("ClusterIP"));

        Assert.NotEqual(0, nodePort.ExitCode);
        Assert.Contains("exceeded quota: tls-quota, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0", nodePort.Stderr);
        Assert.True(clusterIp.ExitCode == 0, clusterIp.ToString());
        Assert.Contains(_api.Store.InNamespace(ns), o => o.Object["kind"]?.GetValue<string>() == "NetworkPolicy" && o.Object["metadata"]!["name"]!.GetValue<string>() == "tls-acme-solver-ingress");
    }

    [Fact]
    public async Task WithBackups_AnOnDemandBackupIsAJobFromTheCronJob_AndARestoreStopsWordPressUntilItIsDone()
    {
        const string ns = "store-safe";
        await PrepareNamespaceAsync(ns, withSecret: true);
        string[] backups = ["--set", "credentials.existingSecret=safe-credentials", "--set", "backup.enabled=true", "--set", "backup.repository=rest:https://backup.example.com/storefleet"];
        await HelmAsync(UpgradeInstall("safe", ns, backups));

        // An on-demand backup: a Job from the CronJob's template (what `kubectl create job --from=cronjob/...` makes),
        // admitted by the namespace's quota and Pod Security (restricted) like the scheduled ones.
        var cronJob = Object(ns, "CronJob", "safe-backup");
        var manual = CronJobRuns.JobFrom(cronJob, "safe-backup-manual-1", manual: true);
        await KubectlAsync(["create", "-n", ns, "-f", "-"], manual.ToJsonString());
        await Eventually.WaitUntilAsync(() => Task.FromResult(JobSucceeded(ns, "safe-backup-manual-1")), TimeSpan.FromSeconds(30), "the on-demand backup Job succeeds");
        var job = Object(ns, "Job", "safe-backup-manual-1");
        Assert.Equal("CronJob", job["metadata"]!["ownerReferences"]![0]!["kind"]!.GetValue<string>());
        Assert.Equal("backup", job["spec"]!["template"]!["metadata"]!["labels"]!["app.kubernetes.io/component"]!.GetValue<string>());

        await HelmAsync(UpgradeInstall("safe", ns, [.. backups, "--set", "restore.id=rs-1", "--set", "restore.snapshot=4f3c2d1e"]));
        Assert.Equal(0, JsonNumbers.Long(Object(ns, "Deployment", "safe-wordpress")["spec"]!["replicas"]));
        await Eventually.WaitUntilAsync(() => Task.FromResult(JobSucceeded(ns, "safe-restore-rs-1")), TimeSpan.FromSeconds(30), "the restore Job succeeds");

        await HelmAsync(UpgradeInstall("safe", ns, backups));
        Assert.Equal(1, JsonNumbers.Long(Object(ns, "Deployment", "safe-wordpress")["spec"]!["replicas"]));
        Assert.DoesNotContain(_api.Store.InNamespace(ns), o => o.Object["kind"]!.GetValue<string>() == "Job" && o.Object["metadata"]!["name"]!.GetValue<string>() == "safe-restore-rs-1");
    }

    private JsonObject Object(string ns, string kind, string name) =>
        _api.Store.InNamespace(ns).Single(o => o.Object["kind"]!.GetValue<string>() == kind && o.Object["metadata"]!["name"]!.GetValue<string>() == name).Object;

    private bool JobSucceeded(string ns, string name) =>
        _api.Store.InNamespace(ns).Any(o => o.Object["kind"]!.GetValue<string>() == "Job" && o.Object["metadata"]!["name"]!.GetValue<string>() == name
            && (JsonNumbers.Long(o.Object["status"]?["succeeded"]) ?? 0) >= 1);

    private static string[] UpgradeInstall(string release, string ns, params string[] extra) =>
    [
        "upgrade", "--install", release, StoreChart.Path, "-n", ns,
        "-f", StoreChart.ValuesFile("values-local.yaml"), "--history-max", "5", "--timeout", "2m", .. extra,
    ];

    private async Task PrepareNamespaceAsync(string ns, bool withSecret)
    {
        var manifest = $"""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: {ns}
              labels:
                app.kubernetes.io/managed-by: storefleet
                pod-security.kubernetes.io/enforce: restricted
            """;
        if (withSecret)
        {
            var release = ns["store-".Length..];
            manifest += $"""

                ---
                apiVersion: v1
                kind: Secret
                metadata:
                  name: {release}-credentials
                  namespace: {ns}
                stringData:
                  mysql-root-password: {Guid.NewGuid():N}
                  mysql-password: {Guid.NewGuid():N}
                  wordpress-admin-password: {Guid.NewGuid():N}
                """;
        }

        await KubectlAsync(["apply", "-f", "-"], manifest);
    }

    /// <summary>uid and generation of every object in the namespace except pods, ReplicaSets and helm's release Secrets.</summary>
    private Dictionary<string, (string Uid, long Generation)> Snapshot(string ns) =>
        _api.Store.InNamespace(ns)
            .Select(o => o.Object)
            .Where(o => o["kind"]!.GetValue<string>() is not ("Pod" or "ReplicaSet" or "Event")
                && !(o["metadata"]!["name"]!.GetValue<string>().StartsWith("sh.helm.release.", StringComparison.Ordinal)))
            .ToDictionary(
                o => $"{o["kind"]}/{o["metadata"]!["name"]}",
                o => (o["metadata"]!["uid"]!.GetValue<string>(), JsonNumbers.Long(o["metadata"]!["generation"]) ?? 0));

    private IEnumerable<(string Name, bool Ready)> Workloads(string ns) =>
        _api.Store.InNamespace(ns)
            .Where(o => o.Resource.GroupResource is "deployments.apps" or "statefulsets.apps")
            .Select(o => (o.Object["metadata"]!["name"]!.GetValue<string>(), (JsonNumbers.Long(o.Object["status"]?["readyReplicas"]) ?? 0) >= 1));

    private Dictionary<string, string> SecretData(string ns, string name) =>
        _api.Store.InNamespace(ns).Single(o => o.Object["kind"]!.GetValue<string>() == "Secret" && o.Object["metadata"]!["name"]!.GetValue<string>() == name)
            .Object["data"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>());

    private Dictionary<string, string> Environment() => new() { ["KUBECONFIG"] = _api.KubeconfigPath };

    private Task<CliResult> HelmAsync(params string[] args) => Ok(HelmCli.RunAsync(args, _api.KubeconfigPath));

    private Task<CliResult> KubectlAsync(string[] args, string? stdin = null) => Ok(Cli.RunAsync(RepositoryPaths.Kubectl, args, Environment(), stdin));

    private Task<CliResult> KubectlAsync(params string[] args) => KubectlAsync(args, null);

    private static async Task<CliResult> Ok(Task<CliResult> run)
    {
        var result = await run;
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}

using k8s.Models;
using Storefleet.Testing;
using Storefleet.Testing.Charts.Networking;
using Storefleet.Testing.Charts.PodSecurity;
using Storefleet.Testing.Charts.Quota;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>
/// The store chart with backups on (the backup and maintenance CronJobs) and while a backup is restored (the restore
/// Job, WordPress stopped): every pod is Pod Security restricted and fits the plan's quota and LimitRange beside the
/// store's own pods, reaches only MySQL and the repository, and gets its secrets from Secrets, never from values.
/// </summary>
public sealed class StoreChartBackupTests
{
    private const string Repository = "s3:https://s3.amazonaws.com/shops-backups/storefleet";
    private static readonly ExternalEndpoint RepositoryEndpoint = ExternalEndpoint.Parse("52.216.1.10");
    private static readonly ExternalEndpoint CloudMetadata = ExternalEndpoint.Parse("169.254.169.254");

    private static ChartValues WithBackups(string file, string plan) =>
        StoreChart.AsControlPlaneInstalls(file, plan).With("backup.enabled", "true").With("backup.repository", Repository);

    private static ChartValues Restoring(string file, string plan) =>
        WithBackups(file, plan).With("restore.id", "rs-1a2b").With("restore.snapshot", "4f3c2d1e");

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task BackupAndRestorePods_ArePodSecurityRestricted_AndFitTheLimitRange(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(Restoring(file, plan));
        var limits = chart.All<V1LimitRange>().Single().Spec.Limits.Single(l => l.Type == "Container").Max;
        var pods = BackupPods(chart).ToList();
        Assert.Equal(3, pods.Count);

        foreach (var pod in pods)
        {
            var violations = RestrictedPodSecurity.Violations(pod.Spec, pod.Metadata?.Annotations);
            Assert.True(violations.Count == 0, $"{pod}: {string.Join("; ", violations)}");
            Assert.False(pod.Spec.AutomountServiceAccountToken ?? true, $"{pod} mounts a service account token");
            foreach (var container in pod.AllContainers)
            {
                Assert.True(PodResources.Of(container.Resources.Limits, "cpu") <= PodResources.Of(limits, "cpu"), $"{pod} {container.Name} cpu limit over the LimitRange max");
                Assert.True(PodResources.Of(container.Resources.Limits, "memory") <= PodResources.Of(limits, "memory"), $"{pod} {container.Name} memory limit over the LimitRange max");
                Assert.Matches(@"^[a-z0-9./-]+:[A-Za-z0-9_][A-Za-z0-9_.-]*$", container.Image);
            }
        }
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task TheQuota_AdmitsABackupAndRetentionBesideEveryStorePodTheBootstrapTheSmokeTestAndACronRun(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(WithBackups(file, plan));
        var hard = chart.All<V1ResourceQuota>().Single().Spec.Hard;
        var pods = chart.Pods;
        Assert.Equal(2, pods.Count(p => p.Labels["app.kubernetes.io/component"] == "backup"));

        Assert.True(pods.Sum(p => p.Replicas) <= PodResources.Of(hard, "pods"), "pods exceed the quota with backups");
        foreach (var resource in new[] { "cpu", "memory" })
        {
            var requests = pods.Sum(p => p.Replicas * PodResources.Requests(p.Spec, resource));
            var limits = pods.Sum(p => p.Replicas * PodResources.Limits(p.Spec, resource));
            Assert.True(requests <= PodResources.Of(hard, $"requests.{resource}"), $"{resource} requests {requests} exceed the quota ({PodResources.Of(hard, $"requests.{resource}")}) with backups");
            Assert.True(limits <= PodResources.Of(hard, $"limits.{resource}"), $"{resource} limits {limits} exceed the quota ({PodResources.Of(hard, $"limits.{resource}")}) with backups");
        }
    }

    [Theory]
    [MemberData(nameof(StoreChart.Files), MemberType = typeof(StoreChart))]
    public async Task BackupAndRestorePods_ReachMySqlTheRepositoryAndDns_AndNothingElse(string file)
    {
        var chart = await StoreChart.RenderAsync(Restoring(file, "small"));
        var policies = chart.All<V1NetworkPolicy>().ToList();
        policies.ForEach(p => p.Metadata.NamespaceProperty = StoreChart.Namespace);
        var network = new NetworkPolicyEvaluator(policies);
        var mysql = Endpoint(chart.Pods.Single(p => p.OwnerKind == "StatefulSet"));
        var wordpress = Endpoint(chart.Pods.Single(p => p.OwnerKind == "Deployment"));
        var dns = new PodEndpoint("kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" });

        foreach (var pod in BackupPods(chart).Select(Endpoint))
        {
            Assert.True(network.Allows(new Connection(pod, mysql, 3306)), $"{pod} -> MySQL");
            Assert.True(network.Allows(new Connection(pod, RepositoryEndpoint, 443)), $"{pod} -> repository :443");
            Assert.True(network.Allows(new Connection(pod, dns, 53, "UDP")), $"{pod} -> DNS");
            Assert.False(network.Allows(new Connection(pod, RepositoryEndpoint, 22)), $"{pod} -> repository :22");
            Assert.False(network.Allows(new Connection(pod, CloudMetadata, 443)), $"{pod} -> cloud metadata");
            Assert.False(network.Allows(new Connection(pod, wordpress, 8080)), $"{pod} -> WordPress");
            Assert.False(network.Allows(new Connection(wordpress, pod, 8080)), $"WordPress -> {pod}");
        }

        // The repository is reachable from the backup pods only: WordPress still reaches nothing outside.
        Assert.False(network.Allows(new Connection(wordpress, RepositoryEndpoint, 443)), "WordPress -> repository");
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task ACloneBootstrap_RestoresFirst_Restricted_WithinTheLimitRangeAndQuota_ReachingTheRepository(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(WithBackups(file, plan)
            .With("bootstrap.restoreFrom.snapshot", "0a1b2c3d").With("bootstrap.restoreFrom.sourceStore", "src-0123456789ab"));
        var bootstrap = chart.Pods.Single(p => p.Labels["app.kubernetes.io/component"] == "bootstrap");
        Assert.Equal(["fetch", "database", "files"], bootstrap.Spec.InitContainers.Select(c => c.Name));
        Assert.Contains(bootstrap.Spec.InitContainers[0].Env, e => e.Name == "SOURCE_STORE" && e.Value == "src-0123456789ab");
        Assert.Contains(bootstrap.Spec.Containers[0].Env, e => e.Name == "CLONE_SNAPSHOT" && e.Value == "0a1b2c3d");
        var violations = RestrictedPodSecurity.Violations(bootstrap.Spec, bootstrap.Metadata?.Annotations);
        Assert.True(violations.Count == 0, string.Join("; ", violations));
        var limits = chart.All<V1LimitRange>().Single().Spec.Limits.Single(l => l.Type == "Container").Max;
        foreach (var container in bootstrap.AllContainers)
        {
            Assert.True(PodResources.Of(container.Resources.Limits, "cpu") <= PodResources.Of(limits, "cpu"), $"{container.Name} cpu limit over the LimitRange max");
            Assert.True(PodResources.Of(container.Resources.Limits, "memory") <= PodResources.Of(limits, "memory"), $"{container.Name} memory limit over the LimitRange max");
        }

        var hard = chart.All<V1ResourceQuota>().Single().Spec.Hard;
        foreach (var resource in new[] { "cpu", "memory" })
        {
            var sum = chart.Pods.Sum(p => p.Replicas * PodResources.Limits(p.Spec, resource));
            Assert.True(sum <= PodResources.Of(hard, $"limits.{resource}"), $"{resource} limits {sum} exceed the quota with a clone's bootstrap");
        }

        var policies = chart.All<V1NetworkPolicy>().ToList();
        policies.ForEach(p => p.Metadata.NamespaceProperty = StoreChart.Namespace);
        var network = new NetworkPolicyEvaluator(policies);
        var mysql = Endpoint(chart.Pods.Single(p => p.OwnerKind == "StatefulSet"));
        Assert.True(network.Allows(new Connection(Endpoint(bootstrap), RepositoryEndpoint, 443)), "clone bootstrap -> repository");
        Assert.True(network.Allows(new Connection(Endpoint(bootstrap), mysql, 3306)), "clone bootstrap -> MySQL");
        Assert.False(network.Allows(new Connection(Endpoint(bootstrap), CloudMetadata, 443)), "clone bootstrap -> cloud metadata");
        Assert.False(network.Allows(new Connection(Endpoint(chart.Pods.Single(p => p.OwnerKind == "Deployment")), RepositoryEndpoint, 443)), "WordPress -> repository");
    }

    [Fact]
    public async Task WithoutBackups_NothingOfThemIsRendered()
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));

        Assert.Empty(BackupPods(chart));
        Assert.DoesNotContain(chart.All<V1NetworkPolicy>(), p => p.Metadata.Name.EndsWith("backup-egress", StringComparison.Ordinal));
        Assert.DoesNotContain(chart.Pods.SelectMany(p => p.AllContainers), c => c.Image.StartsWith("restic/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheBackupPod_TakesItsIdFromItsJob_AndItsSecretsFromSecretsOnly()
    {
        var chart = await StoreChart.RenderAsync(WithBackups("values-prod.yaml", "small"));
        var cronJob = chart.Named<V1CronJob>("demo-backup");
        var pod = cronJob.Spec.JobTemplate.Spec.Template.Spec;
        var upload = pod.Containers.Single(c => c.Name == "upload");

        Assert.Equal("Forbid", cronJob.Spec.ConcurrencyPolicy);
        Assert.Equal("Etc/UTC", cronJob.Spec.TimeZone);
        Assert.Equal("metadata.labels['batch.kubernetes.io/job-name']", upload.Env.Single(e => e.Name == "BACKUP_ID").ValueFrom.FieldRef.FieldPath);
        Assert.Equal(Repository, upload.Env.Single(e => e.Name == "RESTIC_REPOSITORY_BASE").Value);
        Assert.Equal("demo-backup-credentials", upload.EnvFrom.Single().SecretRef.Name);
        Assert.True(upload.EnvFrom.Single().SecretRef.Optional);
        Assert.Equal("demo-backup-password", pod.Volumes.Single(v => v.Name == "restic-password").Secret.SecretName);
        Assert.True(upload.VolumeMounts.Single(m => m.Name == "html").ReadOnlyProperty, "the backup reads the WordPress volume read-only");
        // No value of any container's environment is a literal secret: every secret comes from a Secret reference.
        foreach (var container in BackupPods(chart).SelectMany(p => p.AllContainers))
        {
            Assert.All(container.Env ?? [], e => Assert.False(
                e.Name.Contains("PASSWORD", StringComparison.Ordinal) && e.Name != "RESTIC_PASSWORD_FILE" && e.ValueFrom?.SecretKeyRef is null,
                $"{container.Name} sets {e.Name} from a value"));
            Assert.All(container.Command ?? [], arg => Assert.DoesNotContain("password", arg, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task WhileABackupIsRestored_WordPressIsStopped_AndTheRestoreRunsWhereverTheVolumeIs()
    {
        var chart = await StoreChart.RenderAsync(Restoring("values-local.yaml", "small"));
        var restore = chart.Named<V1Job>("demo-restore-rs-1a2b");

        Assert.Equal(0, chart.Named<V1Deployment>("demo-wordpress").Spec.Replicas);
        Assert.Null(restore.Spec.Template.Spec.Affinity);
        Assert.Equal(["fetch", "database"], restore.Spec.Template.Spec.InitContainers.Select(c => c.Name));
        Assert.Equal("files", restore.Spec.Template.Spec.Containers.Single().Name);
        var fetch = restore.Spec.Template.Spec.InitContainers[0];
        Assert.Equal("4f3c2d1e", fetch.Env.Single(e => e.Name == "RESTORE_SNAPSHOT").Value);
        Assert.Equal("demo", fetch.Env.Single(e => e.Name == "SOURCE_STORE").Value);

        var after = await StoreChart.RenderAsync(WithBackups("values-local.yaml", "small"));
        Assert.Equal(1, after.Named<V1Deployment>("demo-wordpress").Spec.Replicas);
        Assert.DoesNotContain(after.All<V1Job>(), j => j.Metadata.Name.StartsWith("demo-restore-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithTheLongestStoreName_EveryNameFitsWhatTheApiServerAccepts()
    {
        // Store names are at most 40 characters; restore ids at most 14.
        var release = new string('s', 40);
        var chart = await StoreChart.RenderAsync(Restoring("values-prod.yaml", "small").With("restore.id", "rs-0123456789a"), release, $"store-{release}");

        Assert.All(chart.All<V1CronJob>(), c => Assert.True(c.Metadata.Name.Length <= 52, $"CronJob {c.Metadata.Name} is longer than 52 characters"));
        // The CronJob controller names its Jobs <cronjob>-<8 digits>; a Job's name is also a label value (63 at most).
        Assert.All(chart.All<V1CronJob>(), c => Assert.True(c.Metadata.Name.Length + 9 <= 63, $"Jobs of {c.Metadata.Name} would be longer than 63 characters"));
        Assert.All(chart.All<V1Job>(), j => Assert.True(j.Metadata.Name.Length <= 63, $"Job {j.Metadata.Name} is longer than 63 characters"));
        // An on-demand backup: <release>-backup-m<unix seconds>.
        Assert.True($"{release}-backup-m{DateTimeOffset.MaxValue.ToUnixTimeSeconds()}".Length <= 63);
        Assert.All(chart.All<V1CronJob>(), c => Assert.True(c.Spec.Suspend, $"{c.Metadata.Name} runs during a restore"));
    }

    [Theory]
    [InlineData("backup.repository=rest:https://user:secret@backup.example.com/storefleet", "backup.repository")]
    [InlineData("restore.id=Bad_Id", "restore.id")]
    [InlineData("restore.id=rs-0123456789ab", "restore.id")]
    [InlineData("restore.snapshot=latest", "restore.snapshot")]
    [InlineData("backup.schedule=every day", "backup.schedule")]
    public async Task BadBackupValues_AreRefusedBeforeAnythingIsInstalled(string setting, string field)
    {
        var (key, value) = (setting[..setting.IndexOf('=', StringComparison.Ordinal)], setting[(setting.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        var values = WithBackups("values-local.yaml", "small").With("restore.snapshot", "4f3c2d1e").With(key, value);

        var result = await HelmCli.RunAsync(["template", StoreChart.Release, StoreChart.Path, "-n", StoreChart.Namespace, .. values.ToArguments()]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(field[(field.IndexOf('.', StringComparison.Ordinal) + 1)..], result.Stderr);
    }

    private static IEnumerable<RenderedPod> BackupPods(RenderedChart chart) =>
        chart.Pods.Where(p => p.Labels.GetValueOrDefault("app.kubernetes.io/component") is "backup" or "restore");

    private static PodEndpoint Endpoint(RenderedPod pod) => new(StoreChart.Namespace, pod.Labels);
}

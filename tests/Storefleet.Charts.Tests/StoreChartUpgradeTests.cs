using k8s.Models;
using Storefleet.Testing.Charts.Networking;
using Storefleet.Testing.Charts.PodSecurity;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>
/// An upgrade's Jobs, as the control plane asks for them (upgrade.generation, upgrade.snapshot): the snapshot and
/// migrations run before anything else can use the new schema, the restore Job waits suspended, both are restricted
/// pods inside the store's network policies, and no secret is ever a literal.
/// </summary>
public sealed class StoreChartUpgradeTests
{
    private static Task<RenderedChart> RenderAsync(string generation, string snapshot, string file = "values-local.yaml") =>
        StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small").With("upgrade.generation", generation).With("upgrade.snapshot", snapshot));

    [Fact]
    public async Task WithoutAnUpgrade_ThereIsNoUpgradeJob()
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));

        Assert.DoesNotContain(chart.All<V1Job>(), j => j.Metadata.Name.Contains("-upgrade-", StringComparison.Ordinal) || j.Metadata.Name.Contains("-restore-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUpgradeWithASnapshot_DumpsTheDatabaseAndCode_ThenCopiesCoreFiles_ThenMigrates_AndCanBeRestored()
    {
        var chart = await RenderAsync("7", "true");

        var upgrade = Job(chart, "demo-upgrade-7-");
        Assert.Equal("7", upgrade.Metadata.Labels["storefleet.io/upgrade-generation"]);
        Assert.Equal("upgrade", upgrade.Metadata.Labels["app.kubernetes.io/component"]);
        Assert.True(upgrade.Metadata.Annotations is null || !upgrade.Metadata.Annotations.ContainsKey("helm.sh/hook"), "a hook would make helm wait for the migrations");
        Assert.Equal(0, upgrade.Spec.BackoffLimit);
        Assert.Null(upgrade.Spec.Suspend);
        Assert.Equal(["snapshot-database", "snapshot-files", "core-files"], upgrade.Spec.Template.Spec.InitContainers.Select(c => c.Name));
        Assert.Equal(["migrate"], upgrade.Spec.Template.Spec.Containers.Select(c => c.Name));
        Assert.StartsWith("mysql:", upgrade.Spec.Template.Spec.InitContainers[0].Image, StringComparison.Ordinal);
        Assert.StartsWith("wordpress:6.8.3", upgrade.Spec.Template.Spec.InitContainers[2].Image, StringComparison.Ordinal);

        var restore = Job(chart, "demo-restore-7-");
        Assert.True(restore.Spec.Suspend, "the restore Job runs only when the control plane starts it");
        Assert.Equal("7", restore.Metadata.Labels["storefleet.io/restore-generation"]);
        Assert.Equal(["restore-files"], restore.Spec.Template.Spec.InitContainers.Select(c => c.Name));
        Assert.Equal(["restore-database"], restore.Spec.Template.Spec.Containers.Select(c => c.Name));
    }

    [Fact]
    public async Task AnUpgradeWithoutAppVersionChanges_MigratesWithoutASnapshot_AndHasNothingToRestore()
    {
        var chart = await RenderAsync("4", "false");

        Assert.Equal(["core-files"], Job(chart, "demo-upgrade-4-").Spec.Template.Spec.InitContainers.Select(c => c.Name));
        Assert.DoesNotContain(chart.All<V1Job>(), j => j.Metadata.Name.StartsWith("demo-restore-4", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(StoreChart.Files), MemberType = typeof(StoreChart))]
    public async Task TheUpgradePods_AreRestricted_RunBesideWordPress_AndTakePasswordsOnlyFromTheSecret(string file)
    {
        var chart = await RenderAsync("2", "true", file);
        var pods = chart.Pods.Where(p => p.Labels.TryGetValue("app.kubernetes.io/component", out var c) && c == "upgrade").ToList();

        Assert.Equal(2, pods.Count);
        foreach (var pod in pods)
        {
            Assert.Empty(RestrictedPodSecurity.Violations(pod.Spec, pod.Metadata?.Annotations));
            Assert.False(pod.Spec.AutomountServiceAccountToken ?? true);
            Assert.Equal("Never", pod.Spec.RestartPolicy);
            Assert.All(pod.AllContainers.SelectMany(c => c.Env ?? []).Where(e => e.Name.Contains("PWD", StringComparison.Ordinal) || e.Name.Contains("PASSWORD", StringComparison.Ordinal)),
                env => Assert.True(env.Value is null && env.ValueFrom?.SecretKeyRef is not null, $"{pod}: {env.Name} is not from the Secret"));
            Assert.All(pod.AllContainers, c => Assert.Contains(c.VolumeMounts, m => m.Name == "html" && m.MountPath == "/var/www/html"));
        }
    }

    [Fact]
    public async Task AChartChange_RenamesTheJobs_InsteadOfHittingTheirImmutableTemplate()
    {
        var before = await RenderAsync("5", "true");
        var after = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small")
            .With("upgrade.generation", "5").With("upgrade.snapshot", "true").With("images.wordpress.tag", "6.9.0-php8.3-apache"));

        Assert.NotEqual(Job(before, "demo-upgrade-5-").Metadata.Name, Job(after, "demo-upgrade-5-").Metadata.Name);
        Assert.Equal(Job(before, "demo-upgrade-5-").Metadata.Name, Job(await RenderAsync("5", "true"), "demo-upgrade-5-").Metadata.Name);
    }

    [Fact]
    public async Task OnlyTheDumpAndRestoreContainers_GetTheDatabaseRootPassword()
    {
        var chart = await RenderAsync("2", "true");
        var containers = chart.Pods.Where(p => p.OwnerName.Contains("-upgrade-", StringComparison.Ordinal) || p.OwnerName.Contains("-restore-", StringComparison.Ordinal))
            .SelectMany(p => p.AllContainers).ToList();

        var withRoot = containers.Where(c => (c.Env ?? []).Any(e => e.ValueFrom?.SecretKeyRef?.Key == "mysql-root-password")).Select(c => c.Name).Order().ToList();
        Assert.Equal(["restore-database", "snapshot-database"], withRoot);
    }

    [Fact]
    public async Task TheSnapshots_AreNeverServed()
    {
        var chart = await RenderAsync("2", "true");
        var site = chart.Named<V1ConfigMap>("demo-apache").Data["000-default.conf"];

        Assert.Contains("<Directory /var/www/html/.storefleet>", site, StringComparison.Ordinal);
        Assert.Contains("Require all denied", site, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheUpgradePods_ReachMySqlAndWordPressOrg_AndNothingReachesThem()
    {
        var chart = await RenderAsync("2", "true");
        var policies = chart.All<V1NetworkPolicy>().ToList();
        policies.ForEach(p => p.Metadata.NamespaceProperty = StoreChart.Namespace);
        var evaluator = new NetworkPolicyEvaluator(policies);
        PodEndpoint Pod(string owner) => new(StoreChart.Namespace, chart.Pods.First(p => p.OwnerName.StartsWith(owner, StringComparison.Ordinal)).Labels);
        var (upgrade, restore, mysql, wordpress) = (Pod("demo-upgrade-2-"), Pod("demo-restore-2-"), Pod("demo-mysql"), Pod("demo-wordpress"));

        foreach (var pod in new[] { upgrade, restore })
        {
            Assert.True(evaluator.Allows(new Connection(pod, mysql, 3306)), "upgrade -> MySQL");
            Assert.True(evaluator.Allows(new Connection(pod, ExternalEndpoint.Parse("93.184.216.34"), 443)), "upgrade -> wordpress.org :443");
            Assert.False(evaluator.Allows(new Connection(pod, ExternalEndpoint.Parse("10.0.0.5"), 443)), "upgrade -> private network");
            Assert.False(evaluator.Allows(new Connection(wordpress, pod, 8080)), "WordPress -> upgrade pod");
        }
    }

    private static V1Job Job(RenderedChart chart, string prefix) =>
        chart.All<V1Job>().Single(j => j.Metadata.Name.StartsWith(prefix, StringComparison.Ordinal));
}

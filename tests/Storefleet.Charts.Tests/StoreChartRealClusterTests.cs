using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s.Models;
using Storefleet.Testing;
using Storefleet.Testing.Charts.Quota;
using Storefleet.Testing.Charts.Rendering;
using Storefleet.Testing.KubeApi.Schema;

namespace Storefleet.Charts.Tests;

/// <summary>
/// What the official images and real clusters need that a test double never shows: Apache's workers bounded
/// by the memory limit, MySQL's data directory off the volume's root, WP-Cron run by a CronJob, and TLS
/// either per store (cert-manager HTTP-01) or from one wildcard certificate.
/// </summary>
public sealed partial class StoreChartRealClusterTests
{
    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task ApachesWorkers_TimesTheirMemoryBudget_FitWordPressMemoryLimit(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan));
        var config = chart.Named<V1ConfigMap>("demo-apache").Data;
        var workers = int.Parse(Directive().Match(config["mpm_prefork.conf"]).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var serverLimit = int.Parse(ServerLimit().Match(config["mpm_prefork.conf"]).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var phpLimitMi = int.Parse(PhpMemoryLimit().Match(config["zz-storefleet.ini"]).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var apache = ChartDefaults()["wordpress"]!["apache"]!;
        var overheadMi = apache["workerOverheadMi"]!.GetValue<int>();
        var baseMi = apache["baseMi"]!.GetValue<int>();
        var wordpress = chart.Pods.Single(p => p.OwnerKind == "Deployment").Spec.Containers.Single(c => c.Name == "wordpress");
        var limit = PodResources.Of(wordpress.Resources.Limits, "memory");

        var needed = ((workers * (phpLimitMi + overheadMi)) + baseMi) * 1024m * 1024m;
        Assert.True(needed <= limit, $"{plan}: {workers} workers × ({phpLimitMi} + {overheadMi}) Mi + {baseMi} Mi = {needed / 1024 / 1024} Mi > the {limit / 1024 / 1024} Mi limit");
        Assert.Equal(workers, serverLimit);
        Assert.InRange(workers, 2, 150);

        // WordPress raises PHP's limit to WP_MEMORY_LIMIT when it is higher: they must agree.
        var extra = wordpress.Env.Single(e => e.Name == "WORDPRESS_CONFIG_EXTRA").Value;
        Assert.Contains($"define('WP_MEMORY_LIMIT', '{phpLimitMi}M');", extra);
        Assert.Contains($"define('WP_MAX_MEMORY_LIMIT', '{phpLimitMi}M');", extra);
        var mounts = wordpress.VolumeMounts.ToDictionary(m => m.MountPath, m => m.SubPath);
        Assert.Equal("mpm_prefork.conf", mounts["/etc/apache2/mods-available/mpm_prefork.conf"]);
        Assert.Equal("zz-storefleet.ini", mounts["/usr/local/etc/php/conf.d/zz-storefleet.ini"]);
    }

    [Theory]
    [MemberData(nameof(StoreChart.Files), MemberType = typeof(StoreChart))]
    public async Task MySqlData_LivesInASubdirectoryOfItsVolume_SoLostAndFoundNeverBlocksInitialisation(string file)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small"));
        var mysql = chart.Named<V1StatefulSet>("demo-mysql").Spec.Template.Spec;

        var data = mysql.Containers.Single(c => c.Name == "mysql").VolumeMounts.Single(m => m.Name == "data");
        Assert.Equal(("/var/lib/mysql", "datadir"), (data.MountPath, data.SubPath));
        var layout = Assert.Single(mysql.InitContainers);
        Assert.Equal(["sh", "/scripts/datadir-layout.sh", "/volume"], layout.Command);
        Assert.Contains(layout.VolumeMounts, m => m.Name == "data" && m.MountPath == "/volume" && m.SubPath is null);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(StoreChart.Path, "files", "datadir-layout.sh")), chart.Named<V1ConfigMap>("demo-mysql").Data["datadir-layout.sh"].TrimEnd() + "\n");
    }

    [Theory]
    [MemberData(nameof(StoreChart.Files), MemberType = typeof(StoreChart))]
    public async Task WpCron_RunsFromACronJob_AndNotFromPageLoads(string file)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small"));
        var disabled = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small").With("wordpress.cron.enabled", "false"));

        var cron = chart.Named<V1CronJob>("demo-cron");
        Assert.Equal("*/5 * * * *", cron.Spec.Schedule);
        Assert.Equal("Forbid", cron.Spec.ConcurrencyPolicy);
        var pod = cron.Spec.JobTemplate.Spec.Template.Spec;
        Assert.Contains("wp cron event run --due-now", string.Join(' ', pod.Containers.Single().Command));
        Assert.Equal("cron", cron.Spec.JobTemplate.Metadata.Labels["app.kubernetes.io/component"]);
        Assert.Equal(33, pod.SecurityContext.RunAsUser);
        Assert.NotNull(pod.Affinity?.PodAffinity);
        var wordpress = chart.Pods.Single(p => p.OwnerKind == "Deployment").Spec.Containers.Single(c => c.Name == "wordpress");
        Assert.Contains("define('DISABLE_WP_CRON', true);", wordpress.Env.Single(e => e.Name == "WORDPRESS_CONFIG_EXTRA").Value);
        Assert.Contains("define('DISABLE_WP_CRON', true);", pod.Containers.Single().Env.Single(e => e.Name == "WORDPRESS_CONFIG_EXTRA").Value);

        Assert.Empty(disabled.All<V1CronJob>());
        var pageLoads = disabled.Pods.Single(p => p.OwnerKind == "Deployment").Spec.Containers.Single(c => c.Name == "wordpress");
        Assert.DoesNotContain("DISABLE_WP_CRON", pageLoads.Env.Single(e => e.Name == "WORDPRESS_CONFIG_EXTRA").Value);
    }

    [Fact]
    public async Task AWildcardCertificate_IsTheControllersDefault_SoTheIngressNamesNoSecretAndRequestsNoCertificate()
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-prod.yaml", "small")
            .With("ingress.tls.clusterIssuer", "").With("ingress.tls.wildcard", "true"));

        var ingress = chart.Named<V1Ingress>("demo");
        var tls = Assert.Single(ingress.Spec.Tls);
        Assert.Equal(["demo.shops.example.com"], tls.Hosts);
        Assert.Null(tls.SecretName);
        Assert.DoesNotContain("cert-manager.io/cluster-issuer", ingress.Metadata.Annotations?.Keys ?? []);
    }

    [Fact]
    public async Task AWildcardCertificateAndAnIssuer_AreRefusedWithAClearMessage()
    {
        var values = StoreChart.AsControlPlaneInstalls("values-prod.yaml", "small").With("ingress.tls.wildcard", "true");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => HelmCli.TemplateAsync(StoreChart.Path, "demo", "store-demo", values));

        Assert.Contains("ingress.tls.wildcard and ingress.tls.clusterIssuer exclude each other", error.Message);
    }

    [Theory]
    [MemberData(nameof(StoreChart.PlanIds), MemberType = typeof(StoreChart))]
    public async Task WithPerStoreCertificates_TheQuotaAlsoAdmitsCertManagersSolver(string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-prod.yaml", plan));
        var hard = chart.All<V1ResourceQuota>().Single().Spec.Hard;
        var solver = new V1PodSpec
        {
            // cert-manager's default solver resources (--acme-http01-solver-resource-request/limit-*).
            Containers = [new V1Container { Name = "acmesolver", Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("64Mi") },
                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("64Mi") },
            } }],
        };
        var specs = chart.Pods.Select(p => p.Spec).Append(solver).ToList();

        Assert.True(specs.Count <= PodResources.Of(hard, "pods"), "pods exceed the quota");
        foreach (var resource in new[] { "cpu", "memory" })
        {
            Assert.True(specs.Sum(s => PodResources.Requests(s, resource)) <= PodResources.Of(hard, $"requests.{resource}"), $"{resource} requests exceed the quota");
            Assert.True(specs.Sum(s => PodResources.Limits(s, resource)) <= PodResources.Of(hard, $"limits.{resource}"), $"{resource} limits exceed the quota");
        }

        Assert.Equal(0, PodResources.Of(hard, "services.nodeports"));
    }

    private static JsonNode ChartDefaults() => TypedYaml.Parse(File.ReadAllText(Path.Combine(StoreChart.Path, "values.yaml")))!;

    [GeneratedRegex(@"MaxRequestWorkers\s+(\d+)")]
    private static partial Regex Directive();

    [GeneratedRegex(@"ServerLimit\s+(\d+)")]
    private static partial Regex ServerLimit();

    [GeneratedRegex(@"memory_limit\s*=\s*(\d+)M")]
    private static partial Regex PhpMemoryLimit();
}

/// <summary>
/// The data directory layout script the MySQL pod's init container runs, executed here with /bin/sh on
/// directories shaped like real volumes: a fresh ext4 volume, one written before the layout, a move that
/// was interrupted, and one already laid out.
/// </summary>
public sealed class DatadirLayoutScriptTests : IDisposable
{
    private static readonly string Script = Path.Combine(StoreChart.Path, "files", "datadir-layout.sh");
    private readonly string _volume = Directory.CreateTempSubdirectory("mysql-volume-").FullName;

    public void Dispose() => Directory.Delete(_volume, recursive: true);

    [Fact]
    public async Task AFreshExt4Volume_GetsAnEmptyDatadir_AndLostAndFoundIsLeftAlone()
    {
        Directory.CreateDirectory(Path.Combine(_volume, "lost+found"));

        await RunAsync();

        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_volume, "datadir")));
        Assert.True(Directory.Exists(Path.Combine(_volume, "lost+found")));
    }

    [Fact]
    public async Task AVolumeWrittenBeforeTheLayout_HasItsDataMovedIntoDatadir_ByteForByte()
    {
        Directory.CreateDirectory(Path.Combine(_volume, "lost+found"));
        Directory.CreateDirectory(Path.Combine(_volume, "mysql"));
        Directory.CreateDirectory(Path.Combine(_volume, "wordpress"));
        await File.WriteAllTextAsync(Path.Combine(_volume, "ibdata1"), "innodb system tablespace");
        await File.WriteAllTextAsync(Path.Combine(_volume, "wordpress", "wp_posts.ibd"), "posts");
        await File.WriteAllTextAsync(Path.Combine(_volume, ".hidden"), "dotfile");

        var output = await RunAsync();

        Assert.Contains("moving the data directory", output);
        Assert.Equal(["datadir", "lost+found"], Directory.EnumerateFileSystemEntries(_volume).Select(Path.GetFileName).Order());
        Assert.Equal("innodb system tablespace", await File.ReadAllTextAsync(Path.Combine(_volume, "datadir", "ibdata1")));
        Assert.Equal("posts", await File.ReadAllTextAsync(Path.Combine(_volume, "datadir", "wordpress", "wp_posts.ibd")));
        Assert.Equal("dotfile", await File.ReadAllTextAsync(Path.Combine(_volume, "datadir", ".hidden")));
        Assert.True(Directory.Exists(Path.Combine(_volume, "datadir", "mysql")));
    }

    [Fact]
    public async Task AnInterruptedMove_IsCompletedOnTheNextStart()
    {
        Directory.CreateDirectory(Path.Combine(_volume, ".datadir-moving", "mysql"));
        await File.WriteAllTextAsync(Path.Combine(_volume, ".datadir-moving", "ibdata1"), "moved before the crash");
        Directory.CreateDirectory(Path.Combine(_volume, "wordpress"));
        await File.WriteAllTextAsync(Path.Combine(_volume, "wordpress", "wp_posts.ibd"), "still at the root");

        await RunAsync();

        Assert.Equal(["datadir"], Directory.EnumerateFileSystemEntries(_volume).Select(Path.GetFileName));
        Assert.Equal("moved before the crash", await File.ReadAllTextAsync(Path.Combine(_volume, "datadir", "ibdata1")));
        Assert.Equal("still at the root", await File.ReadAllTextAsync(Path.Combine(_volume, "datadir", "wordpress", "wp_posts.ibd")));
    }

    [Fact]
    public async Task AVolumeAlreadyLaidOut_IsNotTouched()
    {
        Directory.CreateDirectory(Path.Combine(_volume, "datadir", "mysql"));
        await File.WriteAllTextAsync(Path.Combine(_volume, "stray"), "not ours");

        await RunAsync();

        Assert.True(File.Exists(Path.Combine(_volume, "stray")));
        Assert.Equal(["mysql"], Directory.EnumerateFileSystemEntries(Path.Combine(_volume, "datadir")).Select(Path.GetFileName));
    }

    private async Task<string> RunAsync()
    {
        var result = await Cli.RunAsync("/bin/sh", [Script, _volume], new Dictionary<string, string>());
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout;
    }
}

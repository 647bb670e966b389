using k8s;
using k8s.Models;
using Storefleet.Testing;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>The bootstrap Job: decoupled from the infrastructure, re-runnable by generation, bounded, loud.</summary>
public sealed class StoreChartBootstrapTests
{
    private static readonly string ScriptsDirectory = Path.Combine(StoreChart.Path, "files");

    [Fact]
    public async Task ANewGeneration_ChangesTheJobAndNothingElse()
    {
        var first = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));
        var second = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small").With("bootstrap.generation", "2"));

        var firstJob = first.All<V1Job>().Single();
        var secondJob = second.All<V1Job>().Single();
        Assert.StartsWith("demo-bootstrap-1-", firstJob.Metadata.Name);
        Assert.StartsWith("demo-bootstrap-2-", secondJob.Metadata.Name);
        Assert.Equal("2", secondJob.Spec.Template.Metadata.Labels["storefleet.io/bootstrap-generation"]);
        Assert.Equal(Others(first), Others(second));

        static List<string> Others(RenderedChart chart) =>
            [.. chart.Objects.Where(o => o is not V1Job).Select(o => KubernetesYaml.Serialize(o))];
    }

    [Fact]
    public async Task AChangedJobTemplate_IsANewJob_NotAnImmutableFieldError()
    {
        var first = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));
        var changed = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small").With("bootstrap.currency", "EUR"));

        Assert.NotEqual(first.All<V1Job>().Single().Metadata.Name, changed.All<V1Job>().Single().Metadata.Name);
    }

    [Fact]
    public async Task TheJob_IsAPlainReleaseResource_Bounded_AndNeverRetriedForever()
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));
        var job = chart.All<V1Job>().Single();

        Assert.True(job.Metadata.Annotations is null || !job.Metadata.Annotations.ContainsKey("helm.sh/hook"), "a hook would tie the release's fate to the bootstrap");
        Assert.Equal(2, job.Spec.BackoffLimit);
        Assert.Equal(1500, job.Spec.ActiveDeadlineSeconds);
        Assert.Null(job.Spec.TtlSecondsAfterFinished);
        Assert.Equal("Never", job.Spec.Template.Spec.RestartPolicy);
    }

    [Fact]
    public async Task TheJob_RunsBesideWordPress_WhenTheVolumeIsReadWriteOnce_AndAnywhereWithReadWriteMany()
    {
        var once = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));
        var many = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "large")
            .With("wordpress.persistence.accessMode", "ReadWriteMany").With("wordpress.replicas", "2"));

        var term = once.All<V1Job>().Single().Spec.Template.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution.Single();
        Assert.Equal("kubernetes.io/hostname", term.TopologyKey);
        Assert.Equal("wordpress", term.LabelSelector.MatchLabels["app.kubernetes.io/component"]);
        Assert.Equal("Recreate", once.Named<V1Deployment>("demo-wordpress").Spec.Strategy.Type);
        Assert.Null(many.All<V1Job>().Single().Spec.Template.Spec.Affinity);
        Assert.Equal("RollingUpdate", many.Named<V1Deployment>("demo-wordpress").Spec.Strategy.Type);
        Assert.Equal(["ReadWriteMany"], many.Named<V1PersistentVolumeClaim>("demo-wordpress").Spec.AccessModes);
    }

    [Fact]
    public async Task JobNames_StayValidLabels_ForTheLongestStoreNameAndGeneration()
    {
        var release = new string('s', 40);
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small").With("bootstrap.generation", "9999"), release, "store-long");

        Assert.All(chart.Objects, o => Assert.True(o.Metadata.Name.Length <= 63, $"{o.Kind}/{o.Metadata.Name} is longer than 63"));
    }

    [Fact]
    public async Task TheDisabledBootstrap_RendersNoJob()
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small").With("bootstrap.enabled", "false"));

        Assert.Empty(chart.All<V1Job>());
    }

    [Fact]
    public void TheScript_PerformsEveryStoreStep_AndNeverSwallowsAFailure()
    {
        var script = File.ReadAllText(Path.Combine(ScriptsDirectory, "bootstrap.sh"));

        Assert.Contains("set -euo pipefail", script);
        Assert.DoesNotContain("|| true", script);
        Assert.DoesNotContain("--admin_password=", script);
        foreach (var step in new[]
        {
            "wp core is-installed", "wp core install", "wp rewrite structure '/%postname%/'",
            "wp plugin install woocommerce --version=", "wp plugin activate woocommerce",
            "wp theme install storefront --version=", "wp theme activate storefront",
            "wp wc tool run install_pages", "wp wc payment_gateway update cod --enabled=1",
            "woocommerce_currency", "woocommerce_default_country", "woocommerce_coming_soon no",
            "wp wc product list", "wp wc product create", "/scripts/smoke-test.sh",
        })
        {
            Assert.Contains(step, script);
        }

        var smoke = File.ReadAllText(Path.Combine(ScriptsDirectory, "smoke-test.sh"));
        Assert.Contains("/wp-json/wc/store/v1/products", smoke);
        Assert.Contains("/wp-json/wc/store/v1/cart", smoke);
    }

    [Theory]
    [InlineData("values-local.yaml", "http://shop.localtest.me")]
    [InlineData("values-prod.yaml", "https://shop.shops.example.com")]
    public async Task AStoreThatTookOverAWarmPoolMember_IsServedAndTitledAfterItself_AndItsBootstrapPersonalisesOnce(string file, string url)
    {
        var member = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small").With("ingress.enabled", "false"));
        var claimed = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small")
            .With("storeName", "shop").With("bootstrap.personaliseFrom", "pool-0a1b2c3d4e").With("bootstrap.generation", "2"));

        // The member has no Ingress; the store that took it over is served at its own host, under the member's release.
        Assert.Empty(member.All<V1Ingress>());
        var ingress = claimed.Named<V1Ingress>("demo");
        Assert.Equal(new Uri(url).Host, ingress.Spec.Rules.Single().Host);
        var env = claimed.All<V1Job>().Single().Spec.Template.Spec.Containers.Single().Env;
        Assert.Equal(url, env.Single(e => e.Name == "SITE_URL").Value);
        Assert.Equal("shop", env.Single(e => e.Name == "SITE_TITLE").Value);
        Assert.Equal("pool-0a1b2c3d4e", env.Single(e => e.Name == "PERSONALISE_FROM").Value);
        Assert.DoesNotContain(member.All<V1Job>().Single().Spec.Template.Spec.Containers.Single().Env, e => e.Name == "PERSONALISE_FROM");
        // Only the Ingress and the bootstrap Job differ: the workloads (and their pods) are the member's, untouched.
        Assert.Equal(Workloads(member), Workloads(claimed));

        var script = File.ReadAllText(Path.Combine(ScriptsDirectory, "bootstrap.sh"));
        foreach (var step in new[]
        {
            "storefleet_personalised_from", "wp search-replace \"$old_url\" \"$SITE_URL\"", "wp option update blogname \"$SITE_TITLE\"",
            "--prompt=user_pass", "wp config shuffle-salts", "wp user session destroy --all-users",
        })
        {
            Assert.Contains(step, script);
        }

        static List<string> Workloads(RenderedChart chart) =>
            [.. chart.Objects.Where(o => o is V1Deployment or V1StatefulSet).Select(o => KubernetesYaml.Serialize(o))];
    }

    [Theory]
    [InlineData("bootstrap.personaliseFrom", "shop")]
    [InlineData("bootstrap.personaliseFrom", "pool-$(id)")]
    [InlineData("storeName", "Shop")]
    [InlineData("storeName", "shop.example.com")]
    public async Task PersonalisationValues_AreChecked_BeforeAnythingRenders(string key, string value)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small").With(key, value)));
        Assert.Contains(key.Split('.')[^1], error.Message);
    }

    [Fact]
    public async Task TheScripts_PassShellcheck()
    {
        var shellcheck = new[] { "/usr/bin/shellcheck", "/usr/local/bin/shellcheck" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("shellcheck is not installed; scripts/bootstrap-tools.sh installs it (apt shellcheck).");

        var result = await Cli.RunAsync(shellcheck, ["--severity=style", .. Directory.GetFiles(ScriptsDirectory, "*.sh")]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Theory]
    [InlineData("values-local.yaml", "nginx", "demo.localtest.me", "http")]
    [InlineData("values-k3d.yaml", "traefik", "demo.localtest.me", "http")]
    [InlineData("values-prod.yaml", "traefik", "demo.shops.example.com", "https")]
    public async Task TheIngress_ServesTheStoreHost_AndTheSiteUrlFollowsIt(string file, string className, string host, string scheme)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small"));
        var ingress = chart.Named<V1Ingress>("demo");
        var env = chart.All<V1Job>().Single().Spec.Template.Spec.Containers.Single().Env;

        Assert.Equal(className, ingress.Spec.IngressClassName);
        Assert.Equal(host, ingress.Spec.Rules.Single().Host);
        Assert.Equal($"{scheme}://{host}", env.Single(e => e.Name == "SITE_URL").Value);
        Assert.DoesNotContain(ingress.Metadata.Annotations?.Keys ?? [], k => k.Contains("snippet", StringComparison.OrdinalIgnoreCase));
        if (scheme == "https")
        {
            Assert.Equal("demo-tls", ingress.Spec.Tls.Single().SecretName);
            Assert.Equal([host], ingress.Spec.Tls.Single().Hosts);
            Assert.Equal("letsencrypt-prod", ingress.Metadata.Annotations!["cert-manager.io/cluster-issuer"]);
        }
        else
        {
            Assert.Null(ingress.Spec.Tls);
        }
    }
}

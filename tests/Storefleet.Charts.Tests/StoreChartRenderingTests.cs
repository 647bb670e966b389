using k8s.Models;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>helm lint --strict and helm template for every values file and plan; strict typed parsing of every object.</summary>
public sealed class StoreChartRenderingTests
{
    private static readonly string[] ExpectedObjects =
    [
        "ServiceAccount/demo", "Secret/demo-credentials", "ConfigMap/demo-scripts", "ConfigMap/demo-apache",
        "PersistentVolumeClaim/demo-wordpress", "Service/demo-mysql", "Service/demo-wordpress",
        "StatefulSet/demo-mysql", "Deployment/demo-wordpress", "Ingress/demo", "Pod/demo-test-storefront",
        "ResourceQuota/demo-quota", "LimitRange/demo-limits", "NetworkPolicy/demo-default-deny",
        "NetworkPolicy/demo-allow-dns", "NetworkPolicy/demo-wordpress-ingress", "NetworkPolicy/demo-mysql-ingress",
        "NetworkPolicy/demo-wordpress-egress", "NetworkPolicy/demo-bootstrap-egress", "NetworkPolicy/demo-test-egress",
    ];

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task LintStrict_Passes(string file, string plan)
    {
        var result = await HelmCli.LintAsync(StoreChart.Path, ChartValues.From(StoreChart.ValuesFile(file)).With("plan", plan));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("0 chart(s) failed", result.Stdout);
    }

    [Fact]
    public async Task LintStrict_PassesWithTheChartDefaultsAlone()
    {
        var result = await HelmCli.LintAsync(StoreChart.Path, ChartValues.None);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task Template_RendersEveryObjectStrictlyTyped(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan));

        var names = chart.Objects.Select(o => $"{o.Kind}/{o.Metadata.Name}").ToList();
        Assert.All(ExpectedObjects.Where(e => e != "Secret/demo-credentials"), expected => Assert.Contains(expected, names));
        Assert.Single(chart.All<V1Job>());
        Assert.DoesNotContain("Secret/demo-credentials", names);
        Assert.All(chart.Objects, o => Assert.False(string.IsNullOrEmpty(o.ApiVersion)));
    }

    [Fact]
    public async Task Template_WithoutAnExistingSecret_CreatesOneKeptOnUninstall()
    {
        var chart = await StoreChart.RenderAsync(ChartValues.From(StoreChart.ValuesFile("values-local.yaml")));

        var secret = chart.Named<V1Secret>("demo-credentials");
        Assert.Equal(["mysql-password", "mysql-root-password", "wordpress-admin-password"], secret.Data.Keys.Order());
        Assert.Equal("keep", secret.Metadata.Annotations["helm.sh/resource-policy"]);
    }

    [Fact]
    public void StrictParse_RefusesAnUnknownField()
    {
        const string yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndataz:\n  a: b\n";

        Assert.ThrowsAny<Exception>(() => RenderedChart.Parse(yaml));
    }

    [Fact]
    public void StrictParse_RefusesAMistypedField()
    {
        const string yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: many\n  selector: {}\n  template: {}\n";

        Assert.ThrowsAny<Exception>(() => RenderedChart.Parse(yaml));
    }

    public static TheoryData<string, string, string> RefusedValues => new()
    {
        { "an unknown value", "bogus=1", "additional properties 'bogus' not allowed" },
        { "an image tagged latest", "images.mysql.tag=latest", "/images/mysql/tag" },
        { "an unknown plan", "plan=huge", "value must be one of 'small', 'medium', 'large'" },
        { "a snippet annotation", "ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/server-snippet=deny all", "invalid propertyName" },
        { "a non-integer generation", "bootstrap.generation=two", "/bootstrap/generation" },
        { "a zero generation", "bootstrap.generation=0", "/bootstrap/generation" },
        { "an invalid currency", "bootstrap.currency=dollars", "/bootstrap/currency" },
        { "an invalid storage quantity", "plans.small.mysql.storage=lots", "/plans/small/mysql/storage" },
        { "several WordPress replicas on a ReadWriteOnce volume", "wordpress.replicas=2", "needs wordpress.persistence.accessMode ReadWriteMany" },
    };

    [Theory]
    [MemberData(nameof(RefusedValues))]
    public async Task Template_RefusesBadValues_WithAMessageNamingThem(string because, string set, string expected)
    {
        var result = await HelmCli.RunAsync(["template", "demo", StoreChart.Path, "--set", set]);

        Assert.True(result.ExitCode != 0, $"{because} was accepted");
        Assert.Contains(expected, result.Stderr);
    }

    [Fact]
    public async Task Template_RefusesAReleaseNameLongerThanStoreNames()
    {
        var result = await HelmCli.RunAsync(["template", new string('a', 41), StoreChart.Path]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("longer than 40 characters", result.Stderr);
    }
}

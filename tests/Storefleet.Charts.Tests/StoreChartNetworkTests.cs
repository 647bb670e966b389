using k8s.Models;
using Storefleet.Testing.Charts.Networking;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>
/// The store chart's rendered NetworkPolicies, evaluated over its rendered pods, allow exactly the flows
/// a store needs — for ingress-nginx (kind) and Traefik (k3d/k3s, production) values.
/// </summary>
public sealed class StoreChartNetworkTests
{
    private static readonly ExternalEndpoint Internet = ExternalEndpoint.Parse("93.184.216.34");
    private static readonly ExternalEndpoint CloudMetadata = ExternalEndpoint.Parse("169.254.169.254");
    private static readonly ExternalEndpoint PrivateNetwork = ExternalEndpoint.Parse("10.0.0.5");
    private static readonly PodEndpoint Dns = new("kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" });
    private static readonly PodEndpoint ControlPlane = new("storefleet", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "storefleet" });
    private static readonly PodEndpoint NginxController = new("ingress-nginx", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "ingress-nginx" });
    private static readonly PodEndpoint TraefikController = new("kube-system", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "traefik" });
    private static readonly PodEndpoint SomethingInKubeSystem = new("kube-system", new Dictionary<string, string> { ["app"] = "metrics-server" });

    public static TheoryData<string> ValuesFiles => StoreChart.Files;

    [Theory]
    [InlineData("values-local.yaml", "nginx")]
    [InlineData("values-k3d.yaml", "traefik")]
    [InlineData("values-prod.yaml", "traefik")]
    public async Task TheIngressController_ReachesWordPress_ButNothingElse(string file, string controller)
    {
        var store = await StoreAsync(file);
        var ingress = controller == "nginx" ? NginxController : TraefikController;
        var wrongController = controller == "nginx" ? TraefikController : NginxController;

        Assert.True(store.Allows(new Connection(ingress, store.WordPress, 8080)), "ingress controller -> WordPress");
        Assert.False(store.Allows(new Connection(ingress, store.MySql, 3306)), "ingress controller -> MySQL");
        Assert.False(store.Allows(new Connection(wrongController, store.WordPress, 8080)), "another controller -> WordPress");
        Assert.False(store.Allows(new Connection(SomethingInKubeSystem, store.WordPress, 8080)), "any kube-system pod -> WordPress");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task TheControlPlane_ReachesWordPress(string file)
    {
        var store = await StoreAsync(file);

        Assert.True(store.Allows(new Connection(ControlPlane, store.WordPress, 8080)));
        Assert.False(store.Allows(new Connection(ControlPlane, store.MySql, 3306)));
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task AnotherStoresNamespace_ReachesNeitherWordPressNorMySql(string file)
    {
        var store = await StoreAsync(file);
        // Another store's pods carry the same component labels, under their own release, in their namespace.
        var otherWordPress = store.WordPress with { Namespace = "store-other" };
        var otherBootstrap = store.Bootstrap with { Namespace = "store-other" };

        foreach (var intruder in new[] { otherWordPress, otherBootstrap })
        {
            Assert.False(store.Evaluator.IngressAllows(new Connection(intruder, store.WordPress, 8080)), $"{intruder} -> WordPress");
            Assert.False(store.Evaluator.IngressAllows(new Connection(intruder, store.MySql, 3306)), $"{intruder} -> MySQL");
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task WordPress_ReachesMySql_AndNotTheInternet(string file)
    {
        var store = await StoreAsync(file);

        Assert.True(store.Allows(new Connection(store.WordPress, store.MySql, 3306)), "WordPress -> MySQL");
        Assert.False(store.Allows(new Connection(store.WordPress, store.MySql, 33060)), "WordPress -> MySQL X protocol");
        Assert.False(store.Allows(new Connection(store.WordPress, Internet, 443)), "WordPress -> internet :443");
        Assert.False(store.Allows(new Connection(store.WordPress, Internet, 80)), "WordPress -> internet :80");
        Assert.False(store.Allows(new Connection(store.MySql, Internet, 443)), "MySQL -> internet");
        Assert.False(store.Allows(new Connection(store.MySql, store.WordPress, 8080)), "MySQL -> WordPress");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task EveryPod_ResolvesNamesThroughClusterDns_Only(string file)
    {
        var store = await StoreAsync(file);

        foreach (var pod in new[] { store.WordPress, store.MySql, store.Bootstrap, store.Test })
        {
            Assert.True(store.Allows(new Connection(pod, Dns, 53, "UDP")), $"{pod} -> DNS/UDP");
            Assert.True(store.Allows(new Connection(pod, Dns, 53, "TCP")), $"{pod} -> DNS/TCP");
            Assert.False(store.Allows(new Connection(pod, ExternalEndpoint.Parse("8.8.8.8"), 53, "UDP")), $"{pod} -> public DNS");
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task TheBootstrapJob_DownloadsOver443_OnlyWhenEnabled_AndNeverFromPrivateRanges(string file)
    {
        var enabled = await StoreAsync(file);
        var disabled = await StoreAsync(file, "false");

        Assert.True(enabled.Allows(new Connection(enabled.Bootstrap, Internet, 443)), "bootstrap -> internet :443");
        Assert.False(enabled.Allows(new Connection(enabled.Bootstrap, Internet, 80)), "bootstrap -> internet :80");
        Assert.False(enabled.Allows(new Connection(enabled.Bootstrap, CloudMetadata, 443)), "bootstrap -> cloud metadata");
        Assert.False(enabled.Allows(new Connection(enabled.Bootstrap, PrivateNetwork, 443)), "bootstrap -> private network");
        Assert.True(enabled.Allows(new Connection(enabled.Bootstrap, enabled.MySql, 3306)), "bootstrap -> MySQL");
        Assert.True(enabled.Allows(new Connection(enabled.Bootstrap, enabled.WordPress, 8080)), "bootstrap -> WordPress");
        Assert.False(disabled.Allows(new Connection(disabled.Bootstrap, Internet, 443)), "bootstrap -> internet with egress disabled");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task TheHelmTestPod_ReachesWordPressOnly(string file)
    {
        var store = await StoreAsync(file);

        Assert.True(store.Allows(new Connection(store.Test, store.WordPress, 8080)));
        Assert.False(store.Allows(new Connection(store.Test, store.MySql, 3306)));
        Assert.False(store.Allows(new Connection(store.Test, Internet, 443)));
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task WpCronRuns_ReachMySql_AndNothingElse(string file)
    {
        var store = await StoreAsync(file);

        Assert.True(store.Allows(new Connection(store.Cron, store.MySql, 3306)), "cron -> MySQL");
        Assert.True(store.Allows(new Connection(store.Cron, Dns, 53, "UDP")), "cron -> DNS");
        Assert.False(store.Allows(new Connection(store.Cron, store.WordPress, 8080)), "cron -> WordPress");
        Assert.False(store.Allows(new Connection(store.Cron, Internet, 443)), "cron -> internet");
        Assert.False(store.Allows(new Connection(NginxController, store.Cron, 8080)), "ingress controller -> cron");
    }

    [Theory]
    [InlineData("values-local.yaml", "nginx")]
    [InlineData("values-prod.yaml", "traefik")]
    public async Task WithPerStoreCertificates_TheIngressControllerReachesCertManagersSolver_AndNobodyElseDoes(string file, string controller)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small")
            .With("ingress.tls.enabled", "true").With("ingress.tls.clusterIssuer", "letsencrypt-prod"));
        var store = new RenderedStore(chart);
        var ingress = controller == "nginx" ? NginxController : TraefikController;
        // The pod cert-manager starts in the store namespace for an HTTP-01 challenge (its label, its port).
        var solver = new PodEndpoint(StoreChart.Namespace, new Dictionary<string, string> { ["acme.cert-manager.io/http01-solver"] = "true", ["acme.cert-manager.io/http-domain"] = "1234" });

        Assert.True(store.Allows(new Connection(ingress, solver, 8089)), "ingress controller -> solver :8089");
        Assert.False(store.Allows(new Connection(ingress, solver, 8080)), "ingress controller -> solver :8080");
        Assert.False(store.Allows(new Connection(SomethingInKubeSystem, solver, 8089)), "another kube-system pod -> solver");
        Assert.False(store.Evaluator.IngressAllows(new Connection(store.WordPress with { Namespace = "store-other" }, solver, 8089)), "another store -> solver");
    }

    [Theory]
    [InlineData("false", "")]
    [InlineData("true", "")]
    public async Task WithoutPerStoreCertificates_NoSolverIsReachable(string tls, string issuer)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small")
            .With("ingress.tls.enabled", tls).With("ingress.tls.clusterIssuer", issuer).With("ingress.tls.wildcard", tls));
        var store = new RenderedStore(chart);
        var solver = new PodEndpoint(StoreChart.Namespace, new Dictionary<string, string> { ["acme.cert-manager.io/http01-solver"] = "true" });

        Assert.False(store.Allows(new Connection(NginxController, solver, 8089)));
        Assert.DoesNotContain(chart.All<V1NetworkPolicy>(), p => p.Metadata.Name.EndsWith("acme-solver-ingress", StringComparison.Ordinal));
    }

    private static async Task<RenderedStore> StoreAsync(string file, string bootstrapEgress = "true")
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small").With("networkPolicy.bootstrapEgress.enabled", bootstrapEgress));
        return new RenderedStore(chart);
    }

    /// <summary>The store's pods as network endpoints, and its policies placed in the store namespace.</summary>
    private sealed class RenderedStore
    {
        public RenderedStore(RenderedChart chart)
        {
            var policies = chart.All<V1NetworkPolicy>().ToList();
            policies.ForEach(p => p.Metadata.NamespaceProperty = StoreChart.Namespace);
            Evaluator = new NetworkPolicyEvaluator(policies);
            WordPress = Endpoint(chart, "Deployment");
            MySql = Endpoint(chart, "StatefulSet");
            Bootstrap = Endpoint(chart, "Job");
            Test = Endpoint(chart, "Pod");
            Cron = Endpoint(chart, "CronJob");
        }

        public PodEndpoint Cron { get; }

        public NetworkPolicyEvaluator Evaluator { get; }

        public PodEndpoint WordPress { get; }

        public PodEndpoint MySql { get; }

        public PodEndpoint Bootstrap { get; }

        public PodEndpoint Test { get; }

        public bool Allows(Connection connection) => Evaluator.Allows(connection);

        private static PodEndpoint Endpoint(RenderedChart chart, string ownerKind)
        {
            var pod = chart.Pods.Single(p => p.OwnerKind == ownerKind);
            var ports = pod.AllContainers.SelectMany(c => c.Ports ?? []).Where(p => p.Name is not null).ToDictionary(p => p.Name, p => p.ContainerPort);
            return new PodEndpoint(StoreChart.Namespace, pod.Labels, ports);
        }
    }
}

using k8s;
using k8s.Models;
using Storefleet.Testing.Charts.Networking;

namespace Storefleet.Charts.Tests;

/// <summary>NetworkPolicy semantics of the evaluator, one rule at a time.</summary>
public sealed class NetworkPolicyEvaluatorTests
{
    private static readonly PodEndpoint Web = Pod("shop", "web");
    private static readonly PodEndpoint Db = Pod("shop", "db");
    private static readonly PodEndpoint Other = Pod("elsewhere", "web");

    [Fact]
    public void WithNoPolicies_EverythingIsAllowed()
    {
        var evaluator = new NetworkPolicyEvaluator([]);

        Assert.True(evaluator.Allows(new Connection(Web, Db, 3306)));
        Assert.True(evaluator.Allows(new Connection(Web, ExternalEndpoint.Parse("8.8.8.8"), 443)));
    }

    [Fact]
    public void DefaultDeny_BlocksBothDirectionsForSelectedPodsOnly()
    {
        var evaluator = new NetworkPolicyEvaluator([DefaultDeny("shop")]);

        Assert.False(evaluator.Allows(new Connection(Web, Db, 3306)));
        Assert.False(evaluator.Allows(new Connection(Other, Web, 80)));
        Assert.False(evaluator.Allows(new Connection(Web, ExternalEndpoint.Parse("8.8.8.8"), 443)));
        Assert.True(evaluator.Allows(new Connection(Other, ExternalEndpoint.Parse("8.8.8.8"), 443)));
    }

    [Fact]
    public void APodSelectorPeer_MeansPodsOfThePolicysOwnNamespace()
    {
        var evaluator = new NetworkPolicyEvaluator([DefaultDeny("shop"), Policy("shop", """
            spec:
              podSelector: {matchLabels: {app: db}}
              ingress:
                - from: [{podSelector: {matchLabels: {app: web}}}]
            """), Policy("shop", """
            spec:
              podSelector: {matchLabels: {app: web}}
              policyTypes: [Egress]
              egress: [{}]
            """)]);

        Assert.True(evaluator.Allows(new Connection(Web, Db, 3306)));
        Assert.False(evaluator.Allows(new Connection(Other, Db, 3306)));
    }

    [Fact]
    public void ANamespaceSelectorPeer_MatchesByNamespaceLabels_AndWithAPodSelectorNeedsBoth()
    {
        var ingressNs = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["edge"] = new Dictionary<string, string> { ["role"] = "ingress" } };
        var evaluator = new NetworkPolicyEvaluator([Policy("shop", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress:
                - from:
                    - namespaceSelector: {matchLabels: {role: ingress}}
                      podSelector: {matchLabels: {app: proxy}}
            """)], ingressNs);

        Assert.True(evaluator.Allows(new Connection(Pod("edge", "proxy"), Web, 80)));
        Assert.False(evaluator.Allows(new Connection(Pod("edge", "other"), Web, 80)));
        Assert.False(evaluator.Allows(new Connection(Pod("elsewhere", "proxy"), Web, 80)));
    }

    [Fact]
    public void EveryNamespace_CarriesItsMetadataNameLabel()
    {
        var evaluator = new NetworkPolicyEvaluator([Policy("shop", """
            spec:
              podSelector: {}
              ingress:
                - from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [elsewhere]}]}}]
            """)]);

        Assert.True(evaluator.Allows(new Connection(Other, Web, 80)));
        Assert.False(evaluator.Allows(new Connection(Pod("third", "web"), Web, 80)));
    }

    [Fact]
    public void AnIpBlock_MatchesItsCidrMinusExcept_AndNeverPods()
    {
        var evaluator = new NetworkPolicyEvaluator([Policy("shop", """
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
                - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 169.254.0.0/16]}}]
                  ports: [{port: 443}]
            """)]);

        Assert.True(evaluator.Allows(new Connection(Web, ExternalEndpoint.Parse("93.184.216.34"), 443)));
        Assert.False(evaluator.Allows(new Connection(Web, ExternalEndpoint.Parse("10.1.2.3"), 443)));
        Assert.False(evaluator.Allows(new Connection(Web, ExternalEndpoint.Parse("169.254.169.254"), 443)));
        Assert.False(evaluator.Allows(new Connection(Web, ExternalEndpoint.Parse("93.184.216.34"), 80)));
        Assert.False(evaluator.Allows(new Connection(Web, Db, 443)));
    }

    [Fact]
    public void Ports_MatchByNumberNameRangeAndProtocol()
    {
        var named = Db with { NamedPorts = new Dictionary<string, int> { ["mysql"] = 3306 } };
        var evaluator = new NetworkPolicyEvaluator([Policy("shop", """
            spec:
              podSelector: {}
              ingress:
                - ports: [{port: mysql}, {port: 8000, endPort: 8010}, {port: 53, protocol: UDP}]
            """)]);

        Assert.True(evaluator.Allows(new Connection(Web, named, 3306)));
        Assert.False(evaluator.Allows(new Connection(Web, Db, 3306)));
        Assert.True(evaluator.Allows(new Connection(Web, Db, 8005)));
        Assert.False(evaluator.Allows(new Connection(Web, Db, 8011)));
        Assert.True(evaluator.Allows(new Connection(Web, Db, 53, "UDP")));
        Assert.False(evaluator.Allows(new Connection(Web, Db, 53)));
    }

    [Fact]
    public void WithoutPolicyTypes_APolicyGovernsEgressOnlyWhenItHasEgressRules()
    {
        var ingressOnly = new NetworkPolicyEvaluator([Policy("shop", "spec:\n  podSelector: {}\n")]);
        var both = new NetworkPolicyEvaluator([Policy("shop", "spec:\n  podSelector: {}\n  egress: [{ports: [{port: 53, protocol: UDP}]}]\n")]);

        Assert.True(ingressOnly.EgressAllows(new Connection(Web, Other, 80)));
        Assert.False(ingressOnly.IngressAllows(new Connection(Other, Web, 80)));
        Assert.False(both.EgressAllows(new Connection(Web, Other, 80)));
    }

    [Fact]
    public void MatchExpressions_InNotInExistsDoesNotExist()
    {
        var labels = new Dictionary<string, string> { ["tier"] = "web", ["env"] = "prod" };

        Assert.True(LabelSelectors.Matches(Selector("In", "tier", "web", "api"), labels));
        Assert.False(LabelSelectors.Matches(Selector("NotIn", "tier", "web"), labels));
        Assert.True(LabelSelectors.Matches(Selector("NotIn", "zone", "a"), labels));
        Assert.True(LabelSelectors.Matches(Selector("Exists", "env"), labels));
        Assert.False(LabelSelectors.Matches(Selector("DoesNotExist", "env"), labels));
        Assert.True(LabelSelectors.Matches(new V1LabelSelector(), labels));
    }

    private static V1LabelSelector Selector(string op, string key, params string[] values) => new()
    {
        MatchExpressions = [new V1LabelSelectorRequirement { Key = key, OperatorProperty = op, Values = values.Length > 0 ? values : null }],
    };

    private static PodEndpoint Pod(string ns, string app) => new(ns, new Dictionary<string, string> { ["app"] = app });

    private static V1NetworkPolicy DefaultDeny(string ns) =>
        Policy(ns, "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n");

    private static V1NetworkPolicy Policy(string ns, string spec) =>
        KubernetesYaml.Deserialize<V1NetworkPolicy>(
            $"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p{Guid.NewGuid():N}\n  namespace: {ns}\n{spec}", strict: true);
}

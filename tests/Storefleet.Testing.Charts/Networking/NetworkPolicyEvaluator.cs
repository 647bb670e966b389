using System.Net;
using k8s.Models;

namespace Storefleet.Testing.Charts.Networking;

/// <summary>One side of a connection: a pod (namespace, labels, named container ports) or an address outside the cluster.</summary>
public abstract record Endpoint;

public sealed record PodEndpoint(string Namespace, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, int>? NamedPorts = null) : Endpoint
{
    public override string ToString() => $"pod {Namespace}/{{{string.Join(",", Labels.Select(l => $"{l.Key}={l.Value}"))}}}";
}

public sealed record ExternalEndpoint(IPAddress Address) : Endpoint
{
    public static ExternalEndpoint Parse(string address) => new(IPAddress.Parse(address));

    public override string ToString() => $"address {Address}";
}

/// <summary>A connection attempt from one endpoint to a port of another.</summary>
public sealed record Connection(Endpoint From, Endpoint To, int Port, string Protocol = "TCP")
{
    public override string ToString() => $"{From} -> {To} :{Port}/{Protocol}";
}

/// <summary>
/// NetworkPolicy semantics (networking.k8s.io/v1) as a pure function: a connection is allowed when the
/// source's egress allows it and the destination's ingress allows it. A pod selected by no policy of
/// a direction is open in that direction; a selected pod admits only what some rule of a selecting
/// policy allows. Peers: podSelector (the policy's namespace), namespaceSelector (with an optional
/// podSelector), ipBlock (cidr minus except) — ipBlocks match only addresses outside the cluster here,
/// as pod IPs are not modelled. Ports: number or named container port, protocol (default TCP), endPort.
/// </summary>
public sealed class NetworkPolicyEvaluator
{
    private readonly IReadOnlyList<V1NetworkPolicy> _policies;
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _namespaceLabels;

    /// <param name="policies">Every policy of the cluster, each with its metadata.namespace set.</param>
    /// <param name="namespaceLabels">Labels of known namespaces; every namespace also carries kubernetes.io/metadata.name.</param>
    public NetworkPolicyEvaluator(IEnumerable<V1NetworkPolicy> policies, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? namespaceLabels = null)
    {
        _policies = [.. policies];
        if (_policies.FirstOrDefault(p => string.IsNullOrEmpty(p.Metadata?.NamespaceProperty)) is { } unplaced)
        {
            throw new ArgumentException($"policy {unplaced.Metadata?.Name} has no namespace", nameof(policies));
        }

        _namespaceLabels = namespaceLabels?.ToDictionary(kv => kv.Key, kv => kv.Value) ?? [];
    }

    public bool Allows(Connection connection) => EgressAllows(connection) && IngressAllows(connection);

    public bool EgressAllows(Connection c)
    {
        if (c.From is not PodEndpoint source)
        {
            return true;
        }

        var selecting = Selecting(source, "Egress").ToList();
        return selecting.Count == 0 || selecting.Any(p => (p.Spec.Egress ?? []).Any(rule =>
            PeersMatch(rule.To, p, c.To) && PortsMatch(rule.Ports, c)));
    }

    public bool IngressAllows(Connection c)
    {
        if (c.To is not PodEndpoint destination)
        {
            return true;
        }

        var selecting = Selecting(destination, "Ingress").ToList();
        return selecting.Count == 0 || selecting.Any(p => (p.Spec.Ingress ?? []).Any(rule =>
            PeersMatch(rule.FromProperty, p, c.From) && PortsMatch(rule.Ports, c)));
    }

    private IEnumerable<V1NetworkPolicy> Selecting(PodEndpoint pod, string direction) =>
        _policies.Where(p => p.Metadata.NamespaceProperty == pod.Namespace
            && PolicyTypes(p).Contains(direction)
            && LabelSelectors.Matches(p.Spec.PodSelector, pod.Labels));

    /// <summary>policyTypes, or when unset: Ingress always, Egress when the policy has egress rules.</summary>
    private static IReadOnlyCollection<string> PolicyTypes(V1NetworkPolicy p) =>
        p.Spec.PolicyTypes is { Count: > 0 } types ? [.. types] : p.Spec.Egress is { Count: > 0 } ? ["Ingress", "Egress"] : ["Ingress"];

    private bool PeersMatch(IList<V1NetworkPolicyPeer>? peers, V1NetworkPolicy policy, Endpoint other) =>
        peers is null || peers.Count == 0 || peers.Any(peer => PeerMatches(peer, policy, other));

    private bool PeerMatches(V1NetworkPolicyPeer peer, V1NetworkPolicy policy, Endpoint other)
    {
        if (peer.IpBlock is { } block)
        {
            return other is ExternalEndpoint external
                && Cidr.Contains(block.Cidr, external.Address)
                && !(block.Except ?? []).Any(e => Cidr.Contains(e, external.Address));
        }

        if (other is not PodEndpoint pod)
        {
            return false;
        }

        var namespaceMatches = peer.NamespaceSelector is null
            ? pod.Namespace == policy.Metadata.NamespaceProperty
            : LabelSelectors.Matches(peer.NamespaceSelector, LabelsOf(pod.Namespace));
        return namespaceMatches && (peer.PodSelector is null || LabelSelectors.Matches(peer.PodSelector, pod.Labels));
    }

    private static bool PortsMatch(IList<V1NetworkPolicyPort>? ports, Connection c) =>
        ports is null || ports.Count == 0 || ports.Any(port => PortMatches(port, c));

    private static bool PortMatches(V1NetworkPolicyPort port, Connection c)
    {
        if (!string.Equals(port.Protocol ?? "TCP", c.Protocol, StringComparison.Ordinal))
        {
            return false;
        }

        if (port.Port is null)
        {
            return true;
        }

        var value = port.Port.Value;
        if (int.TryParse(value, out var number))
        {
            return port.EndPort is { } end ? c.Port >= number && c.Port <= end : c.Port == number;
        }

        return c.To is PodEndpoint { NamedPorts: { } named } && named.TryGetValue(value, out var resolved) && resolved == c.Port;
    }

    private Dictionary<string, string> LabelsOf(string ns) =>
        new(_namespaceLabels.GetValueOrDefault(ns) ?? new Dictionary<string, string>())
        {
            ["kubernetes.io/metadata.name"] = ns,
        };
}

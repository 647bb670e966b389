using System.Net;

namespace Storefleet.Testing.Charts.Networking;

/// <summary>CIDR containment for IPv4 and IPv6 (an address of the other family is never contained).</summary>
public static class Cidr
{
    public static bool Contains(string cidr, IPAddress address) => IPNetwork.Parse(cidr).Contains(address);
}

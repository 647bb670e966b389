using System.Net;
using System.Net.Sockets;

namespace Storefleet.Testing;

/// <summary>
/// A port for a server a test starts. Picked below the kernel's ephemeral range (32768+ on Linux), so the
/// outgoing connections of the many processes a test run has cannot take it between the pick and the
/// server's bind (a port bound to 0 comes from that very range). Checked free when picked.
/// </summary>
public static class FreePort
{
    private const int First = 20000;
    private const int Last = 32000;

    public static int Next()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(First, Last);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: try another.
            }
        }

        throw new InvalidOperationException($"No free port between {First} and {Last} after 200 tries.");
    }
}

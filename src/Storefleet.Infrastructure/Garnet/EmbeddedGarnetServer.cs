using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Storefleet.Infrastructure.Garnet;

/// <summary>
/// A Garnet server in this process, listening on loopback only, persisting every write to an
/// append-only file under the data directory (committed before the write is acknowledged), and
/// recovering from it on start, so records survive both a restart and a crash.
/// One process at a time may use a data directory; a second one fails fast with a clear message.
/// </summary>
public sealed class EmbeddedGarnetServer : IDisposable
{
    private readonly global::Garnet.GarnetServer _server;
    private readonly FileStream _lock;

    public EmbeddedGarnetServer(IOptions<EmbeddedGarnetOptions> options, DataDirectory dataDirectory, ILoggerFactory loggerFactory)
    {
        var settings = options.Value;
        Directory = Path.Combine(dataDirectory.Path, "garnet");
        System.IO.Directory.CreateDirectory(Directory);
        _lock = AcquireLock(Directory);

        // A port picked as free can be taken by another process before Garnet binds it: with an automatic
        // port, try a few fresh ones; a configured port fails at once with Garnet's message.
        for (var attempt = 1; ; attempt++)
        {
            Port = settings.Port == 0 ? FreeLoopbackPort() : settings.Port;
            global::Garnet.GarnetServer? server = null;
            try
            {
                server = new global::Garnet.GarnetServer(Arguments(Port, Directory, settings), loggerFactory, false, null);
                server.Start();
                _server = server;
                break;
            }
            catch (Exception e) when (settings.Port == 0 && attempt < 5 && IsAddressInUse(e))
            {
                server?.Dispose();
            }
            catch
            {
                server?.Dispose();
                _lock.Dispose();
                throw;
            }
        }
    }

    public int Port { get; }

    public string Directory { get; }

    public string ConnectionString => $"{IPAddress.Loopback}:{Port}";

    public void Dispose()
    {
        _server.Dispose();
        _lock.Dispose();
    }

    private static FileStream AcquireLock(string directory)
    {
        var path = Path.Combine(directory, "storefleet.lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new Storefleet.Core.SettingException(
                $"Another Storefleet process is using the data directory '{directory}'. Stop it, or give this one its own directory with Storefleet__DataDirectory, or point both at one Redis with ConnectionStrings__Redis.", e);
        }
    }

    private static string[] Arguments(int port, string directory, EmbeddedGarnetOptions settings) =>
    [
        "--bind", IPAddress.Loopback.ToString(),
        "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--lua",
        "--storage-tier",
        "--device-type", "RandomAccess",
        "--logdir", directory,
        "--checkpointdir", directory,
        "--aof",
        "--aof-commit-freq", "0",
        "--recover",
        "--memory", settings.Memory,
        "--index", settings.IndexSize,
    ];

    private static bool IsAddressInUse(Exception e) =>
        e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || (e.InnerException is { } inner && IsAddressInUse(inner));

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Infrastructure;
using Storefleet.Infrastructure.Garnet;
using Storefleet.Testing;

namespace Storefleet.Infrastructure.Tests;

/// <summary>A Redis-protocol server for the repository suite, shared by the tests of one class.</summary>
public interface IStateBackendFixture
{
    IConnectionMultiplexer Redis { get; }

    string Name { get; }
}

/// <summary>A real redis-server process.</summary>
public sealed class RedisServerFixture : IStateBackendFixture, IAsyncLifetime
{
    private RedisServerProcess? _server;
    private ConnectionMultiplexer? _redis;

    public IConnectionMultiplexer Redis => _redis ?? throw new InvalidOperationException("Not started.");

    public string Name => "redis-server";

    public async Task InitializeAsync()
    {
        _server = await RedisServerProcess.StartAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The embedded Garnet exactly as the control plane starts it (persistent, Lua enabled).</summary>
public sealed class GarnetFixture : IStateBackendFixture, IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("storefleet-garnet-").FullName;
    private EmbeddedGarnetServer? _server;
    private ConnectionMultiplexer? _redis;

    public IConnectionMultiplexer Redis => _redis ?? throw new InvalidOperationException("Not started.");

    public string Name => "garnet";

    public async Task InitializeAsync()
    {
        _server = new EmbeddedGarnetServer(Options.Create(new EmbeddedGarnetOptions()), new DataDirectory(_directory), NullLoggerFactory.Instance);
        _redis = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _server?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

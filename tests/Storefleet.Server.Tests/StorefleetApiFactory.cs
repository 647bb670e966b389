using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Redis;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// The control plane in-process, on either a real Redis (connection string) or its embedded Garnet
/// (a temporary data directory), with its own key prefix so tests sharing a Redis never see each other.
/// </summary>
public sealed class StorefleetApiFactory : WebApplicationFactory<Program>
{
    private readonly string? _redisConnectionString;
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("storefleet-api-").FullName;

    public StorefleetApiFactory(string? redisConnectionString)
    {
        _redisConnectionString = redisConnectionString;
    }

    public string KeyPrefix { get; } = $"api{Guid.NewGuid():N}:";

    public IStoreRepository Repository => Services.GetRequiredService<IStoreRepository>();

    public IConnectionMultiplexer Redis => Services.GetRequiredService<IConnectionMultiplexer>();

    /// <summary>Every key under this factory's prefix (SCAN, so safe on a shared server).</summary>
    public async Task<IReadOnlyList<string>> KeysAsync()
    {
        var keys = new List<string>();
        foreach (var endpoint in Redis.GetEndPoints())
        {
            await foreach (var key in Redis.GetServer(endpoint).KeysAsync(pattern: KeyPrefix + "*"))
            {
                keys.Add(key!);
            }
        }

        return keys;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting($"{StateOptions.SectionName}:KeyPrefix", KeyPrefix);
        builder.UseSetting("Storefleet:DataDirectory", _dataDirectory);
        // The API's own tests: no provisioning engine acts on the stores they create.
        builder.UseSetting("Storefleet:Engine:Enabled", "false");
        if (_redisConnectionString is not null)
        {
            builder.UseSetting("ConnectionStrings:Redis", _redisConnectionString);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Leftover temp files are harmless.
        }
    }
}

/// <summary>One control plane per test class, on a real redis-server or on the embedded Garnet.</summary>
public abstract class ApiFixture : IAsyncLifetime
{
    public StorefleetApiFactory Factory { get; private set; } = null!;

    public abstract string Backend { get; }

    public async Task InitializeAsync() => Factory = new StorefleetApiFactory(await StartRedisAsync());

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await StopRedisAsync();
    }

    protected abstract Task<string?> StartRedisAsync();

    protected virtual Task StopRedisAsync() => Task.CompletedTask;
}

public sealed class RedisApiFixture : ApiFixture
{
    private RedisServerProcess? _redis;

    public override string Backend => "redis-server";

    protected override async Task<string?> StartRedisAsync()
    {
        _redis = await RedisServerProcess.StartAsync();
        return _redis.ConnectionString + ",allowAdmin=true";
    }

    protected override async Task StopRedisAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

public sealed class GarnetApiFixture : ApiFixture
{
    public override string Backend => "garnet";

    protected override Task<string?> StartRedisAsync() => Task.FromResult<string?>(null);
}

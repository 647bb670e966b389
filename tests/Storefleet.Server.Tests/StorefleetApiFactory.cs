using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("storefleet-api-").FullName;

    public StorefleetApiFactory(string? redisConnectionString, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _redisConnectionString = redisConnectionString;
        _settings = settings ?? new Dictionary<string, string?>();
    }

    /// <summary>Every log line the server wrote, for tests that prove no secret is ever logged.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>The client address requests appear to come from (TestServer has none of its own).</summary>
    public System.Net.IPAddress RemoteAddress { get; set; } = System.Net.IPAddress.Parse("192.0.2.10");

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
        // The API contract tests fire bursts of requests from one client; rate limits have their own tests.
        builder.UseSetting("Storefleet:Access:RateLimits:RequestsPerMinute", "1000000");
        builder.UseSetting("Storefleet:Access:RateLimits:AnonymousRequestsPerMinute", "1000000");
        builder.UseSetting("Storefleet:Access:RateLimits:CreatesPerMinute", "100000");
        if (_redisConnectionString is not null)
        {
            builder.UseSetting("ConnectionStrings:Redis", _redisConnectionString);
        }

        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.ConfigureServices(services => services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(new RemoteAddressFilter(() => RemoteAddress)));
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

/// <summary>Sets the connection's remote address before anything else runs, as a real socket would.</summary>
internal sealed class RemoteAddressFilter(Func<System.Net.IPAddress> address) : Microsoft.AspNetCore.Hosting.IStartupFilter
{
    public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
    {
        app.Use(nextMiddleware => context =>
        {
            context.Connection.RemoteIpAddress ??= address();
            return nextMiddleware(context);
        });
        next(app);
    };
}

/// <summary>An in-memory logger provider keeping every formatted line (and exception) the server logs.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}

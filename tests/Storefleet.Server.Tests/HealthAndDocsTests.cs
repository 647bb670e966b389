using System.Net;

namespace Storefleet.Server.Tests;

public sealed class HealthAndDocsTests(GarnetApiFixture fixture) : IClassFixture<GarnetApiFixture>
{
    private readonly HttpClient _client = fixture.Factory.CreateClient();

    [Fact]
    public async Task Healthz_IsOk()
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Readyz_WithRedisReachable_IsOkAndNamesTheBackend()
    {
        var response = await _client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("embedded-garnet", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheStoresApi()
    {
        var document = await (await _client.GetAsync("/openapi/v1.json")).ReadAsync();

        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/stores", out _));
        Assert.True(paths.TryGetProperty("/api/v1/stores/{name}", out _));
        Assert.True(paths.TryGetProperty("/api/v1/stores/{name}/events", out _));
        Assert.True(paths.TryGetProperty("/api/v1/stores/{name}/retry", out _));
    }

    [Fact]
    public async Task ApiReference_IsBrowsable()
    {
        var response = await _client.GetAsync("/scalar/v1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("text/html", response.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class ReadinessWithoutRedisTests
{
    [Fact]
    public async Task Readyz_WithRedisUnreachable_Is503AndSaysWhatToCheck()
    {
        await using var factory = new StorefleetApiFactory($"127.0.0.1:{Storefleet.Testing.FreePort.Next()},abortConnect=false,connectTimeout=200");
        var client = factory.CreateClient();

        var response = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("ConnectionStrings__Redis", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }
}

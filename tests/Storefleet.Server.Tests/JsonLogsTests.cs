using System.Text.Json;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// <c>Logging__Console__FormatterName=json</c> (with scopes) makes every log line one JSON object carrying the trace and
/// span ids of the request it belongs to, for log pipelines that join logs to traces; tokens never appear in it.
/// </summary>
public sealed class JsonLogsTests
{
    [Fact]
    public async Task JsonConsoleLogs_AreOneObjectPerLine_WithTheRequestsTraceAndSpanIds()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        var token = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";
        await using var server = await ControlPlaneProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = redis.ConnectionString,
            ["Storefleet__State__KeyPrefix"] = $"logs{Guid.NewGuid():N}:",
            ["Storefleet__Access__BootstrapAdminToken"] = token,
            ["Storefleet__Engine__Enabled"] = "false",
            ["Logging__Console__FormatterName"] = "json",
            ["Logging__Console__FormatterOptions__IncludeScopes"] = "true",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
        });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        (await http.GetAsync("/api/v1/stores?limit=1")).EnsureSuccessStatusCode();
        var request = await Eventually.WaitForAsync(() => Task.FromResult(server.Output.Split('\n').FirstOrDefault(l => l.Contains("/api/v1/stores", StringComparison.Ordinal) && l.TrimStart().StartsWith('{'))),
            TimeSpan.FromSeconds(30), "a JSON log line of the request");

        using var line = JsonDocument.Parse(request!);
        var scopes = line.RootElement.GetProperty("Scopes").EnumerateArray().ToList();
        Assert.Contains(scopes, s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TraceId", out var id) && id.GetString()!.Length == 32);
        Assert.Contains(scopes, s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("SpanId", out var id) && id.GetString()!.Length == 16);
        Assert.All(server.Output.Split('\n').Where(l => l.Length > 0 && l.TrimStart().StartsWith('{')), l => JsonDocument.Parse(l).Dispose());
        Assert.DoesNotContain(token, server.Output);
    }
}

using Storefleet.Server.Access;
using Storefleet.Server.Api;
using Storefleet.Server.Hosting;

// `Storefleet.Server healthcheck [url]`: the container image's HEALTHCHECK (the runtime image has no curl or shell).
if (args is ["healthcheck", ..])
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
    try
    {
        return (await http.GetAsync(args.Length > 1 ? args[1] : "http://127.0.0.1:8080/healthz")).IsSuccessStatusCode ? 0 : 1;
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
    {
        return 1;
    }
}

var builder = WebApplication.CreateBuilder(args);

// Settings that must be refused are refused before anything starts: one sentence and exit code 1.
if (StartupRefusal.Check(builder.Configuration) is { } refusal)
{
    await Console.Error.WriteLineAsync(refusal);
    return 1;
}

builder.AddStorefleetServer();

var app = builder.Build();

foreach (var check in app.Services.GetServices<Storefleet.Core.IStartupCheck>())
{
    if (await check.CheckAsync(CancellationToken.None) is { } refused)
    {
        await Console.Error.WriteLineAsync(refused);
        return 1;
    }
}

app.UseStorefleetPipeline();
app.MapHealthEndpoints();
app.MapStoresApi();
app.MapRolloutsApi();
app.MapBackupsApi();
app.MapAccessApi();
app.MapPoolApi();
app.MapSignIn();
app.MapDashboard();
app.MapApiDocumentation();
app.MapMetrics();

try
{
    await app.RunAsync();
}
catch (Exception e) when (StartupRefusal.Describe(e) is { } setting)
{
    await Console.Error.WriteLineAsync(setting);
    return 1;
}

return 0;

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;

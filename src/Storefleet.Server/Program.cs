using Storefleet.Server.Access;
using Storefleet.Server.Api;
using Storefleet.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);

builder.AddStorefleetServer();

var app = builder.Build();

app.UseStorefleetPipeline();
app.MapHealthEndpoints();
app.MapStoresApi();
app.MapAccessApi();
app.MapSignIn();
app.MapDashboard();
app.MapApiDocumentation();

app.Run();

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;

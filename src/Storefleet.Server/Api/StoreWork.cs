using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine;

namespace Storefleet.Server.Api;

/// <summary>
/// What the API hands to the engine after recording intent: the store is queued at once (the API never
/// waits for provisioning). A failed enqueue loses nothing — the record is written and the resync finds it.
/// </summary>
public sealed partial class StoreWork(IWorkQueue queue, IOptions<EngineOptions> engine, TimeProvider clock, ILogger<StoreWork> logger)
{
    public string NamespacePrefix => engine.Value.NamespacePrefix;

    public StoreResource View(Store store) => StoreResource.From(store, NamespacePrefix);

    public async Task NotifyAsync(string store)
    {
        try
        {
            await queue.EnqueueAsync(store, clock.GetUtcNow());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, store, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store} was recorded but not queued ({Reason}); the engine's resync will pick it up.")]
    private static partial void LogEnqueueFailed(ILogger logger, string store, string reason);
}

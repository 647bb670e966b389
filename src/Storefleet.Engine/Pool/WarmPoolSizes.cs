using Microsoft.Extensions.Options;

namespace Storefleet.Engine.Pool;

/// <summary>
/// The configured size of each plan's pool (<c>Storefleet:Engine:WarmPool:&lt;plan&gt;</c>), read afresh each time: a
/// changed configuration (a reloaded settings file) takes effect by itself — the keeper grows or shrinks the pool and
/// creates stop or start claiming — without a restart.
/// </summary>
public sealed class WarmPoolSizes(IOptionsMonitor<EngineOptions> options)
{
    public int Of(string plan) => options.CurrentValue.PoolSize(plan);
}

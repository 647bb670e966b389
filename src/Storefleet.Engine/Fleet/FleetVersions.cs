using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;
using Storefleet.Engine.Helm;

namespace Storefleet.Engine.Fleet;

/// <summary>
/// Which versions the fleet runs, measured against what this control plane ships (its charts directory and values
/// files). A store is <em>outdated</em> when this control plane would install it differently (another values digest, or
/// other application versions: a chart whose values.yaml changed without a version bump) and ships the same or a
/// newer chart; <em>ahead</em> when it runs a newer chart than this control plane ships (a control-plane upgrade in
/// progress, this replica being the older one). Neither is changed here: only a rollout or a per-store update moves a
/// Ready store.
/// </summary>
public sealed class FleetVersions(IStoreRepository repository, StoreReleases releases, IOptions<EngineOptions> options)
{
    /// <summary>How many store names each list carries; the counts are always complete.</summary>
    public const int NamesListed = 200;

    public async Task<FleetVersionReport> ReadAsync(CancellationToken cancellationToken)
    {
        var shipped = StoreEngine.All.Select(Shipped).ToList();
        var groups = new Dictionary<(string Engine, string Chart, AppVersions? Apps), int>();
        var outdated = new NameList();
        var ahead = new NameList();
        var (total, unpinned) = (0, 0);
        string? next = null;
        do
        {
            var page = await repository.ListAsync(new StoreQuery(StoreQuery.MaxLimit, next), cancellationToken);
            // Warm-pool members are recycled by the pool's keeper, never rolled out to: they are reported by GET /api/v1/pool.
            foreach (var store in page.Items.Where(s => s.Phase != StorePhase.Deleting && !s.IsPoolMember))
            {
                total++;
                if (store.Pin is not { } pin)
                {
                    unpinned++;
                    continue;
                }

                var key = (store.Spec.Engine.Id, pin.ChartVersion, pin.Apps);
                groups[key] = groups.GetValueOrDefault(key) + 1;
                switch (Standing(store, shipped.Single(s => s.Engine == store.Spec.Engine.Id)))
                {
                    case VersionStanding.Outdated:
                        outdated.Add(store.Name);
                        break;
                    case VersionStanding.Ahead:
                        ahead.Add(store.Name);
                        break;
                }
            }

            next = page.Continue;
        }
        while (next is not null);

        var versions = groups
            .Select(g => new FleetVersionGroup(g.Key.Engine, g.Key.Chart, g.Key.Apps, g.Value,
                shipped.Any(s => s.Engine == g.Key.Engine && s.ChartVersion == g.Key.Chart && s.Apps == g.Key.Apps)))
            .OrderBy(g => g.Engine, StringComparer.Ordinal)
            .ThenByDescending(g => g.ChartVersion, Comparer<string>.Create(ChartVersions.Compare))
            .ThenByDescending(g => g.Stores)
            .ToList();
        return new FleetVersionReport(shipped, total, unpinned, versions, outdated.ToResult(), ahead.ToResult());
    }

    /// <summary>How one store stands against what this control plane ships (see <see cref="VersionStanding"/>).</summary>
    public VersionStanding Standing(Store store) => Standing(store, Shipped(store.Spec.Engine));

    /// <summary>
    /// The shipped chart runs other application versions under the very chart version the store was pinned to (values.yaml
    /// edited without a version bump): no upgrade could be told apart from the release the store runs.
    /// </summary>
    public static bool NeedsChartVersionBump(Store store, ShippedVersion shipped) =>
        store.Pin is { } pin && pin.ChartVersion == shipped.ChartVersion && pin.Apps is not null && pin.Apps != shipped.Apps.With(store.Overrides);

    /// <summary>The charts this control plane ships could not be read (missing directory or file, invalid YAML): not the store's fault.</summary>
    public static bool IsChartsUnreadable(Exception error) => error is DirectoryNotFoundException or FileNotFoundException or InvalidDataException;

    /// <summary>What this control plane installs for an engine's stores.</summary>
    public ShippedVersion Shipped(StoreEngine engine) => new(engine.Id, releases.ChartVersion(engine), releases.Apps(engine));

    private VersionStanding Standing(Store store, ShippedVersion ours)
    {
        if (store.Pin is not { } pin)
        {
            return VersionStanding.Unpinned;
        }

        if (pin.Generation != store.Generation || pin.BootstrapGeneration != store.BootstrapGeneration)
        {
            // A new generation the engine has not pinned yet: it is installed with what the engine ships when it is.
            return VersionStanding.Unpinned;
        }

        // The chart and application versions are the engine's, shipped once per engine; only the digest is per store.
        var digest = releases.Digest(store, StoreClusterNames.For(store, options.Value.NamespacePrefix));
        if (digest == pin.Digest && (pin.Apps is null || pin.Apps == ours.Apps.With(store.Overrides)))
        {
            return VersionStanding.Current;
        }

        return ChartVersions.Compare(ours.ChartVersion, pin.ChartVersion) >= 0 ? VersionStanding.Outdated : VersionStanding.Ahead;
    }

    private sealed class NameList
    {
        private readonly List<string> _names = [];
        private int _count;

        public void Add(string name)
        {
            _count++;
            if (_names.Count < NamesListed)
            {
                _names.Add(name);
            }
        }

        public FleetStoreList ToResult() => new(_count, [.. _names.Order(StringComparer.Ordinal)], _count > _names.Count);
    }
}

/// <summary>How a store's pinned release compares with what the answering control plane ships.</summary>
public enum VersionStanding
{
    /// <summary>No pin for its current generation yet: it is installed with what the engine ships when it is pinned.</summary>
    Unpinned,

    /// <summary>Installed exactly as this control plane would install it.</summary>
    Current,

    /// <summary>This control plane ships the same or a newer chart and would install it differently.</summary>
    Outdated,

    /// <summary>It runs a newer chart than this control plane ships (a control-plane upgrade in progress).</summary>
    Ahead,
}

/// <summary>
/// The fleet by version (see <see cref="FleetVersions"/>). <see cref="Unpinned"/>: stores the engine has not yet picked a
/// chart for (just requested); they are installed with what the engine ships.
/// </summary>
public sealed record FleetVersionReport(
    IReadOnlyList<ShippedVersion> Shipped,
    int Stores,
    int Unpinned,
    IReadOnlyList<FleetVersionGroup> Versions,
    FleetStoreList Outdated,
    FleetStoreList Ahead);

/// <summary>What this control plane installs for an engine's stores: its chart version and the application versions.</summary>
public sealed record ShippedVersion(string Engine, string ChartVersion, AppVersions Apps);

/// <summary>Stores running one chart version with one set of application versions (null: recorded before versions were).</summary>
public sealed record FleetVersionGroup(string Engine, string ChartVersion, AppVersions? Apps, int Stores, bool Current);

/// <summary>A count of stores and the first <see cref="FleetVersions.NamesListed"/> of their names.</summary>
public sealed record FleetStoreList(int Count, IReadOnlyList<string> Names, bool Truncated);

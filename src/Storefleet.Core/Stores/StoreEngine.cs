namespace Storefleet.Core.Stores;

/// <summary>
/// The ecommerce software a store runs. A closed set: each engine is a Helm chart under
/// <c>charts/</c> plus a small adapter in the provisioning engine that turns a store into
/// that chart's values. Adding an engine (e.g. MedusaJS) means adding a chart, an adapter and
/// one entry to <see cref="All"/>.
/// </summary>
public sealed record StoreEngine(string Id, string DisplayName, string ChartDirectory)
{
    public static readonly StoreEngine WooCommerce = new("woocommerce", "WooCommerce", "store");

    /// <summary>Every engine that can be provisioned today.</summary>
    public static readonly IReadOnlyList<StoreEngine> All = [WooCommerce];

    public static StoreEngine? Find(string? id) =>
        All.FirstOrDefault(e => string.Equals(e.Id, id, StringComparison.Ordinal));

    public static string AcceptedIds => string.Join(", ", All.Select(e => e.Id));

    public override string ToString() => Id;
}

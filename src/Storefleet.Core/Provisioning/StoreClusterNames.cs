namespace Storefleet.Core.Provisioning;

/// <summary>The names a store has in the cluster, derived from its name and the configured namespace prefix.</summary>
public sealed record StoreClusterNames(string Namespace, string Release, string CredentialsSecret)
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "storefleet";
    public const string StoreLabel = "storefleet.io/store";

    /// <summary>The store's uid (<see cref="Stores.Store.Uid"/>) on its namespace, credentials Secret and Helm release.</summary>
    public const string StoreUidLabel = "storefleet.io/store-uid";
    public const string ValuesDigestLabel = "storefleet.io/values-digest";
    public const string BootstrapGenerationLabel = "storefleet.io/bootstrap-generation";

    public static StoreClusterNames For(string store, string namespacePrefix) =>
        new($"{namespacePrefix}{store}", store, $"{store}-credentials");
}

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

    /// <summary>On a warm-pool member's namespace (removed when a store takes it over).</summary>
    public const string PoolMemberLabel = "storefleet.io/warm-pool-member";

    /// <summary>Label of an upgrade's Job (snapshot, core files, migrations): the store generation it upgrades to.</summary>
    public const string UpgradeGenerationLabel = "storefleet.io/upgrade-generation";

    /// <summary>Label of an upgrade's restore Job (suspended until the upgrade fails).</summary>
    public const string RestoreGenerationLabel = "storefleet.io/restore-generation";

    /// <summary>The copy of the platform's restic password Secret in the store's namespace.</summary>
    public string BackupPasswordSecret => $"{Release}-backup-password";

    /// <summary>The copy of the platform's backup repository credentials Secret in the store's namespace.</summary>
    public string BackupCredentialsSecret => $"{Release}-backup-credentials";

    /// <summary>The store chart's backup CronJob (its template is also what an on-demand backup runs).</summary>
    public string BackupCronJob => $"{Release}-backup";

    /// <summary>The restore Job the chart renders for restore id <paramref name="restoreId"/>.</summary>
    public string RestoreJob(string restoreId) => $"{Release}-restore-{restoreId}";

    /// <summary>The names of <paramref name="store"/>'s objects: from its own name, or the warm-pool member's it took over.</summary>
    public static StoreClusterNames For(Stores.Store store, string namespacePrefix) => For(store.ClusterName, namespacePrefix);

    public static StoreClusterNames For(string store, string namespacePrefix) =>
        new($"{namespacePrefix}{store}", store, $"{store}-credentials");

    /// <summary>
    /// The labels a store's namespace is created with, and that drift detection expects on it: ownership, the store
    /// (and its uid once it has one) and Pod Security at <paramref name="podSecurityLevel"/>.
    /// </summary>
    public static Dictionary<string, string> NamespaceLabels(Stores.Store store, string podSecurityLevel)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ManagedByLabel] = ManagedByValue,
            [StoreLabel] = store.Name,
            ["pod-security.kubernetes.io/enforce"] = podSecurityLevel,
            ["pod-security.kubernetes.io/enforce-version"] = "latest",
            ["pod-security.kubernetes.io/audit"] = podSecurityLevel,
            ["pod-security.kubernetes.io/warn"] = podSecurityLevel,
        };
        if (store.Uid.Length > 0)
        {
            labels[StoreUidLabel] = store.Uid;
        }

        if (store.IsPoolMember)
        {
            labels[PoolMemberLabel] = "true";
        }

        return labels;
    }
}

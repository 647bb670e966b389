using System.Security.Cryptography;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Kubernetes;

/// <summary>The engine's own writes to the cluster (everything else is helm's): namespace, credentials Secret, namespace deletion.</summary>
public sealed class StoreClusterActions(IOptions<EngineOptions> options)
{
    private const string PasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    /// <summary>
    /// Creates the namespace with our labels (the store's name and uid) and the Pod Security level. Already there:
    /// fine (the next observation judges whose it is).
    /// </summary>
    public async Task CreateNamespaceAsync(IKubernetes client, Store store, StoreClusterNames names, CancellationToken cancellationToken)
    {
        var ns = new V1Namespace
        {
            Metadata = new V1ObjectMeta { Name = names.Namespace, Labels = StoreClusterNames.NamespaceLabels(store, options.Value.PodSecurityLevel) },
        };

        await IgnoreAlreadyExists(() => client.CoreV1.CreateNamespaceAsync(ns, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Creates the credentials Secret once, with random passwords. Never overwritten or regenerated: the
    /// database was initialised with them. The values exist only in this request and in the cluster.
    /// </summary>
    public static async Task CreateCredentialsAsync(IKubernetes client, Store store, StoreClusterNames names, CancellationToken cancellationToken)
    {
        var secret = new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = names.CredentialsSecret,
                Labels = new Dictionary<string, string>
                {
                    [StoreClusterNames.ManagedByLabel] = StoreClusterNames.ManagedByValue,
                    [StoreClusterNames.StoreLabel] = store.Name,
                },
            },
            Type = "Opaque",
            StringData = new Dictionary<string, string>
            {
                ["mysql-root-password"] = Password(32),
                ["mysql-password"] = Password(32),
                ["wordpress-admin-password"] = Password(24),
            },
        };
        if (store.Uid.Length > 0)
        {
            secret.Metadata.Labels[StoreClusterNames.StoreUidLabel] = store.Uid;
        }

        await IgnoreAlreadyExists(() => client.CoreV1.CreateNamespacedSecretAsync(secret, names.Namespace, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// A store took over a warm-pool member's namespace: its labels become the store's (name and uid, Pod Security), so
    /// the namespace is the store's by the same rule as one it created. Patched: nothing else on it changes.
    /// </summary>
    public async Task RelabelNamespaceAsync(IKubernetes client, Store store, StoreClusterNames names, CancellationToken cancellationToken)
    {
        var labels = StoreClusterNames.NamespaceLabels(store, options.Value.PodSecurityLevel).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        labels[StoreClusterNames.PoolMemberLabel] = null; // a merge patch's null removes it: the namespace is no member any more
        var patch = new V1Patch(System.Text.Json.JsonSerializer.Serialize(new { metadata = new { labels } }), V1Patch.PatchType.MergePatch);
        await client.CoreV1.PatchNamespaceAsync(patch, names.Namespace, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// A store took over a warm-pool member: the member's credentials Secret is replaced by the store's, with a new
    /// administrator password (the bootstrap sets it in WordPress) and the store's labels. Once replaced (it carries the
    /// store's name), it is left alone. The database passwords are kept: the running database and WordPress use them.
    /// </summary>
    public static async Task ReplaceCredentialsAsync(IKubernetes client, Store store, StoreClusterNames names, CancellationToken cancellationToken)
    {
        var secret = await client.CoreV1.ReadNamespacedSecretAsync(names.CredentialsSecret, names.Namespace, cancellationToken: cancellationToken);
        if (secret.Metadata.Labels?.TryGetValue(StoreClusterNames.StoreLabel, out var owner) == true && owner == store.Name)
        {
            return;
        }

        var data = new Dictionary<string, byte[]>(secret.Data ?? new Dictionary<string, byte[]>(), StringComparer.Ordinal)
        {
            ["wordpress-admin-password"] = System.Text.Encoding.UTF8.GetBytes(Password(24)),
        };
        secret.Data = data;
        secret.StringData = null;
        secret.Metadata.Labels = CredentialsLabels(store);
        await client.CoreV1.ReplaceNamespacedSecretAsync(secret, names.CredentialsSecret, names.Namespace, cancellationToken: cancellationToken);
    }

    private static Dictionary<string, string> CredentialsLabels(Store store)
    {
        var labels = new Dictionary<string, string>
        {
            [StoreClusterNames.ManagedByLabel] = StoreClusterNames.ManagedByValue,
            [StoreClusterNames.StoreLabel] = store.Name,
        };
        if (store.Uid.Length > 0)
        {
            labels[StoreClusterNames.StoreUidLabel] = store.Uid;
        }

        return labels;
    }

    public static async Task DeleteNamespaceAsync(IKubernetes client, StoreClusterNames names, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespaceAsync(names.Namespace, new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e) || KubeErrors.IsConflict(e))
        {
            // Already gone, or already terminating.
        }
    }

    private static string Password(int length) => RandomNumberGenerator.GetString(PasswordAlphabet, length);

    private static async Task IgnoreAlreadyExists<T>(Func<Task<T>> create)
    {
        try
        {
            await create();
        }
        catch (Exception e) when (KubeErrors.IsConflict(e))
        {
            // Created before (a retried step): leave it exactly as it is.
        }
    }
}

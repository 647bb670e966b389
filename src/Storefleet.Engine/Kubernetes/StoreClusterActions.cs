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

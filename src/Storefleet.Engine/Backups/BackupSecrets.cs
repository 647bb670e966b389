using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Engine.Kubernetes;

namespace Storefleet.Engine.Backups;

/// <summary>
/// Copies the platform's backup Secrets (the restic password, the repository credentials) from the control plane's
/// namespace into a store's namespace, where the backup pods mount them. The values pass through this process only:
/// never into Redis, events, logs or helm values. A copy carries its source's resourceVersion, so a changed source is
/// copied again on the store's next install, upgrade or repair.
/// </summary>
public sealed class BackupSecrets(IOptions<BackupOptions> options)
{
    public const string SourceVersionAnnotation = "storefleet.io/source-version";
    public const string PasswordKey = "restic-password";

    public async Task EnsureAsync(IKubernetes client, string store, StoreClusterNames names, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var password = await ReadAsync(client, settings.SecretsNamespace, settings.PasswordSecret, cancellationToken);
        byte[]? value = null;
        if (password?.Data?.TryGetValue(PasswordKey, out value) != true || value is null || value.Length == 0)
        {
            throw new BackupSecretsMissingException(
                $"Backups are configured (Storefleet:Backups:Repository) but Secret {settings.SecretsNamespace}/{settings.PasswordSecret} with key {PasswordKey} " +
                "does not exist: create it with the repository's restic password (docs/backups.md), then retry the store.");
        }

        await CopyAsync(client, store, password!, names.BackupPasswordSecret, names.Namespace, new Dictionary<string, byte[]> { [PasswordKey] = value }, cancellationToken);
        var credentials = await ReadAsync(client, settings.SecretsNamespace, settings.CredentialsSecret, cancellationToken);
        if (credentials is not null)
        {
            await CopyAsync(client, store, credentials, names.BackupCredentialsSecret, names.Namespace, credentials.Data ?? new Dictionary<string, byte[]>(), cancellationToken);
        }
    }

    private static async Task<V1Secret?> ReadAsync(IKubernetes client, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return null;
        }
    }

    private static async Task CopyAsync(IKubernetes client, string store, V1Secret source, string name, string ns, IDictionary<string, byte[]> data, CancellationToken cancellationToken)
    {
        var version = source.Metadata.ResourceVersion;
        var existing = await ReadAsync(client, ns, name, cancellationToken);
        if (existing?.Metadata.Annotations?.TryGetValue(SourceVersionAnnotation, out var copied) == true && copied == version)
        {
            return;
        }

        var copy = new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = ns,
                Labels = new Dictionary<string, string>
                {
                    [StoreClusterNames.ManagedByLabel] = StoreClusterNames.ManagedByValue,
                    [StoreClusterNames.StoreLabel] = store,
                },
                Annotations = new Dictionary<string, string> { [SourceVersionAnnotation] = version },
                ResourceVersion = existing?.Metadata.ResourceVersion,
            },
            Type = "Opaque",
            Data = data,
        };
        if (existing is null)
        {
            await client.CoreV1.CreateNamespacedSecretAsync(copy, ns, cancellationToken: cancellationToken);
        }
        else
        {
            await client.CoreV1.ReplaceNamespacedSecretAsync(copy, name, ns, cancellationToken: cancellationToken);
        }
    }
}

/// <summary>The platform's backup Secrets are missing: a person must create them (the message says how).</summary>
public sealed class BackupSecretsMissingException(string message) : Exception(message);

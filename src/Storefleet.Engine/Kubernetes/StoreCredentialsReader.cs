using System.Text;
using k8s;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Kubernetes;

/// <summary>A store's WordPress administrator login, read from its Secret on demand. Never stored, never logged.</summary>
public sealed record StoreCredentials(string AdminUser, string AdminPassword);

/// <summary>Why credentials could not be read, for the API to answer with.</summary>
public enum CredentialsUnavailable
{
    NoCluster,
    NotCreatedYet,

    /// <summary>The Secret carries another store's uid (an earlier store of the same name): never shown.</summary>
    OtherStore,
}

public sealed class StoreCredentialsReader(ClusterConnection cluster, IOptions<EngineOptions> options)
{
    /// <summary>The chart's default administrator login (<c>wordpress.admin.user</c>).</summary>
    public const string AdminUser = "storeadmin";

    /// <summary>
    /// Reads the login from the store's credentials Secret — only when the Secret carries this store's uid: a
    /// Secret left by an earlier store of the same name (another owner's) is refused.
    /// </summary>
    public async Task<(StoreCredentials? Credentials, CredentialsUnavailable? Unavailable, string Detail)> ReadAsync(Store store, CancellationToken cancellationToken)
    {
        var client = cluster.TryGetClient(out var reason);
        if (client is null)
        {
            return (null, CredentialsUnavailable.NoCluster, reason);
        }

        var names = StoreClusterNames.For(store, options.Value.NamespacePrefix);
        try
        {
            var secret = await client.CoreV1.ReadNamespacedSecretAsync(names.CredentialsSecret, names.Namespace, cancellationToken: cancellationToken);
            cluster.ReportReachable();
            var uid = secret.Metadata.Labels is { } labels && labels.TryGetValue(StoreClusterNames.StoreUidLabel, out var value) ? value : null;
            if (store.Uid.Length > 0 && uid != store.Uid)
            {
                return (null, CredentialsUnavailable.OtherStore,
                    $"Secret {names.CredentialsSecret} in namespace {names.Namespace} belongs to another store of the same name (uid {uid ?? "none recorded"}), not to this one (uid {store.Uid}); its credentials are never shown. See the store's conditions.");
            }

            return secret.Data is { } data && data.TryGetValue("wordpress-admin-password", out var password)
                ? (new StoreCredentials(AdminUser, Encoding.UTF8.GetString(password)), null, string.Empty)
                : (null, CredentialsUnavailable.NotCreatedYet, $"Secret {names.CredentialsSecret} has no wordpress-admin-password key.");
        }
        catch (Exception e) when (KubeErrors.IsNotFound(e))
        {
            return (null, CredentialsUnavailable.NotCreatedYet, $"The credentials Secret of store '{store.Name}' does not exist yet; it is created early in provisioning.");
        }
        catch (Exception e) when (KubeErrors.IsUnreachable(e) || KubeErrors.IsRetryable(e))
        {
            cluster.ReportUnreachable(KubeErrors.Describe(e));
            return (null, CredentialsUnavailable.NoCluster, KubeErrors.Describe(e));
        }
    }
}

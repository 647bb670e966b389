using System.Globalization;
using System.Text;
using Storefleet.Testing;

namespace Storefleet.Bench;

/// <summary>What a plain-helm baseline needs before helm runs: each store's namespace and credentials Secret, as the engine makes them.</summary>
public static class BenchFleet
{
    public static async Task CreateNamespacesAndSecretsAsync(IEnumerable<string> names, Dictionary<string, string> environment)
    {
        var manifest = new StringBuilder();
        foreach (var name in names)
        {
            manifest.Append(CultureInfo.InvariantCulture, $"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: store-{name}\n---\n");
            manifest.Append(CultureInfo.InvariantCulture, $"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}-credentials\n  namespace: store-{name}\nstringData:\n  mysql-root-password: x{Guid.NewGuid():N}\n  mysql-password: x{Guid.NewGuid():N}\n  wordpress-admin-password: x{Guid.NewGuid():N}\n---\n");
        }

        (await Cli.RunAsync(RepositoryPaths.Kubectl, ["apply", "-f", "-"], environment, manifest.ToString(), TimeSpan.FromMinutes(5))).EnsureSuccessStatusCode();
    }
}

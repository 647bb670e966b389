using System.Text.Json.Nodes;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// A platform with a backup repository on the test double: the control plane's backup settings, the repository Secrets
/// it copies into every store, and reading and applying objects — shared by the backup and restore tests.
/// </summary>
internal sealed class BackupPlatform(EngineFixture fixture)
{
    public const string Repository = "rest:https://backup.example.com/storefleet";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    /// <summary>Installs the repository Secrets in a new platform namespace and returns the control plane settings that use them.</summary>
    public async Task<Dictionary<string, string?>> InstallAsync()
    {
        var secretsNamespace = "platform-" + Guid.NewGuid().ToString("N")[..8];
        InstalledSecrets = ["restic-" + Guid.NewGuid().ToString("N"), "rest-" + Guid.NewGuid().ToString("N")];
        await ApplyAsync(Secrets(secretsNamespace, InstalledSecrets[0], InstalledSecrets[1]));
        return Settings(secretsNamespace);
    }

    /// <summary>The restic password and the REST server password <see cref="InstallAsync"/> created last (for secrets scans).</summary>
    public IReadOnlyList<string> InstalledSecrets { get; private set; } = [];

    public static Dictionary<string, string?> Settings(string secretsNamespace) => new()
    {
        ["Storefleet:Backups:Repository"] = Repository,
        ["Storefleet:Backups:SecretsNamespace"] = secretsNamespace,
        ["Storefleet:Backups:SweepInterval"] = "00:00:01",
    };

    public static string Secrets(string ns, string password, string restPassword) => $"""
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {ns}
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: storefleet-backup-password
          namespace: {ns}
        stringData:
          restic-password: {password}
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: storefleet-backup-credentials
          namespace: {ns}
        stringData:
          RESTIC_REST_USERNAME: storefleet
          RESTIC_REST_PASSWORD: {restPassword}
        """;

    public static async Task<JsonNode> WaitForBackupAsync(ControlPlane plane, string store, string id, string status)
    {
        var client = plane.CreateClient();
        try
        {
            return await Eventually.WaitForAsync(async () =>
            {
                var response = await client.GetAsync($"/api/v1/stores/{store}/backups/{id}");
                var backup = response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
                return backup?.Text("status") == status ? backup : null;
            }, Generous, $"backup {id} to be {status}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await plane.DescribeAsync(store)}", e);
        }
    }

    public JsonObject Object(string ns, string kind, string name) =>
        fixture.Api.Store.InNamespace(ns).Single(o => o.Object["kind"]!.GetValue<string>() == kind && o.Object["metadata"]!["name"]!.GetValue<string>() == name).Object;

    public async Task ApplyAsync(string manifest, string? ns = null)
    {
        string[] args = ns is null ? ["apply", "-f", "-"] : ["apply", "-n", ns, "-f", "-"];
        (await Cli.RunAsync(RepositoryPaths.Kubectl, args, new Dictionary<string, string> { ["KUBECONFIG"] = fixture.Api.KubeconfigPath }, manifest)).EnsureSuccessStatusCode();
    }
}

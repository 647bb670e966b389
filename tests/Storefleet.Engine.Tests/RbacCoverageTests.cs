using k8s.Models;
using Storefleet.Core.Stores;
using Storefleet.Testing;
using Storefleet.Testing.Charts.Rendering;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Engine.Tests;

/// <summary>
/// The platform chart's ClusterRole against what the control plane and helm actually do: every (group,
/// resource, verb) recorded by the API test double during a full store lifecycle — create, a bootstrap
/// failure read from the Job's log, retry (an upgrade), credentials, an on-demand backup (the backup Secrets copied,
/// a Job from the backup CronJob, its result read), a restore in place (a safety backup, the restore Job, helm test), orphan scan, a plan change with volume growth, drift repairs (an
/// object and the namespace's labels), delete — must be granted,
/// and the role must grant nothing beyond that plus the short allow-list below.
/// </summary>
public sealed class RbacCoverageTests : IAsyncLifetime
{
    /// <summary>Granted though a lifecycle on the test double does not exercise them, each for a stated reason.</summary>
    private static readonly HashSet<string> AllowList =
    [
        // helm rolls back pending-upgrade releases and may replace objects when a patch cannot apply.
        "apps/deployments:update", "apps/statefulsets:update", "batch/jobs:update", "batch/cronjobs:update", "/configmaps:update", "/services:update",
        "/serviceaccounts:update", "/persistentvolumeclaims:update", "/resourcequotas:update", "/limitranges:update",
        "networking.k8s.io/networkpolicies:update", "networking.k8s.io/ingresses:update", "/secrets:update",
        // A second `helm test` deletes the first run's test pod (before-hook-creation); the lifecycle runs it once.
        "/pods:delete",
    ];

    private EngineFixture _fixture = null!;

    public async Task InitializeAsync()
    {
        _fixture = new EngineFixture();
        await _fixture.InitializeAsync();
    }

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task TheClusterRole_CoversEveryRecordedRequest_AndGrantsNothingElse()
    {
        var recorded = await RecordLifecycleAsync();
        var granted = Grants(await RenderRoleAsync());

        var missing = recorded.Except(granted).Order().ToList();
        var extra = granted.Except(recorded).Except(AllowList).Order().ToList();
        Assert.True(missing.Count == 0, $"not granted but needed: {string.Join(", ", missing)}");
        Assert.True(extra.Count == 0, $"granted but never used (and not allow-listed): {string.Join(", ", extra)}");
    }

    [Fact]
    public async Task RemovingANeededPermission_IsCaught()
    {
        var recorded = await RecordLifecycleAsync();
        var role = await RenderRoleAsync();
        var secrets = role.Rules.First(r => r.Resources.Contains("secrets"));
        secrets.Verbs = [.. secrets.Verbs.Where(v => v != "create")];

        var missing = recorded.Except(Grants(role)).ToList();

        Assert.Contains("/secrets:create", missing);
    }

    [Fact]
    public async Task TheRole_HasNoWildcards_NoEscalation_AndNamespacesAreOnlyPatched()
    {
        var role = await RenderRoleAsync();

        Assert.DoesNotContain(role.Rules, r => r.Verbs.Contains("*") || r.Resources.Contains("*") || r.ApiGroups.Contains("*"));
        Assert.DoesNotContain(role.Rules, r => r.Verbs.Any(v => v is "escalate" or "bind" or "impersonate"));
        Assert.DoesNotContain(role.Rules, r => r.Resources.Any(x => x.StartsWith("roles", StringComparison.Ordinal) || x.StartsWith("clusterroles", StringComparison.Ordinal)));
        var namespaces = role.Rules.Single(r => r.Resources.Contains("namespaces"));
        Assert.Equal(["create", "delete", "get", "list", "patch", "watch"], namespaces.Verbs.Order());
    }

    private static HashSet<string> Grants(V1ClusterRole role) =>
        [.. role.Rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res}:{v}"))))];

    private static async Task<V1ClusterRole> RenderRoleAsync()
    {
        var chart = await HelmCli.TemplateAsync(Path.Combine(RepositoryPaths.Root, "charts", "storefleet"), "sf", "storefleet", ChartValues.None);
        return chart.All<V1ClusterRole>().Single();
    }

    /// <summary>(group/resource:verb) of every request the control plane and helm made during one full lifecycle.</summary>
    private async Task<HashSet<string>> RecordLifecycleAsync()
    {
        var api = _fixture.Api;
        api.Requests.Clear();
        // Backups on: the platform's Secrets (made by a person, through kubectl) are copied into the store's namespace.
        await KubectlApplyAsync("""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: storefleet
            ---
            apiVersion: v1
            kind: Secret
            metadata:
              name: storefleet-backup-password
              namespace: storefleet
            stringData:
              restic-password: rbac-test-password
            """);
        await using var plane = _fixture.StartControlPlane(new Dictionary<string, string?>
        {
            ["Storefleet:Engine:ResyncInterval"] = "00:00:01",
            ["Storefleet:Engine:Drift:RepairBackoff"] = "00:00:00.200",
            ["Storefleet:Backups:Repository"] = "s3:https://s3.amazonaws.com/backups/storefleet",
        });
        var name = EngineFixture.NewStoreName("rbac");
        api.Simulation.FailJobs($"store-{name}", "bootstrap", "bootstrap: FAILED: simulated");
        await plane.CreateStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Failed, TimeSpan.FromMinutes(2));
        api.Simulation.ClearFaults();
        await plane.RetryStoreAsync(name);
        await plane.WaitForPhaseAsync(name, StorePhase.Ready, TimeSpan.FromMinutes(2));
        (await plane.CreateClient().GetAsync($"/api/v1/stores/{name}/credentials")).EnsureSuccessStatusCode();

        // An on-demand backup, recorded from its Job when it finishes; then restored in place (a safety backup, the restore Job, helm test).
        api.Simulation.SetTerminationMessage($"store-{name}", "-backup-", "upload", """{"ok":true,"snapshot":"0a1b2c3d","bytesAdded":1,"totalBytes":2,"files":1,"durationSeconds":1}""");
        var backup = await plane.CreateClient().PostAsync($"/api/v1/stores/{name}/backups", null);
        Assert.True(backup.StatusCode == System.Net.HttpStatusCode.Accepted, await backup.Content.ReadAsStringAsync());
        await Eventually.WaitUntilAsync(async () => (await plane.Repository.GetEventsAsync(name)).Any(e => e.Step == "backup" && e.Type != StoreEventType.StepStarted),
            TimeSpan.FromSeconds(30), "the backup recorded");
        var backupId = System.Text.Json.Nodes.JsonNode.Parse(await backup.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var restore = await plane.CreateClient().PostAsync($"/api/v1/stores/{name}/restore", new StringContent($$"""{"backup":"{{backupId}}"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(restore.StatusCode == System.Net.HttpStatusCode.Accepted, await restore.Content.ReadAsStringAsync());
        await Eventually.WaitUntilAsync(async () => (await plane.Repository.GetEventsAsync(name)).Any(e => e.Step == "restore-test" && e.Message.Contains("restored and the smoke test passed", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), "the backup restored");

        // Day two: a plan change that grows the volumes, then drift repaired (an object, the namespace's labels).
        // The test's own changes go through kubectl, whose requests are not the control plane's.
        await KubectlAsync("patch", "storageclass", KubeApiState.DefaultStorageClass, "-p", """{"allowVolumeExpansion":true}""");
        var change = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/stores/{name}") { Content = new StringContent("""{"plan":"medium"}""", System.Text.Encoding.UTF8, "application/merge-patch+json") };
        (await plane.CreateClient().SendAsync(change)).EnsureSuccessStatusCode();
        await Eventually.WaitUntilAsync(async () => await plane.Repository.GetAsync(name) is { Phase: StorePhase.Ready, AppliedPlan.Id: "medium" }, TimeSpan.FromSeconds(60), "plan medium");
        await KubectlAsync("delete", "networkpolicy", $"{name}-default-deny", "-n", $"store-{name}");
        await KubectlAsync("label", "namespace", $"store-{name}", "pod-security.kubernetes.io/enforce-");
        await Eventually.WaitUntilAsync(async () => (await plane.Repository.GetEventsAsync(name)).Any(e => e.Type == StoreEventType.DriftRepaired)
            && api.Store.Get(api.State.Catalog.Find(string.Empty, "v1", "namespaces")!, null, $"store-{name}")?["metadata"]?["labels"]?["pod-security.kubernetes.io/enforce"] is not null,
            TimeSpan.FromSeconds(60), "the drift repaired");
        await KubectlAsync("patch", "storageclass", KubeApiState.DefaultStorageClass, "-p", """{"allowVolumeExpansion":null}""");

        await plane.DeleteStoreAsync(name);
        await plane.WaitForGoneAsync(name, TimeSpan.FromMinutes(2));

        var used = api.Requests.Entries
            .Where(r => r.Verb is not null && r.Resource is not null && r.UserAgent?.StartsWith("kubectl", StringComparison.Ordinal) != true)
            .ToList();

        // A server-side apply that creates its object (201) is authorized by a real API server as create
        // as well as patch (kubernetes.io/docs/reference/using-api/api-concepts/#patch-and-apply).
        return [.. used.Select(r => $"{Group(r.Resource!)}/{ResourceName(r.Resource!)}:{r.Verb}")
            .Concat(used.Where(r => r.Verb == "patch" && r.Status == 201).Select(r => $"{Group(r.Resource!)}/{ResourceName(r.Resource!)}:create"))];
    }

    private async Task KubectlApplyAsync(string manifest)
    {
        var result = await Cli.RunAsync(RepositoryPaths.Kubectl, ["apply", "-f", "-"], new Dictionary<string, string> { ["KUBECONFIG"] = _fixture.Api.KubeconfigPath }, manifest);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private async Task KubectlAsync(params string[] args)
    {
        var result = await Cli.RunAsync(RepositoryPaths.Kubectl, args, new Dictionary<string, string> { ["KUBECONFIG"] = _fixture.Api.KubeconfigPath });
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static string Group(string resource)
    {
        var plural = resource.Split('/')[0];
        var dot = plural.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? string.Empty : plural[(dot + 1)..];
    }

    private static string ResourceName(string resource)
    {
        var parts = resource.Split('/');
        var plural = parts[0].Split('.')[0];
        return parts.Length > 1 ? $"{plural}/{parts[1]}" : plural;
    }
}

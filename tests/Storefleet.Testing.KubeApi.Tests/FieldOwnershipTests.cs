using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>
/// Server-side apply's field ownership as helm 4.1.4 and kubectl 1.35.2 meet it on a real server: helm applies
/// with <c>force=false</c>, so a field another manager changed since (kubectl scale, kubectl edit) makes the next
/// upgrade fail with a conflict naming that manager and field — until it forces ownership (<c>--force-conflicts</c>).
/// Plus metadata-only lists and watches (PartialObjectMetadata) and the default StorageClass.
/// </summary>
public sealed class FieldOwnershipTests(KubeApiFixture api) : IClassFixture<KubeApiFixture>
{
    private readonly Kubernetes _client = new(KubernetesClientConfiguration.BuildConfigFromConfigFile(api.Server.KubeconfigPath));

    [Fact]
    public async Task AReplicaCountScaledByKubectl_ConflictsWithHelmsNextApply_UntilHelmForcesOwnership()
    {
        var ns = await api.NewNamespaceAsync("ssa");
        await Ok(api.HelmAsync("install", "rec", KubeApiFixture.MiniChart, "-n", ns));

        await Ok(api.KubectlAsync("scale", "deployment/rec-web", "--replicas=0", "-n", ns));
        var scaled = await _client.AppsV1.ReadNamespacedDeploymentAsync("rec-web", ns);
        var plain = await api.HelmAsync("upgrade", "rec", KubeApiFixture.MiniChart, "-n", ns);
        var forced = await api.HelmAsync("upgrade", "rec", KubeApiFixture.MiniChart, "-n", ns, "--server-side=true", "--force-conflicts");
        var repaired = await _client.AppsV1.ReadNamespacedDeploymentAsync("rec-web", ns);

        Assert.Contains(scaled.Metadata.ManagedFields, f => f.Manager == "kubectl" && f.Subresource == "scale" && f.Operation == "Update");
        Assert.NotEqual(0, plain.ExitCode);
        Assert.Contains("conflict with \"kubectl\" with subresource \"scale\": .spec.replicas", plain.Stderr + plain.Stdout);
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Equal(1, repaired.Spec.Replicas);
        Assert.DoesNotContain(repaired.Metadata.ManagedFields, f => f.Manager == "kubectl");
        Assert.Contains(repaired.Metadata.ManagedFields, f => f.Manager == "helm" && f.Operation == "Apply");
    }

    [Fact]
    public async Task AnUpdateTakesOwnershipOfWhatItChanged_AndAnApplyOfOtherFieldsDoesNotConflict()
    {
        var ns = await api.NewNamespaceAsync("own");
        await Ok(api.HelmAsync("install", "rec", KubeApiFixture.MiniChart, "-n", ns));

        await _client.CoreV1.PatchNamespacedResourceQuotaAsync(new V1Patch("""{"spec":{"hard":{"pods":"99"}}}""", V1Patch.PatchType.MergePatch), "rec-quota", ns, fieldManager: "kubectl-edit");
        await Ok(api.KubectlAsync("label", "configmap/rec-cfg", "extra=yes", "-n", ns));
        var quota = await _client.CoreV1.ReadNamespacedResourceQuotaAsync("rec-quota", ns);
        var upgrade = await api.HelmAsync("upgrade", "rec", KubeApiFixture.MiniChart, "-n", ns);

        var edit = Assert.Single(quota.Metadata.ManagedFields, f => f.Manager == "kubectl-edit");
        Assert.Equal("Update", edit.Operation);
        Assert.Contains("f:pods", JsonNode.Parse(KubernetesJson.Serialize(edit.FieldsV1))!.ToJsonString());
        // The quota's pods field conflicts; the extra label on the ConfigMap does not (helm never set it).
        Assert.Contains("conflict with \"kubectl-edit\" using v1: .spec.hard.pods", upgrade.Stderr + upgrade.Stdout);
        Assert.DoesNotContain("kubectl-label", upgrade.Stderr + upgrade.Stdout);
    }

    [Fact]
    public async Task AnApplyWithoutAFieldManager_IsRefused()
    {
        var ns = await api.NewNamespaceAsync("nofm");

        var refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => _client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}}""", V1Patch.PatchType.ApplyPatch), "c", ns));

        Assert.Equal(422, (int)refused.Response.StatusCode);
        Assert.Contains("fieldManager: Required value", refused.Response.Content);
    }

    [Fact]
    public async Task MetadataOnlyListsAndWatches_CarryNoData()
    {
        var ns = await api.NewNamespaceAsync("meta");
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "s", Labels = new Dictionary<string, string> { ["pick"] = "me" } },
            StringData = new Dictionary<string, string> { ["password"] = "hunter2" },
        }, ns);

        var listHeaders = new Dictionary<string, IReadOnlyList<string>> { ["Accept"] = ["application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"] };
        using var list = await _client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(ns, labelSelector: "pick=me", customHeaders: listHeaders);
        var watchHeaders = new Dictionary<string, IReadOnlyList<string>> { ["Accept"] = ["application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"] };
        using var http = new HttpClient { BaseAddress = api.Server.BaseUrl };
        using var watchRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/secrets?labelSelector=pick%3Dme&watch=true&timeoutSeconds=1");
        watchRequest.Headers.TryAddWithoutValidation("Accept", watchHeaders["Accept"][0]);
        using var watch = await http.SendAsync(watchRequest, HttpCompletionOption.ResponseHeadersRead);
        var watched = await new StreamReader(await watch.Content.ReadAsStreamAsync()).ReadLineAsync();

        var item = Assert.Single(list.Body.Items);
        Assert.Equal("s", item.Metadata.Name);
        Assert.Null(item.Data);
        Assert.Equal("PartialObjectMetadata", JsonNode.Parse(watched!)!["object"]!["kind"]!.GetValue<string>());
        Assert.DoesNotContain(Convert.ToBase64String("hunter2"u8.ToArray()), watched);
    }

    [Fact]
    public async Task AClaimWithoutAStorageClass_GetsTheDefaultOne_WhichDoesNotAllowExpansion()
    {
        var ns = await api.NewNamespaceAsync("sc");

        var claim = await _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "c" },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, ns);
        var storageClass = await _client.StorageV1.ReadStorageClassAsync(KubeApiState.DefaultStorageClass);

        Assert.Equal(KubeApiState.DefaultStorageClass, claim.Spec.StorageClassName);
        Assert.NotEqual(true, storageClass.AllowVolumeExpansion);
    }

    private static async Task<CliResult> Ok(Task<CliResult> run)
    {
        var result = await run;
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}

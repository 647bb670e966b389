using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Storage;

namespace Storefleet.Testing.KubeApi.Tests;

/// <summary>Strategic merge uses each list field's merge key, as the Kubernetes types declare it.</summary>
public sealed class StrategicMergeKeyTests
{
    [Fact]
    public void VolumeMounts_MergeOnMountPath_SoTwoMountsOfOneVolumeStayApart()
    {
        var target = JsonNode.Parse("""{"volumeMounts":[{"name":"cfg","mountPath":"/a","subPath":"a"},{"name":"cfg","mountPath":"/b","subPath":"b"}]}""");
        var patch = JsonNode.Parse("""{"volumeMounts":[{"name":"cfg","mountPath":"/b","readOnly":true}]}""");

        var merged = Patches.Strategic(target, patch)!["volumeMounts"]!.AsArray();

        Assert.Equal(["/a", "/b"], merged.Select(m => m!["mountPath"]!.GetValue<string>()));
        Assert.True(merged[1]!["readOnly"]!.GetValue<bool>());
        Assert.Equal("b", merged[1]!["subPath"]!.GetValue<string>());
    }

    [Fact]
    public void ContainerPorts_MergeOnContainerPort_AndServicePortsOnPort()
    {
        var containerPorts = Patches.Strategic(
            JsonNode.Parse("""{"ports":[{"containerPort":80},{"containerPort":443}]}"""),
            JsonNode.Parse("""{"ports":[{"containerPort":443,"name":"https"}]}"""))!["ports"]!.AsArray();
        var servicePorts = Patches.Strategic(
            JsonNode.Parse("""{"ports":[{"port":80,"name":"http"}]}"""),
            JsonNode.Parse("""{"ports":[{"port":8080,"name":"alt"}]}"""))!["ports"]!.AsArray();

        Assert.Equal(2, containerPorts.Count);
        Assert.Equal("https", containerPorts[1]!["name"]!.GetValue<string>());
        Assert.Equal([80, 8080], servicePorts.Select(p => p!["port"]!.GetValue<int>()));
    }

    [Fact]
    public void AListWithoutAUniqueMergeKey_IsReplaced()
    {
        var merged = Patches.Strategic(
            JsonNode.Parse("""{"args":["a","b"],"items":[{"name":"x"},{"name":"x"}]}"""),
            JsonNode.Parse("""{"args":["c"],"items":[{"name":"y"}]}"""))!;

        Assert.Equal(["c"], merged["args"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal(["y"], merged["items"]!.AsArray().Select(a => a!["name"]!.GetValue<string>()));
    }
}

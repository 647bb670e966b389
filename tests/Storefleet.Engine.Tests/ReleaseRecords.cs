using System.Globalization;
using Storefleet.Testing.KubeApi;

namespace Storefleet.Engine.Tests;

/// <summary>One revision of a Helm release as helm stores it (a Secret labelled <c>owner=helm</c>), read from the double.</summary>
public sealed record ReleaseRecord(string Name, int Revision, string Status, string? Digest);

public static class ReleaseRecords
{
    /// <summary>Every revision of every Helm release in <paramref name="ns"/>, oldest first.</summary>
    public static List<ReleaseRecord> ReleaseRecordsIn(this KubeApiTestServer api, string ns) =>
        [.. api.Store.InNamespace(ns).Select(o => o.Object)
            .Where(o => o["kind"]?.GetValue<string>() == "Secret" && o["metadata"]!["labels"]?["owner"]?.GetValue<string>() == "helm")
            .Select(o => o["metadata"]!["labels"]!)
            .Select(l => new ReleaseRecord(
                l["name"]!.GetValue<string>(),
                int.Parse(l["version"]!.GetValue<string>(), CultureInfo.InvariantCulture),
                l["status"]!.GetValue<string>(),
                l["storefleet.io/values-digest"]?.GetValue<string>()))
            .OrderBy(r => r.Revision)];
}

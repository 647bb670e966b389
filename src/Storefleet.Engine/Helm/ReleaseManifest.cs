using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Helm;

/// <summary>
/// The objects a deployed release consists of, read from helm's own release record (the Secret
/// <c>sh.helm.release.v1.&lt;release&gt;.v&lt;revision&gt;</c>, whose <c>release</c> key is base64 of gzipped JSON
/// with the rendered manifest) — what <c>helm get manifest</c> prints, in one request. Hooks are not part of it.
/// </summary>
public static partial class ReleaseManifest
{
    /// <summary>
    /// Kinds that are not drift when they go: a completed bootstrap Job may be cleaned up (its TTL), and the
    /// Pods and ReplicaSets of the release belong to their controllers.
    /// </summary>
    private static readonly HashSet<string> Transient = ["Job", "Pod", "ReplicaSet"];

    /// <summary>
    /// The inventory of the release's latest deployed revision, applied "now" by the API server's clock (the response's
    /// Date). Null when the release has no deployed revision.
    /// </summary>
    public static async Task<ReleaseInventory?> ReadAsync(IKubernetes client, StoreClusterNames names, CancellationToken cancellationToken)
    {
        using var response = await client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(
            names.Namespace, labelSelector: $"owner=helm,name={names.Release},status=deployed", cancellationToken: cancellationToken);
        var serverNow = response.Response.Headers.Date ?? DateTimeOffset.UtcNow;
        var latest = response.Body.Items
            .Select(s => (Secret: s, Revision: Revision(s.Metadata.Labels)))
            .OrderByDescending(s => s.Revision)
            .FirstOrDefault();
        if (latest.Secret?.Data is not { } data || !data.TryGetValue("release", out var encoded))
        {
            return null;
        }

        return new ReleaseInventory(Objects(Decode(encoded)), serverNow, latest.Revision);
    }

    /// <summary>
    /// What to roll back to: the newest earlier revision that was deployed (status deployed or superseded) — with the values
    /// digest <paramref name="digest"/> when one is given and such a revision exists — never a failed attempt in between
    /// (each retried upgrade adds one), and the Jobs that would make <c>helm rollback</c> to it fail: in that revision's
    /// manifest and not in the latest one's. A Job's name carries a hash of its pod template, so a chart or values change
    /// renames it; helm finds the old one in the cluster but not among the objects it rolls back from, and refuses
    /// ("original object Job ... not found"). Null when no earlier revision was ever deployed.
    /// </summary>
    public static async Task<RollbackPlan?> RollbackPlanAsync(IKubernetes client, StoreClusterNames names, string? digest, CancellationToken cancellationToken)
    {
        var records = (await client.CoreV1.ListNamespacedSecretAsync(names.Namespace, labelSelector: $"owner=helm,name={names.Release}", cancellationToken: cancellationToken)).Items
            .Select(s => (Secret: s, Labels: s.Metadata.Labels ?? new Dictionary<string, string>(), Revision: Revision(s.Metadata.Labels)))
            .Where(s => s.Revision > 0)
            .GroupBy(s => s.Revision)
            .Select(g => g.First())
            .OrderByDescending(s => s.Revision)
            .ToList();
        if (records.Count < 2)
        {
            return null;
        }

        var latest = records[0];
        var served = records.Skip(1)
            .Where(s => s.Labels.TryGetValue("status", out var status) && status is "deployed" or "superseded")
            .ToList();
        var target = served.FirstOrDefault(s => digest is not null && s.Labels.TryGetValue(StoreClusterNames.ValuesDigestLabel, out var d) && d == digest);
        if (target.Secret is null)
        {
            target = served.FirstOrDefault();
        }

        if (target.Secret is null)
        {
            return null;
        }

        if (target.Secret.Data?.TryGetValue("release", out var targetRelease) != true || latest.Secret.Data?.TryGetValue("release", out var latestRelease) != true)
        {
            return new RollbackPlan(target.Revision, []);
        }

        var keep = Jobs(Decode(latestRelease!)).ToHashSet(StringComparer.Ordinal);
        return new RollbackPlan(target.Revision, [.. Jobs(Decode(targetRelease!)).Where(job => !keep.Contains(job))]);
    }

    /// <summary>A release record's revision, from its <c>version</c> label (0 when it has none).</summary>
    public static int Revision(IDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue("version", out var text) && int.TryParse(text, out var revision) ? revision : 0;

    /// <summary>The names of the Jobs in a rendered manifest.</summary>
    public static IEnumerable<string> Jobs(string manifest) =>
        DocumentSeparator().Split(manifest)
            .Where(document => KindLine().Match(document) is { Success: true } kind && kind.Groups[1].Value == "Job")
            .Select(document => MetadataName().Match(document))
            .Where(name => name.Success)
            .Select(name => name.Groups[1].Value.Trim('"', '\''))
            .Distinct(StringComparer.Ordinal);

    /// <summary>The rendered manifest inside a release record's <c>release</c> value (base64 text of gzipped JSON).</summary>
    public static string Decode(byte[] encoded)
    {
        var compressed = Convert.FromBase64String(Encoding.ASCII.GetString(encoded));
        using var input = new MemoryStream(compressed);
        using var json = compressed is [0x1f, 0x8b, ..] ? new GZipStream(input, CompressionMode.Decompress) : (Stream)input;
        using var document = JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("manifest", out var manifest) ? manifest.GetString() ?? string.Empty : string.Empty;
    }

    /// <summary><c>Kind/name</c> of every object in a rendered manifest (helm writes each document with top-level kind and metadata.name).</summary>
    public static IReadOnlyList<string> Objects(string manifest)
    {
        var objects = new List<string>();
        foreach (var document in DocumentSeparator().Split(manifest))
        {
            var kind = KindLine().Match(document);
            var name = MetadataName().Match(document);
            if (kind.Success && name.Success && !Transient.Contains(kind.Groups[1].Value))
            {
                objects.Add($"{kind.Groups[1].Value}/{name.Groups[1].Value.Trim('"', '\'')}");
            }
        }

        return [.. objects.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    [GeneratedRegex(@"^---\s*$", RegexOptions.Multiline)]
    private static partial Regex DocumentSeparator();

    [GeneratedRegex(@"^kind:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex KindLine();

    [GeneratedRegex(@"^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex MetadataName();
}

/// <summary>The revision a rollback returns to, and the Jobs to delete first so helm does not refuse it.</summary>
public sealed record RollbackPlan(int Revision, IReadOnlyList<string> BlockingJobs);

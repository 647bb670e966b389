namespace Storefleet.Testing.KubeApi.Discovery;

/// <summary>One REST resource of the simulated API (e.g. apps/v1 deployments).</summary>
public sealed record ApiResource(
    string Group,
    string Version,
    string Plural,
    string Singular,
    string Kind,
    bool Namespaced,
    IReadOnlyList<string> Verbs,
    IReadOnlyList<string> ShortNames,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Subresources)
{
    public string GroupVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The storage key: one object store per group and plural, whatever the version.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public override string ToString() => $"{GroupVersion}/{Plural}";
}

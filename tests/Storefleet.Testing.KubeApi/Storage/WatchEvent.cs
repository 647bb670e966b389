using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>A change to one object: ADDED, MODIFIED or DELETED, at a resource version.</summary>
public sealed record WatchEvent(string Type, ApiResource Resource, string? Namespace, JsonObject Object, long ResourceVersion)
{
    /// <summary>
    /// When the change was committed (this machine's clock). Watchers may see the event before in-process
    /// <c>Changed</c> handlers run, so a handler timing a watcher's reaction measures from here.
    /// </summary>
    public DateTimeOffset CommittedAt { get; } = DateTimeOffset.UtcNow;
}

using System.Text.Json.Nodes;
using Storefleet.Testing.KubeApi.Discovery;

namespace Storefleet.Testing.KubeApi.Storage;

/// <summary>A change to one object: ADDED, MODIFIED or DELETED, at a resource version.</summary>
public sealed record WatchEvent(string Type, ApiResource Resource, string? Namespace, JsonObject Object, long ResourceVersion);

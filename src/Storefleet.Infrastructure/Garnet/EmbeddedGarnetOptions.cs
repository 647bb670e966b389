using System.ComponentModel.DataAnnotations;

namespace Storefleet.Infrastructure.Garnet;

/// <summary>The in-process Garnet server used when no Redis is configured. Section <c>Storefleet:EmbeddedRedis</c>.</summary>
public sealed class EmbeddedGarnetOptions
{
    public const string SectionName = "Storefleet:EmbeddedRedis";

    /// <summary>Loopback port to listen on; 0 picks a free one.</summary>
    [Range(0, 65535)]
    public int Port { get; set; }

    /// <summary>Memory for the key log before it spills to disk, as Garnet understands it (e.g. <c>64m</c>).</summary>
    [RegularExpression("^[0-9]+[kmg]$", ErrorMessage = "Memory must look like 64m or 1g.")]
    public string Memory { get; set; } = "64m";

    /// <summary>Size of Garnet's hash index (e.g. <c>1m</c>); allocated at start.</summary>
    [RegularExpression("^[0-9]+[kmg]$", ErrorMessage = "IndexSize must look like 1m or 16m.")]
    public string IndexSize { get; set; } = "1m";
}

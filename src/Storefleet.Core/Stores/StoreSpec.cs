using System.Security.Cryptography;
using System.Text;

namespace Storefleet.Core.Stores;

/// <summary>What a person asked for. Two requests for the same name are the same request when their specs are equal.</summary>
public sealed record StoreSpec(StoreEngine Engine, StorePlan Plan)
{
    /// <summary>A stable digest of the spec, used to tell "same request again" from "a different request".</summary>
    public string Hash
    {
        get
        {
            var canonical = $"engine={Engine.Id};plan={Plan.Id}";
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..16];
        }
    }
}

using System.Buffers.Text;
using System.Text.Json;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// The position after the last item of a page: its creation score and name (names break ties
/// between stores created in the same millisecond). Also carries the filter it was issued for,
/// so a token cannot be replayed against another query. Serialized as base64url JSON.
/// </summary>
internal sealed record ContinueToken(double Score, string Name, string Filter)
{
    public static string FilterOf(StoreQuery query) => $"{query.Phase?.ToWire()}|{query.Owner}|{query.NameSearch}";

    public string Encode() => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(this, StateJsonContext.Default.ContinueToken));

    public static ContinueToken Decode(string token, StoreQuery query)
    {
        ContinueToken? decoded;
        try
        {
            decoded = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(token), StateJsonContext.Default.ContinueToken);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new InvalidContinueTokenException("The continue token is not valid; start again from the first page.");
        }

        if (decoded is null || string.IsNullOrEmpty(decoded.Name))
        {
            throw new InvalidContinueTokenException("The continue token is not valid; start again from the first page.");
        }

        if (decoded.Filter != FilterOf(query))
        {
            throw new InvalidContinueTokenException("The continue token belongs to a query with other filters; repeat the original filters or start again from the first page.");
        }

        return decoded;
    }
}

using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Storefleet.Server.Tests;

internal static class Json
{
    public static StringContent Body(string json, string contentType = "application/json") =>
        new(json, Encoding.UTF8, contentType);

    public static StringContent Store(string name, string plan = "small") =>
        Body($$"""{"name":"{{name}}","engine":"woocommerce","plan":"{{plan}}"}""");

    public static async Task<JsonElement> ReadAsync(this HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();
}

using System.Net;
using System.Text;

namespace Storefleet.Server.Tests;

/// <summary>
/// Every malformed request gets a 4xx problem+json (never a 500) and writes nothing: after each
/// case, no key exists under this control plane's prefix.
/// </summary>
public sealed class BadInputMatrixTests(RedisApiFixture fixture) : IClassFixture<RedisApiFixture>
{
    private readonly HttpClient _client = fixture.Factory.CreateClient();

    public static TheoryData<string, string, string, string?, string?, int> Cases() => new()
    {
        // description, method, path, content type, body, expected status
        { "uppercase name", "POST", "/api/v1/stores", "application/json", """{"name":"MyShop"}""", 400 },
        { "name too short", "POST", "/api/v1/stores", "application/json", """{"name":"ab"}""", 400 },
        { "name too long", "POST", "/api/v1/stores", "application/json", $$"""{"name":"{{new string('a', 41)}}"}""", 400 },
        { "leading hyphen", "POST", "/api/v1/stores", "application/json", """{"name":"-shop"}""", 400 },
        { "trailing hyphen", "POST", "/api/v1/stores", "application/json", """{"name":"shop-"}""", 400 },
        { "leading digit", "POST", "/api/v1/stores", "application/json", """{"name":"1shop"}""", 400 },
        { "dots", "POST", "/api/v1/stores", "application/json", """{"name":"my.shop"}""", 400 },
        { "underscore", "POST", "/api/v1/stores", "application/json", """{"name":"my_shop"}""", 400 },
        { "space", "POST", "/api/v1/stores", "application/json", """{"name":"my shop"}""", 400 },
        { "unicode", "POST", "/api/v1/stores", "application/json", """{"name":"shöp"}""", 400 },
        { "escaped unicode", "POST", "/api/v1/stores", "application/json", """{"name":"sh\u0000op"}""", 400 },
        { "reserved default", "POST", "/api/v1/stores", "application/json", """{"name":"default"}""", 400 },
        { "reserved kube-", "POST", "/api/v1/stores", "application/json", """{"name":"kube-system"}""", 400 },
        { "reserved storefleet", "POST", "/api/v1/stores", "application/json", """{"name":"storefleet-api"}""", 400 },
        { "reserved admin", "POST", "/api/v1/stores", "application/json", """{"name":"admin"}""", 400 },
        { "missing name", "POST", "/api/v1/stores", "application/json", """{"plan":"small"}""", 400 },
        { "null name", "POST", "/api/v1/stores", "application/json", """{"name":null}""", 400 },
        { "name is a number", "POST", "/api/v1/stores", "application/json", """{"name":42}""", 400 },
        { "name is an object", "POST", "/api/v1/stores", "application/json", """{"name":{"a":1}}""", 400 },
        { "plan is an array", "POST", "/api/v1/stores", "application/json", """{"name":"shop","plan":["small"]}""", 400 },
        { "plan is a boolean", "POST", "/api/v1/stores", "application/json", """{"name":"shop","plan":true}""", 400 },
        { "unknown plan", "POST", "/api/v1/stores", "application/json", """{"name":"shop","plan":"huge"}""", 400 },
        { "unknown engine", "POST", "/api/v1/stores", "application/json", """{"name":"shop","engine":"magento"}""", 400 },
        { "engine wrong case", "POST", "/api/v1/stores", "application/json", """{"name":"shop","engine":"WooCommerce"}""", 400 },
        { "unknown field owner", "POST", "/api/v1/stores", "application/json", """{"name":"shop","owner":"mallory"}""", 400 },
        { "unknown field namespace", "POST", "/api/v1/stores", "application/json", """{"name":"shop","namespace":"kube-system"}""", 400 },
        { "helm --set injection", "POST", "/api/v1/stores", "application/json", """{"name":"shop,image.tag=evil"}""", 400 },
        { "duplicate field", "POST", "/api/v1/stores", "application/json", """{"name":"shop","name":"other"}""", 400 },
        { "empty body", "POST", "/api/v1/stores", "application/json", "", 400 },
        { "whitespace body", "POST", "/api/v1/stores", "application/json", "   ", 400 },
        { "null body", "POST", "/api/v1/stores", "application/json", "null", 400 },
        { "array body", "POST", "/api/v1/stores", "application/json", """[{"name":"shop"}]""", 400 },
        { "string body", "POST", "/api/v1/stores", "application/json", "\"shop\"", 400 },
        { "not JSON", "POST", "/api/v1/stores", "application/json", "name=shop", 400 },
        { "truncated JSON", "POST", "/api/v1/stores", "application/json", """{"name":"shop" """, 400 },
        { "trailing comma", "POST", "/api/v1/stores", "application/json", """{"name":"shop",}""", 400 },
        { "comment in JSON", "POST", "/api/v1/stores", "application/json", """{"name":"shop" /* hi */}""", 400 },
        { "oversize body", "POST", "/api/v1/stores", "application/json", $$"""{"name":"shop","plan":"{{new string('x', 17 * 1024)}}"}""", 413 },
        { "form content type", "POST", "/api/v1/stores", "application/x-www-form-urlencoded", "name=shop", 415 },
        { "text content type", "POST", "/api/v1/stores", "text/plain", """{"name":"shop"}""", 415 },
        { "no content type", "POST", "/api/v1/stores", null, """{"name":"shop"}""", 415 },
        { "latin1 charset", "POST", "/api/v1/stores", "application/json; charset=iso-8859-1", """{"name":"shop"}""", 415 },
        { "limit zero", "GET", "/api/v1/stores?limit=0", null, null, 400 },
        { "limit too large", "GET", "/api/v1/stores?limit=100000", null, null, 400 },
        { "limit not a number", "GET", "/api/v1/stores?limit=ten", null, null, 400 },
        { "unknown phase filter", "GET", "/api/v1/stores?phase=Ready", null, null, 400 },
        { "forged continue token", "GET", "/api/v1/stores?continue=AAAA", null, null, 400 },
        { "invalid name on get", "GET", "/api/v1/stores/Bad_Name", null, null, 400 },
        { "invalid name on delete", "DELETE", "/api/v1/stores/Bad_Name", null, null, 400 },
        { "path traversal on delete", "DELETE", "/api/v1/stores/..%2Fkube-system", null, null, 400 },
        { "invalid name on retry", "POST", "/api/v1/stores/kube-system/retry", null, null, 400 },
        { "unknown store delete", "DELETE", "/api/v1/stores/no-such-store", null, null, 404 },
        { "purgeBackups not a boolean", "DELETE", "/api/v1/stores/no-such-store?purgeBackups=yes", null, null, 400 },
        { "purgeBackups twice", "DELETE", "/api/v1/stores/no-such-store?purgeBackups=true&purgeBackups=false", null, null, 400 },
        { "unknown store retry", "POST", "/api/v1/stores/no-such-store/retry", null, null, 404 },
        { "invalid name on upgrade", "POST", "/api/v1/stores/kube-system/upgrade", null, null, 400 },
        { "unknown store upgrade", "POST", "/api/v1/stores/no-such-store/upgrade", null, null, 404 },
        { "invalid name on backup", "POST", "/api/v1/stores/Bad_Name/backups", null, null, 400 },
        { "invalid name on backup list", "GET", "/api/v1/stores/kube-system/backups", null, null, 400 },
        { "unknown store backup", "POST", "/api/v1/stores/no-such-store/backups", null, null, 404 },
        { "unknown store backup list", "GET", "/api/v1/stores/no-such-store/backups", null, null, 404 },
        { "backup schedule: not a schedule", "PUT", "/api/v1/stores/no-such-store/backups/schedule", "application/json", """{"schedule":"every day"}""", 400 },
        { "backup schedule: six cron fields", "PUT", "/api/v1/stores/no-such-store/backups/schedule", "application/json", """{"schedule":"0 3 * * * *"}""", 400 },
        { "backup schedule: shell in cron", "PUT", "/api/v1/stores/no-such-store/backups/schedule", "application/json", """{"schedule":"0 3 * * $(id)"}""", 400 },
        { "backup schedule: a number", "PUT", "/api/v1/stores/no-such-store/backups/schedule", "application/json", """{"schedule":3}""", 400 },
        { "restore: invalid name", "POST", "/api/v1/stores/Bad_Name/restore", "application/json", """{"backup":"b"}""", 400 },
        { "restore: unknown store", "POST", "/api/v1/stores/no-such-store/restore", "application/json", """{"backup":"b"}""", 404 },
        { "restore: no backup named", "POST", "/api/v1/stores/no-such-store/restore", "application/json", "{}", 400 },
        { "restore: backup as a number", "POST", "/api/v1/stores/no-such-store/restore", "application/json", """{"backup":5}""", 400 },
        { "restore: unknown field", "POST", "/api/v1/stores/no-such-store/restore", "application/json", """{"backup":"b","snapshot":"0a1b2c3d"}""", 400 },
        { "restore: no body", "POST", "/api/v1/stores/no-such-store/restore", "application/json", "", 400 },
        { "restore: form content type", "POST", "/api/v1/stores/no-such-store/restore", "application/x-www-form-urlencoded", "backup=b", 415 },
        { "rollout: unknown field", "POST", "/api/v1/rollouts", "application/json", """{"version":"0.2.0"}""", 400 },
        { "rollout: target as a string", "POST", "/api/v1/rollouts", "application/json", """{"target":"0.2.0"}""", 400 },
        { "rollout: negative canary", "POST", "/api/v1/rollouts", "application/json", """{"strategy":{"canary":-1}}""", 400 },
        { "rollout: no stores in flight", "POST", "/api/v1/rollouts", "application/json", """{"strategy":{"maxInFlight":0}}""", 400 },
        { "rollout: batch size and percent", "POST", "/api/v1/rollouts", "application/json", """{"strategy":{"batchSize":5,"batchPercent":10}}""", 400 },
        { "rollout: soak of a year", "POST", "/api/v1/rollouts", "application/json", """{"strategy":{"soakSeconds":31536000}}""", 400 },
        { "rollout: canary as a string", "POST", "/api/v1/rollouts", "application/json", """{"strategy":{"canary":"1"}}""", 400 },
        { "rollout: unknown plan", "POST", "/api/v1/rollouts", "application/json", """{"selection":{"plan":"huge"}}""", 400 },
        { "rollout: unknown engine", "POST", "/api/v1/rollouts", "application/json", """{"engine":"magento"}""", 400 },
        { "rollout: empty store list", "POST", "/api/v1/rollouts", "application/json", """{"selection":{"stores":[]}}""", 400 },
        { "rollout: invalid store name", "POST", "/api/v1/rollouts", "application/json", """{"selection":{"stores":["kube-system"]}}""", 400 },
        { "rollout: unknown store", "POST", "/api/v1/rollouts", "application/json", """{"selection":{"stores":["no-such-store"]}}""", 400 },
        { "rollout: latest image tag", "POST", "/api/v1/rollouts", "application/json", """{"target":{"wordPressTag":"latest"}}""", 400 },
        { "rollout: image tag injection", "POST", "/api/v1/rollouts", "application/json", """{"target":{"wordPressTag":"6.8.4 --set x=y"}}""", 400 },
        { "rollout: WooCommerce version not a version", "POST", "/api/v1/rollouts", "application/json", """{"target":{"wooCommerceVersion":"10.x"}}""", 400 },
        { "rollout: unknown target field", "POST", "/api/v1/rollouts", "application/json", """{"target":{"mysqlTag":"9.0"}}""", 400 },
        { "rollout: not JSON", "POST", "/api/v1/rollouts", "text/plain", "{}", 415 },
        { "rollout: unknown id", "GET", "/api/v1/rollouts/ro-0123456789ab", null, null, 404 },
        { "rollout: malformed id", "GET", "/api/v1/rollouts/..%2Fstore%3Ashop", null, null, 404 },
        { "rollout: pause unknown", "POST", "/api/v1/rollouts/ro-0123456789ab/pause", null, null, 404 },
        { "rollout: abort malformed id", "POST", "/api/v1/rollouts/ro-*/abort", null, null, 404 },
        { "wrong method", "PUT", "/api/v1/stores", "application/json", """{"name":"shop"}""", 405 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task MalformedRequest_IsAClear4xxProblemAndWritesNothing(string description, string method, string path, string? contentType, string? body, int expectedStatus)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());

        var response = await _client.SendAsync(request);

        Assert.True((int)response.StatusCode == expectedStatus, $"{description}: expected {expectedStatus}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        // Nothing is written — except the audit trail, which records refused attempts (and only those), and the
        // shared data-protection key ring, which the framework creates on first use, the start-up markers of the name and
        // plan indexes and the fleet's once-a-minute phase counts (no store state).
        string[] housekeeping = [":audit", ":dataprotection-keys", ":stores:names:built", ":stores:plans:built", ":fleet:phases"];
        Assert.DoesNotContain(await fixture.Factory.KeysAsync(), k => !housekeeping.Any(h => k.EndsWith(h, StringComparison.Ordinal)));
        var audit = await fixture.Factory.Redis.GetDatabase().ListRangeAsync(fixture.Factory.KeyPrefix + "audit");
        Assert.All(audit, entry => Assert.Contains("\"result\":\"refused", (string)entry!));
    }

    [Fact]
    public void Matrix_HasAtLeastThirtyCases() => Assert.True(Cases().Count >= 30);

    [Fact]
    public async Task FieldErrors_NameTheFieldAndSayWhatIsAccepted()
    {
        var response = await _client.PostAsync("/api/v1/stores", Json.Body("""{"name":"Bad","plan":"huge","engine":"magento"}"""));

        var errors = (await response.ReadAsync()).GetProperty("errors");
        Assert.Contains("lowercase", errors.GetProperty("name")[0].GetString());
        Assert.Contains("small, medium, large", errors.GetProperty("plan")[0].GetString());
        Assert.Contains("woocommerce", errors.GetProperty("engine")[0].GetString());
    }

    [Fact]
    public async Task UnknownField_IsNamedInTheError()
    {
        var response = await _client.PostAsync("/api/v1/stores", Json.Body("""{"name":"shop","owner":"mallory"}"""));

        var errors = (await response.ReadAsync()).GetProperty("errors");
        Assert.Contains("Unknown field 'owner'", errors.GetProperty("owner")[0].GetString());
    }
}

using System.Net;
using System.Text.Json.Nodes;

namespace Storefleet.Cli.Auth;

/// <summary>A device authorization in progress (RFC 8628 §3.2): what the person opens and types, and how long it lasts.</summary>
public sealed record DeviceAuthorization(string DeviceCode, string UserCode, string VerificationUri, string? VerificationUriComplete, TimeSpan ExpiresIn, TimeSpan Interval);

/// <summary>What the token endpoint gave: an access token for the API, and (with offline_access) a refresh token.</summary>
public sealed record TokenSet(string AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt);

/// <summary>
/// An OpenID Connect provider as the CLI needs it: its discovery document, the device authorization grant to sign a
/// person in without a browser on this machine, and the refresh-token grant to keep them signed in.
/// </summary>
public sealed class IdentityProvider
{
    private const string DeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private readonly HttpClient _http;
    private readonly string _tokenEndpoint;
    private readonly string? _deviceEndpoint;

    private IdentityProvider(HttpClient http, string issuer, string tokenEndpoint, string? deviceEndpoint)
    {
        _http = http;
        Issuer = issuer;
        _tokenEndpoint = tokenEndpoint;
        _deviceEndpoint = deviceEndpoint;
    }

    public string Issuer { get; }

    /// <summary>Reads <c>{issuer}/.well-known/openid-configuration</c>.</summary>
    public static async Task<IdentityProvider> DiscoverAsync(HttpClient http, string issuer, CancellationToken cancellationToken)
    {
        var address = issuer.TrimEnd('/') + "/.well-known/openid-configuration";
        JsonNode? document;
        try
        {
            using var response = await http.GetAsync(address, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new CliException(ExitCodes.Unreachable, $"The identity provider answered {(int)response.StatusCode} for {address}. Ask the server's operator to check Storefleet:Access:Oidc:Authority.");
            }

            document = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new CliException(ExitCodes.Unreachable, $"Cannot read the identity provider's discovery document at {address} ({e.GetBaseException().Message}). Check that this machine can reach it.");
        }

        var token = document?["token_endpoint"]?.GetValue<string>()
            ?? throw new CliException(ExitCodes.Unreachable, $"The identity provider's discovery document at {address} names no token_endpoint.");
        return new IdentityProvider(http, issuer, token, document?["device_authorization_endpoint"]?.GetValue<string>());
    }

    /// <summary>Starts the device flow: the provider returns the code the person enters at its verification page.</summary>
    public async Task<DeviceAuthorization> StartDeviceAuthorizationAsync(string clientId, IEnumerable<string> scopes, string? audience, CancellationToken cancellationToken)
    {
        if (_deviceEndpoint is null)
        {
            throw new CliException(ExitCodes.Unauthorized, $"The identity provider {Issuer} does not offer the device authorization grant. Sign in with an API token instead: storefleet login <url> --use-token.");
        }

        var form = new Dictionary<string, string> { ["client_id"] = clientId, ["scope"] = string.Join(' ', scopes) };
        if (!string.IsNullOrWhiteSpace(audience))
        {
            form["audience"] = audience; // some providers (Auth0) need it to issue a JWT for the API; others ignore it (RFC 6749 §3.1)
        }

        var (status, answer) = await PostAsync(_deviceEndpoint, form, cancellationToken);
        if (status != HttpStatusCode.OK)
        {
            throw new CliException(ExitCodes.Unauthorized, $"The identity provider refused to start a device sign-in: {Describe(answer)}. Ask the server's operator to enable the device authorization grant for client '{clientId}'.");
        }

        return new DeviceAuthorization(
            Required(answer, "device_code"),
            Required(answer, "user_code"),
            answer["verification_uri"]?.GetValue<string>() ?? Required(answer, "verification_url"),
            answer["verification_uri_complete"]?.GetValue<string>(),
            TimeSpan.FromSeconds(Number(answer, "expires_in") ?? 600),
            TimeSpan.FromSeconds(Math.Max(1, Number(answer, "interval") ?? 5)));
    }

    /// <summary>Polls the token endpoint at the provider's pace until the person approves, refuses, or the code expires.</summary>
    public async Task<TokenSet> WaitForApprovalAsync(string clientId, DeviceAuthorization authorization, TimeProvider time, CancellationToken cancellationToken)
    {
        var interval = authorization.Interval;
        var deadline = time.GetUtcNow() + authorization.ExpiresIn;
        while (true)
        {
            await Task.Delay(interval, time, cancellationToken);
            var (status, answer) = await PostAsync(_tokenEndpoint, new Dictionary<string, string>
            {
                ["grant_type"] = DeviceCodeGrant,
                ["device_code"] = authorization.DeviceCode,
                ["client_id"] = clientId,
            }, cancellationToken);
            if (status == HttpStatusCode.OK)
            {
                return Tokens(answer, time);
            }

            switch (answer["error"]?.GetValue<string>())
            {
                case "authorization_pending" when time.GetUtcNow() < deadline:
                    continue;
                case "slow_down" when time.GetUtcNow() < deadline:
                    interval += TimeSpan.FromSeconds(5); // RFC 8628 §3.5
                    continue;
                case "access_denied":
                    throw new CliException(ExitCodes.Unauthorized, "The sign-in was refused at the identity provider. Run 'storefleet login' again to retry.");
                case "authorization_pending" or "slow_down" or "expired_token":
                    throw new CliException(ExitCodes.Unauthorized, "The code expired before the sign-in was approved. Run 'storefleet login' again and approve it within the time shown.");
                default:
                    throw new CliException(ExitCodes.Unauthorized, $"The identity provider refused the sign-in: {Describe(answer)}.");
            }
        }
    }

    /// <summary>Trades a refresh token for a new access token; null when the provider no longer accepts it.</summary>
    public async Task<TokenSet?> RefreshAsync(string clientId, string refreshToken, TimeProvider time, CancellationToken cancellationToken)
    {
        var (status, answer) = await PostAsync(_tokenEndpoint, new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = clientId,
        }, cancellationToken);
        if (status == HttpStatusCode.OK)
        {
            var tokens = Tokens(answer, time);
            return tokens.RefreshToken is null ? tokens with { RefreshToken = refreshToken } : tokens; // providers may or may not rotate it
        }

        return answer["error"]?.GetValue<string>() is "invalid_grant" or "invalid_token" or "unauthorized_client"
            ? null
            : throw new CliException(ExitCodes.Unreachable, $"The identity provider could not refresh the sign-in: {Describe(answer)}. Try again, or run 'storefleet login' again.");
    }

    private async Task<(HttpStatusCode Status, JsonObject Answer)> PostAsync(string endpoint, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new FormUrlEncodedContent(form);
            using var response = await _http.PostAsync(endpoint, content, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonObject answer;
            try
            {
                answer = JsonNode.Parse(text) as JsonObject ?? [];
            }
            catch (System.Text.Json.JsonException)
            {
                answer = new JsonObject { ["error"] = $"HTTP {(int)response.StatusCode}" };
            }

            return (response.StatusCode, answer);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new CliException(ExitCodes.Unreachable, $"Cannot reach the identity provider at {endpoint} ({e.GetBaseException().Message}). Check that this machine can reach it.");
        }
    }

    private static TokenSet Tokens(JsonObject answer, TimeProvider time) =>
        new(Required(answer, "access_token"), answer["refresh_token"]?.GetValue<string>(), time.GetUtcNow() + TimeSpan.FromSeconds(Number(answer, "expires_in") ?? 300));

    private static string Required(JsonObject answer, string field) =>
        answer[field]?.GetValue<string>() ?? throw new CliException(ExitCodes.Failed, $"The identity provider's answer has no '{field}'.");

    private static double? Number(JsonObject answer, string field) => answer[field] switch
    {
        JsonValue value when value.TryGetValue<double>(out var number) => number,
        JsonValue value when value.TryGetValue<string>(out var text) && double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };

    private static string Describe(JsonObject answer) =>
        string.Join(": ", new[] { answer["error"]?.GetValue<string>(), answer["error_description"]?.GetValue<string>() }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } text ? text : "no reason given";
}

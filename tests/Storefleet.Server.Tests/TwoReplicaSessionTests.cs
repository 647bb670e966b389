using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using StackExchange.Redis;
using Storefleet.Testing;

namespace Storefleet.Server.Tests;

/// <summary>
/// Two control-plane replicas (separate processes, separate home directories, one Redis): a session opened on
/// one is good on the other, and a form rendered by one posts to the other — the data-protection key ring is
/// shared in Redis, encrypted with the configured certificate.
/// </summary>
public sealed partial class TwoReplicaSessionTests : IAsyncLifetime
{
    private readonly string _admin = $"bootstrap-{Guid.NewGuid():N}{Guid.NewGuid():N}";
    private readonly string _prefix = $"two{Guid.NewGuid():N}"[..12] + ":";
    private RedisServerProcess _redis = null!;
    private ControlPlaneProcess _a = null!;
    private ControlPlaneProcess _b = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.StartAsync();
        var certificate = WriteCertificate();
        _a = await ControlPlaneProcess.StartAsync(Settings(certificate));
        _b = await ControlPlaneProcess.StartAsync(Settings(certificate));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task ASessionOpenedOnOneReplica_WorksOnTheOther_AndAFormRenderedByOnePostsToTheOther()
    {
        var (cookies, antiforgery) = await SignInPageAsync(_a);
        var signIn = Request(_a, HttpMethod.Post, "/auth/sign-in", cookies, new() { ["token"] = _admin, [antiforgery.Name] = antiforgery.Value, ["returnUrl"] = "/" });
        var signedIn = await Send(_a, signIn);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var session = signedIn.Headers.GetValues("Set-Cookie").First(c => c.StartsWith("storefleet.session=", StringComparison.Ordinal)).Split(';')[0];

        var onB = await Send(_b, Request(_b, HttpMethod.Get, "/api/v1/stores", [session]));
        Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
        var dashboard = await Send(_b, Request(_b, HttpMethod.Get, "/", [session]));
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);

        var signOut = await Send(_b, Request(_b, HttpMethod.Post, "/auth/sign-out", [.. cookies, session], new() { [antiforgery.Name] = antiforgery.Value }));
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
    }

    [Fact]
    public async Task TheSharedKeyRing_IsInRedis_EncryptedWithTheCertificate()
    {
        await SignInPageAsync(_a);

        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var ring = await redis.GetDatabase().ListRangeAsync($"{_prefix}dataprotection-keys");

        var xml = string.Join('\n', ring.Select(v => (string)v!));
        Assert.NotEmpty(ring);
        Assert.Contains("EncryptedData", xml);
        Assert.DoesNotContain("<value>", xml);
    }

    private Dictionary<string, string> Settings(string certificate) => new()
    {
        ["ConnectionStrings__Redis"] = _redis.ConnectionString,
        ["Storefleet__State__KeyPrefix"] = _prefix,
        ["Storefleet__Access__BootstrapAdminToken"] = _admin,
        ["Storefleet__Engine__Enabled"] = "false",
        ["Storefleet__DataProtection__CertificatePath"] = certificate,
        ["Storefleet__DataDirectory"] = Directory.CreateTempSubdirectory("replica-data-").FullName,
        // Each replica its own home: nothing shared through the file system.
        ["HOME"] = Directory.CreateTempSubdirectory("replica-home-").FullName,
    };

    private static async Task<(List<string> Cookies, (string Name, string Value) Antiforgery)> SignInPageAsync(ControlPlaneProcess replica)
    {
        var page = await Send(replica, new HttpRequestMessage(HttpMethod.Get, "/sign-in"));
        var field = AntiforgeryField().Match(await page.Content.ReadAsStringAsync());
        Assert.True(field.Success, "no antiforgery field on the sign-in page");
        return ([.. page.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0])], (field.Groups[1].Value, field.Groups[2].Value));
    }

    private static HttpRequestMessage Request(ControlPlaneProcess replica, HttpMethod method, string path, IEnumerable<string> cookies, Dictionary<string, string>? form = null)
    {
        var request = new HttpRequestMessage(method, new Uri(replica.BaseAddress, path));
        request.Headers.Add("Cookie", string.Join("; ", cookies));
        if (form is not null)
        {
            request.Content = new FormUrlEncodedContent(form);
        }

        return request;
    }

    private static async Task<HttpResponseMessage> Send(ControlPlaneProcess replica, HttpRequestMessage request)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = replica.BaseAddress };
        return await http.SendAsync(request);
    }

    private static string WriteCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=storefleet-dataprotection", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(5));
        var path = Path.Combine(Directory.CreateTempSubdirectory("dataprotection-").FullName, "tls.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem());
        return path;
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

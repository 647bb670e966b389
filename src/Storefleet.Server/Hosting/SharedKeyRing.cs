using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using StackExchange.Redis;
using Storefleet.Core;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Server.Hosting;

/// <summary>Where the data-protection key ring is encrypted from (section <c>Storefleet:DataProtection</c>).</summary>
public sealed class KeyRingOptions
{
    public const string SectionName = "Storefleet:DataProtection";

    /// <summary>
    /// PEM certificate whose key encrypts the key ring before it is written to Redis (the platform chart mounts one
    /// from a Secret). Unset (local runs): the keys are stored as they are, inside the same trust boundary as Redis.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key of <see cref="CertificatePath"/> (default: the same file).</summary>
    public string? KeyPath { get; set; }
}

/// <summary>
/// One data-protection key ring for every replica: cookies, antiforgery tokens and the dashboard's circuit state
/// issued by one replica are accepted by all. Kept in Redis (the embedded Garnet locally) under the state's key
/// prefix, application name "storefleet", encrypted with a certificate when one is configured.
/// </summary>
public static class SharedKeyRing
{
    public const string ApplicationName = "storefleet";

    public static IServiceCollection AddSharedKeyRing(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(KeyRingOptions.SectionName).Get<KeyRingOptions>() ?? new KeyRingOptions();
        var builder = services.AddDataProtection().SetApplicationName(ApplicationName);
        if (!string.IsNullOrWhiteSpace(settings.CertificatePath))
        {
            var certificate = Load(settings);
            builder.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        }

        services.AddOptions<KeyManagementOptions>().Configure<IConnectionMultiplexer, RedisKeys>((options, redis, keys) =>
            options.XmlRepository = new RedisXmlRepository(() => redis.GetDatabase(), keys.DataProtectionKeys));
        return services;
    }

    private static X509Certificate2 Load(KeyRingOptions settings)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(settings.CertificatePath!, settings.KeyPath ?? settings.CertificatePath);
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new SettingException($"Storefleet:DataProtection:CertificatePath '{settings.CertificatePath}' (key '{settings.KeyPath ?? settings.CertificatePath}') could not be read as a PEM certificate with its private key: {e.Message}", e);
        }
    }
}

using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Storefleet.Server.Hosting;

/// <summary>Writes readiness as a small JSON document: overall status and each check's description.</summary>
internal static class HealthResponseWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("status", report.Status.ToString());
            writer.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                writer.WriteStartObject(name);
                writer.WriteString("status", entry.Status.ToString());
                writer.WriteString("description", entry.Description);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return context.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}

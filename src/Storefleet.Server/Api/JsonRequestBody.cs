using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Net.Http.Headers;

namespace Storefleet.Server.Api;

/// <summary>
/// Reads a JSON request body strictly, turning every way it can be wrong into a problem+json answer:
/// 415 for another content type, 413 above <see cref="MaxBytes"/>, 400 with per-field errors for
/// empty or malformed JSON, wrong types, duplicate or unknown fields.
/// </summary>
internal static class JsonRequestBody
{
    public const int MaxBytes = 16 * 1024;

    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        TypeInfoResolver = ApiJsonContext.Default,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict, // "1" is not a number (the web defaults would read it as one)
        AllowDuplicateProperties = false,
        RespectNullableAnnotations = true,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    };

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        if (!IsJson(request.ContentType))
        {
            return (null, Problems.UnsupportedMediaType(request.ContentType));
        }

        if (request.ContentLength > MaxBytes)
        {
            return (null, Problems.TooLarge(MaxBytes));
        }

        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return (null, Problems.TooLarge(MaxBytes));
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return (null, Problems.Validation("body", "The request body is empty; send a JSON object."));
        }

        var typeInfo = (JsonTypeInfo<T>)Strict.GetTypeInfo(typeof(T));
        try
        {
            var value = JsonSerializer.Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), typeInfo);
            return value is null
                ? (null, Problems.Validation("body", "The request body must be a JSON object, not null."))
                : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Problems.Validation(FieldOf(e.Path), Describe(e, typeInfo)));
        }
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && (parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || parsed.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true)
        && (!parsed.Charset.HasValue || parsed.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static string FieldOf(string? path) =>
        path is null or "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static string Describe(JsonException e, JsonTypeInfo typeInfo)
    {
        var accepted = string.Join(", ", typeInfo.Properties.Select(p => p.Name));
        var field = FieldOf(e.Path);
        if (e.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"Unknown field '{field}'. Accepted fields: {accepted}.";
        }

        if (e.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return $"Field '{field}' appears more than once.";
        }

        if (field != "body" && typeInfo.Properties.Any(p => p.Name == field))
        {
            return $"Field '{field}' must be a JSON string.";
        }

        if (e.Message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"The body must be a JSON object with the fields {accepted}.";
        }

        return $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).";
    }
}

namespace Storefleet.Server.Api;

/// <summary>RFC 9457 problem details used by the API, each saying what to do next.</summary>
internal static class Problems
{
    public const string TypeBase = "https://storefleet.dev/problems/";

    public static IResult Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] });

    public static IResult Validation(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "The request is not valid.", type: TypeBase + "validation",
            detail: "Fix the fields listed in 'errors' and send the request again.");

    public static IResult UnsupportedMediaType(string? contentType) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status415UnsupportedMediaType,
            title: "Unsupported content type.",
            detail: $"Send the body as JSON with 'Content-Type: application/json' (got '{contentType ?? "none"}').",
            type: TypeBase + "unsupported-media-type");

    public static IResult TooLarge(int maxBytes) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "The request body is too large.",
            detail: $"Request bodies are limited to {maxBytes} bytes.",
            type: TypeBase + "too-large");

    public static IResult StoreNotFound(string name) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Store not found.",
            detail: $"There is no store named '{name}'. List stores with GET /api/v1/stores.",
            type: TypeBase + "store-not-found");

    public static IResult ClusterUnavailable(string detail) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "The Kubernetes cluster is unavailable.",
            detail: $"{detail} Try again when the cluster is reachable (GET /readyz shows its state).",
            type: TypeBase + "cluster-unavailable");

    public static IResult Conflict(string title, string detail, string slug) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: title, detail: detail, type: TypeBase + slug);

    public static IResult Unprocessable(string title, string detail, string slug) =>
        TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: title, detail: detail, type: TypeBase + slug);
}

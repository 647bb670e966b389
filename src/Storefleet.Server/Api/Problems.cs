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

    public static IResult Unauthenticated() =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Authentication required.",
            detail: "Send 'Authorization: Bearer <token>' with an API token (an admin creates one with POST /api/v1/tokens), or sign in to the dashboard.",
            type: TypeBase + "unauthenticated");

    public static IResult Forbidden(string role) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "Your role does not allow this.",
            detail: $"Role '{role}' cannot do this. Viewers read their stores; members also create, retry and delete them; admins manage everything. Ask an admin for a token with the role you need.",
            type: TypeBase + "forbidden");

    public static IResult LimitReached(string limit, long value) => limit switch
    {
        "stores-total" => TypedResults.Problem(
            statusCode: StatusCodes.Status409Conflict,
            title: "The platform is at its store limit.",
            detail: $"Storefleet runs at most {value} stores (Storefleet:Access:MaxStoresTotal). Delete unused stores or ask an operator to raise the limit.",
            type: TypeBase + "stores-total",
            extensions: new Dictionary<string, object?> { ["limit"] = limit, ["value"] = value }),
        "provisioning-per-owner" => TypedResults.Problem(
            statusCode: StatusCodes.Status409Conflict,
            title: "Too many of your stores are being provisioned.",
            detail: $"At most {value} of your stores may be provisioning at once. Wait until some are ready (or failed), then create again.",
            type: TypeBase + "provisioning-per-owner",
            extensions: new Dictionary<string, object?> { ["limit"] = limit, ["value"] = value }),
        _ => TypedResults.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "You are at your store quota.",
            detail: $"You may have at most {value} stores. Delete one you no longer need, or ask an admin for a higher quota.",
            type: TypeBase + "stores-per-owner",
            extensions: new Dictionary<string, object?> { ["limit"] = limit, ["value"] = value }),
    };

    public static IResult RateLimited(TimeSpan retryAfter) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many requests.",
            detail: $"Slow down: try again in {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} s (see Retry-After).",
            type: TypeBase + "rate-limited");

    public static IResult PreconditionFailed(string name, string currentETag) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status412PreconditionFailed,
            title: "The store changed since you read it.",
            detail: $"Store '{name}' has another spec now (its ETag is {currentETag}). Read it again (GET /api/v1/stores/{name}), check the change still makes sense, and send it with the new If-Match.",
            type: TypeBase + "precondition-failed",
            extensions: new Dictionary<string, object?> { ["etag"] = currentETag });

    public static IResult PlanQuotaReached(string plan, int max) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "You are at your quota for this plan.",
            detail: $"You may have at most {max} stores on plan {plan} (Storefleet:Access:MaxStoresPerPlan). Choose another plan, move a store off it, or ask an admin.",
            type: TypeBase + "stores-per-plan",
            extensions: new Dictionary<string, object?> { ["limit"] = "stores-per-plan", ["plan"] = plan, ["value"] = max });

    public static IResult Conflict(string title, string detail, string slug) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: title, detail: detail, type: TypeBase + slug);

    public static IResult Unprocessable(string title, string detail, string slug) =>
        TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: title, detail: detail, type: TypeBase + slug);
}

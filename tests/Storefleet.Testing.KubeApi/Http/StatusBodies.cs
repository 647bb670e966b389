using System.Text.Json.Nodes;

namespace Storefleet.Testing.KubeApi.Http;

/// <summary>metav1.Status bodies shaped like the recorded answers of a real kube-apiserver.</summary>
public static class StatusBodies
{
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null)
        {
            status["details"] = details;
        }

        status["code"] = code;
        return status;
    }

    public static JsonObject NotFound(string plural, string name) =>
        Failure(404, "NotFound", $"{plural} \"{name}\" not found", Details(name, plural));

    public static JsonObject AlreadyExists(string plural, string name) =>
        Failure(409, "AlreadyExists", $"{plural} \"{name}\" already exists", Details(name, plural));

    public static JsonObject Conflict(string plural, string name) =>
        Failure(409, "Conflict", $"Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", Details(name, plural));

    public static JsonObject Invalid(string kind, string name, string field, string message) =>
        Invalid(kind, string.Empty, name, [new Schema.FieldError("FieldValueInvalid", field, message)]);

    /// <summary>422 Invalid listing every cause, as the real server does ("Kind.group "name" is invalid: [a, b]").</summary>
    public static JsonObject Invalid(string kind, string group, string name, IReadOnlyList<Schema.FieldError> errors)
    {
        var details = new JsonObject { ["name"] = name };
        if (group.Length > 0)
        {
            details["group"] = group;
        }

        details["kind"] = kind;
        details["causes"] = new JsonArray([.. errors.Select(e => (JsonNode)new JsonObject { ["reason"] = e.Reason, ["message"] = e.Message, ["field"] = e.Field })]);
        var qualified = group.Length > 0 ? $"{kind}.{group}" : kind;
        var list = errors.Count == 1 ? errors[0].ToString() : $"[{string.Join(", ", errors)}]";
        return Failure(422, "Invalid", $"{qualified} \"{name}\" is invalid: {list}", details);
    }

    /// <summary>403 Forbidden from admission ("pods "x" is forbidden: exceeded quota: ...").</summary>
    public static JsonObject Forbidden(string plural, string name, string reason) =>
        Failure(403, "Forbidden", $"{plural} \"{name}\" is forbidden: {reason}", Details(name, plural));

    public static JsonObject BadRequest(string message) => Failure(400, "BadRequest", message);

    public static JsonObject NamespaceTerminating(string plural, string name, string ns)
    {
        var details = Details(name, plural);
        details["causes"] = new JsonArray(new JsonObject { ["reason"] = "NamespaceTerminating", ["message"] = $"namespace {ns} is being terminated", ["field"] = "metadata.namespace" });
        return Failure(403, "Forbidden", $"{plural} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated", details);
    }

    public static JsonObject Expired(string message) => Failure(410, "Expired", message);

    public static JsonObject MethodNotAllowed(string message) => Failure(405, "MethodNotAllowed", message);

    private static JsonObject Details(string name, string kind) => new() { ["name"] = name, ["kind"] = kind };
}

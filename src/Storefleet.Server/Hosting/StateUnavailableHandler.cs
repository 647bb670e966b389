using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Server.Hosting;

/// <summary>
/// Redis unreachable, stalled, switching primaries (a replica answering <c>READONLY</c>, a primary <c>LOADING</c>) or a
/// write its replicas did not confirm: a 503 problem with <c>Retry-After</c>, never a 500 — the request changed nothing
/// a person was told about and can be sent again (creates are idempotent by name and spec, or by Idempotency-Key).
/// </summary>
public sealed partial class StateUnavailableHandler(ILogger<StateUnavailableHandler> logger) : IExceptionHandler
{
    private static readonly string[] SwitchingReplies = ["READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN"];

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var detail = exception switch
        {
            ReplicationNotConfirmedException replication => $"{replication.Message} Send the same request again; it is safe to repeat.",
            RedisConnectionException or RedisTimeoutException => "The control plane's state store (Redis) did not answer. Send the request again in a few seconds; nothing was confirmed to you.",
            RedisServerException server when SwitchingReplies.Any(r => server.Message.StartsWith(r, StringComparison.Ordinal)) =>
                "The control plane's state store (Redis) is switching to a new primary. Send the request again in a few seconds.",
            _ => null,
        };
        if (detail is null || httpContext.Response.HasStarted)
        {
            return false;
        }

        LogUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.GetType().Name, exception.Message);
        httpContext.Response.Headers.RetryAfter = "2";
        await TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "The state store is unavailable.",
            detail: detail,
            type: Api.Problems.TypeBase + "state-unavailable").ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: Redis unavailable ({Kind}: {Reason})")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string kind, string reason);
}

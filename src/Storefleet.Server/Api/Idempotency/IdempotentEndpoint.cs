namespace Storefleet.Server.Api.Idempotency;

/// <summary>Marks an endpoint whose responses are replayed for a repeated <c>Idempotency-Key</c>.</summary>
public sealed class IdempotentEndpoint;

namespace Storefleet.Core;

/// <summary>
/// A check the host runs once, after its services are built and before anything is started or served. A
/// non-null answer is a refusal: one sentence saying what to change; the process prints it and exits with code 1.
/// </summary>
public interface IStartupCheck
{
    Task<string?> CheckAsync(CancellationToken cancellationToken);
}

namespace Storefleet.Cli;

/// <summary>A failure a person can act on: one sentence (what happened, what to do) and the exit code.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

namespace Storefleet.Cli;

/// <summary>What <c>storefleet</c> exits with (documented in <c>storefleet --help</c> and the README).</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The operation failed (the server refused it, or the store failed while waiting).</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong (unknown verb or option, missing argument).</summary>
    public const int Usage = 2;

    /// <summary>Not signed in, or the token may not do this (401/403).</summary>
    public const int Unauthorized = 3;

    /// <summary>The store (or token) does not exist, or is not yours.</summary>
    public const int NotFound = 4;

    /// <summary>The server cannot be reached (or is unavailable: 503).</summary>
    public const int Unreachable = 5;

    public const string Summary = "Exit codes: 0 success, 1 the operation failed, 2 usage, 3 not signed in or forbidden, 4 not found, 5 server unreachable.";
}

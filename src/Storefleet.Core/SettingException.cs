namespace Storefleet.Core;

/// <summary>
/// A setting keeps the control plane from starting or working; the message says which and what to
/// change. The host prints it as one sentence and exits with code 1 instead of a stack trace.
/// </summary>
public sealed class SettingException(string message, Exception? inner = null) : Exception(message, inner);

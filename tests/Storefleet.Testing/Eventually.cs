using System.Diagnostics;

namespace Storefleet.Testing;

/// <summary>
/// Thrown from a probe when waiting longer cannot help (a process died, the store failed for another
/// reason): <see cref="Eventually"/> stops at once and the test fails with this message.
/// </summary>
public sealed class GiveUpException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Waits for a condition with a timeout instead of sleeping a fixed time.</summary>
public static class Eventually
{
    /// <summary>
    /// Polls <paramref name="probe"/> until it returns a value. Other exceptions count as "not yet" (the
    /// last one is reported on timeout); a <see cref="GiveUpException"/> ends the wait at once.
    /// </summary>
    public static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (GiveUpException)
            {
                throw;
            }
            catch (Exception e)
            {
                last = e;
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(20));
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s waiting for {what}." + (last is null ? string.Empty : $" Last error: {last.Message}"), last);
    }

    public static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        WaitForAsync<object>(async () => await condition() ? new object() : null, timeout, what);
}

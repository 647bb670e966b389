using Microsoft.Extensions.Options;
using Storefleet.Server.Access;

namespace Storefleet.Server.Tests;

/// <summary>The in-memory bad-token throttle forgets clients whose failures left the window.</summary>
public sealed class FailedSignInThrottleTests
{
    [Fact]
    public void ClientsWhoseFailuresExpired_AreForgotten_SoTheThrottleDoesNotGrowForever()
    {
        var clock = new MovableClock();
        var throttle = new FailedSignInThrottle(Options.Create(new AccessOptions()), clock);
        for (var i = 0; i < 1000; i++)
        {
            throttle.RecordFailure($"10.0.{i / 250}.{i % 250}");
        }

        Assert.Equal(1000, throttle.TrackedClients);
        clock.Advance(TimeSpan.FromMinutes(2));
        throttle.RecordFailure("192.0.2.7");

        Assert.Equal(1, throttle.TrackedClients);
    }

    private sealed class MovableClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}

using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Storefleet.Core.Provisioning;
using Storefleet.Engine.Reconciling;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>
/// The lease keeper on a clock the test moves: when the work must stop, when a helm still running must be killed (before
/// Redis can give the lease to another worker), and that the lease keeps being renewed while the work winds down.
/// TTL 3 s: renewals every 1 s, the local deadline 2 s after the last renewal was sent, the kill 2.5 s after it.
/// </summary>
public sealed class LeaseKeeperTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly Lease Lease = new("keeper-test", "replica-a", 7, "n0nce");
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task RenewalsThatFail_StopTheWorkAtTheLocalDeadline_AndCallForTheKillHalfAMarginLater()
    {
        var clock = new CountingClock(Start);
        var queue = new ScriptedRenewals(RenewalAnswer.Fail);
        await using var keeper = new LeaseKeeper(Lease, queue, Ttl, clock, NullLogger.Instance, clock.GetTimestamp(), CancellationToken.None);

        await AdvanceAsync(clock, queue, TimeSpan.FromSeconds(1.9));
        Assert.False(keeper.Token.IsCancellationRequested);
        Assert.False(keeper.Lost);

        clock.Advance(TimeSpan.FromSeconds(0.2)); // 2.1 s: past the local deadline
        await Eventually.WaitUntilAsync(() => Task.FromResult(keeper.Token.IsCancellationRequested), Wait, "the work to be stopped");
        Assert.True(keeper.Lost);
        Assert.Throws<LeaseLapsedException>(keeper.EnsureHeld);
        Assert.False(keeper.Expiring.IsCancellationRequested, "a helm told to stop gets its grace while the lease surely still holds");

        clock.Advance(TimeSpan.FromSeconds(0.5)); // 2.6 s: half the 1 s margin before Redis may expire the lease
        await Eventually.WaitUntilAsync(() => Task.FromResult(keeper.Expiring.IsCancellationRequested), Wait, "the kill signal");
    }

    [Fact]
    public async Task RedisSayingTheLeaseIsAnothers_StopsTheWorkAndCallsForTheKillAtOnce()
    {
        var clock = new CountingClock(Start);
        var queue = new ScriptedRenewals(RenewalAnswer.Another);
        await using var keeper = new LeaseKeeper(Lease, queue, Ttl, clock, NullLogger.Instance, clock.GetTimestamp(), CancellationToken.None);

        clock.Advance(TimeSpan.FromSeconds(1)); // the first renewal
        await Eventually.WaitUntilAsync(() => Task.FromResult(keeper.Expiring.IsCancellationRequested), Wait, "the kill signal");
        Assert.True(keeper.Token.IsCancellationRequested);
        Assert.True(keeper.Lost);
    }

    [Fact]
    public async Task SuccessfulRenewals_PushBothTheDeadlineAndTheKillBack()
    {
        var clock = new CountingClock(Start);
        var queue = new ScriptedRenewals(RenewalAnswer.Held);
        await using var keeper = new LeaseKeeper(Lease, queue, Ttl, clock, NullLogger.Instance, clock.GetTimestamp(), CancellationToken.None);

        await AdvanceAsync(clock, queue, TimeSpan.FromSeconds(30));

        Assert.True(queue.Renewals >= 29, $"{queue.Renewals} renewals in 30 s");
        Assert.False(keeper.Lost);
        Assert.False(keeper.Token.IsCancellationRequested);
        Assert.False(keeper.Expiring.IsCancellationRequested);
    }

    [Fact]
    public async Task TheHostStopping_StopsTheWork_ButTheLeaseIsRenewedUntilTheWorkHasEnded()
    {
        var clock = new CountingClock(Start);
        var queue = new ScriptedRenewals(RenewalAnswer.Held);
        using var host = new CancellationTokenSource();
        await using var keeper = new LeaseKeeper(Lease, queue, Ttl, clock, NullLogger.Instance, clock.GetTimestamp(), host.Token);

        await host.CancelAsync();
        Assert.True(keeper.Token.IsCancellationRequested);

        // helm takes 6 s to obey its SIGTERM: the lease must cover it all along, so it is never killed for want of a lease.
        await AdvanceAsync(clock, queue, TimeSpan.FromSeconds(6));
        Assert.True(queue.Renewals >= 5, $"{queue.Renewals} renewals while the work was stopping");
        Assert.False(keeper.Lost);
        Assert.False(keeper.Expiring.IsCancellationRequested);

        await keeper.StopAsync();
        var renewals = queue.Renewals;
        await AdvanceAsync(clock, queue, TimeSpan.FromSeconds(3), expectRenewals: false);
        Assert.Equal(renewals, queue.Renewals);
    }

    [Fact]
    public async Task WhenTimersRunLate_TheLeaseStillReadsLostOnceTheClockPassedTheDeadline()
    {
        // A starved thread pool: the clock moves on but no timer fires (no renewal, no deadline callback).
        var clock = new StalledTimers();
        var queue = new ScriptedRenewals(RenewalAnswer.Held);
        await using var keeper = new LeaseKeeper(Lease, queue, Ttl, clock, NullLogger.Instance, clock.GetTimestamp(), CancellationToken.None);

        clock.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(keeper.Lost);
        keeper.EnsureHeld();

        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.True(keeper.Lost);
        Assert.Throws<LeaseLapsedException>(keeper.EnsureHeld);
        Assert.Equal(0, queue.Renewals);
    }

    /// <summary>
    /// Moves the clock in 100 ms steps. The keeper renews at every whole second since <see cref="Start"/>; after each step
    /// this waits until every renewal due so far was attempted and the loop armed its next tick, so no step lands while
    /// the loop is between a tick and its attempt (the clock would otherwise run ahead of it).
    /// </summary>
    private static async Task AdvanceAsync(CountingClock clock, ScriptedRenewals queue, TimeSpan by, bool expectRenewals = true)
    {
        var baseline = clock.Armed - queue.Attempts;
        var step = TimeSpan.FromMilliseconds(100);
        for (var moved = TimeSpan.Zero; moved < by; moved += step)
        {
            clock.Advance(step);
            if (expectRenewals)
            {
                var due = (int)((clock.GetUtcNow() - Start).Ticks / TimeSpan.TicksPerSecond);
                await Eventually.WaitUntilAsync(() => Task.FromResult(queue.Attempts >= due && clock.Armed >= baseline + queue.Attempts), Wait,
                    $"the renewal loop to attempt renewal {due} and arm its next tick (attempts {queue.Attempts}, timers {clock.Armed - baseline})");
            }
        }
    }

    /// <summary>A fake clock that counts the timers armed on it (the renewal loop arms one delay per tick).</summary>
    private sealed class CountingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private int _armed;

        public int Armed => Volatile.Read(ref _armed);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _armed);
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    private enum RenewalAnswer
    {
        Held,
        Another,
        Fail,
    }

    /// <summary>The work queue's renewals, answered as the test says (the rest of the queue is not used by the keeper).</summary>
    private sealed class ScriptedRenewals(RenewalAnswer answer) : IWorkQueue
    {
        private int _attempts;
        private int _renewals;

        public int Attempts => Volatile.Read(ref _attempts);

        public int Renewals => Volatile.Read(ref _renewals);

        public Task<bool> RenewAsync(Lease lease, TimeSpan ttl, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _attempts);
            switch (answer)
            {
                case RenewalAnswer.Fail:
                    return Task.FromException<bool>(new TimeoutException("Redis did not answer (scripted)"));
                case RenewalAnswer.Another:
                    return Task.FromResult(false);
                default:
                    Interlocked.Increment(ref _renewals);
                    return Task.FromResult(true);
            }
        }

        public Task EnqueueAsync(string store, DateTimeOffset due, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<Lease>> ClaimAsync(string holder, int max, TimeSpan ttl, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task CompleteAsync(Lease lease, DateTimeOffset? nextDue, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public event Action? Signalled
        {
            add { }
            remove { }
        }

        public CancellationToken NextReconnection => CancellationToken.None;
    }

    /// <summary>A clock whose timers never fire: what a process sees while its thread pool is starved.</summary>
    private sealed class StalledTimers : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverFires();

        private sealed class NeverFires : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}

using Microsoft.Extensions.Logging;
using Storefleet.Core.Provisioning;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// What every cluster write and helm start checks first: that this worker may still act on its store.
/// </summary>
public interface ILeaseGuard
{
    /// <summary>Throws <see cref="LeaseLapsedException"/> when the lease is lost or may have lapsed.</summary>
    void EnsureHeld();

    /// <summary>True when the lease is lost or may have lapsed.</summary>
    bool Lost();

    /// <summary>
    /// Asks Redis whether the lease still carries this worker's token (renewing it). True means nobody else can have held it
    /// since it was claimed — even when the local deadline passed (a stall, a renewal whose answer was lost); false when it
    /// is another's, gone, or Redis cannot say.
    /// </summary>
    Task<bool> ConfirmHeldAsync();

    /// <summary>
    /// Cancelled shortly before the lease could be claimed by another worker (half the margin before it expires in Redis,
    /// at once when Redis says it is another's): a helm told to stop that is still running then must be killed, whatever
    /// grace it was given, so that two helms never run on one release.
    /// </summary>
    CancellationToken Expiring { get; }
}

/// <summary>The worker can no longer be sure it holds its store's lease; it must stop touching the store.</summary>
public sealed class LeaseLapsedException(string message) : OperationCanceledException(message);

/// <summary>
/// Keeps one lease alive while its work runs, and stops the work the moment the lease may be gone.
/// Renews every TTL/3, each attempt bounded by that interval, and at once when the connection to Redis is restored (a
/// failover may have lost the lease); a failed attempt (a Redis timeout, a failover, a stall) is retried at the next
/// tick, never ends the renewing. A local deadline — when the last
/// successful renewal was sent, plus the TTL, minus a margin — is measured on the monotonic clock: past it,
/// or when Redis says the lease belongs to another token, <see cref="Token"/> is cancelled (helm gets
/// SIGTERM) and <see cref="EnsureHeld"/> throws, so no cluster write and no helm start happens without a lease.
/// <see cref="Expiring"/> follows half a margin later, still before Redis can hand the lease to anyone else: a helm that
/// has not exited by then is killed. Renewing goes on while the work stops for other reasons (the host shuts down, the
/// store is being deleted) until <see cref="StopAsync"/>, so the lease covers the work until it has really ended.
/// </summary>
public sealed partial class LeaseKeeper : ILeaseGuard, IAsyncDisposable
{
    private readonly Lease _lease;
    private readonly IWorkQueue _queue;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _validFor;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly TimeSpan _killAfter;
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _expiring;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _renewal;
    private readonly CancellationTokenSource _work;
    private readonly Task _renewing;
    private long _renewedAt;
    private int _lost;
    private int _lapsed;
    private readonly Lock _gate = new();

    /// <summary>Starts renewing <paramref name="lease"/> at once.</summary>
    /// <param name="lease">The lease just claimed.</param>
    /// <param name="queue">The queue that renews it.</param>
    /// <param name="ttl">The lease's time to live in Redis.</param>
    /// <param name="clock">Timers and the monotonic clock the deadline is measured on.</param>
    /// <param name="logger">Where renewal trouble is reported.</param>
    /// <param name="claimedAt">The monotonic timestamp taken just before the claim was sent (the lease is valid from no earlier).</param>
    /// <param name="stopping">The host's shutdown.</param>
    public LeaseKeeper(Lease lease, IWorkQueue queue, TimeSpan ttl, TimeProvider clock, ILogger logger, long claimedAt, CancellationToken stopping)
    {
        _lease = lease;
        _queue = queue;
        _ttl = ttl;
        _clock = clock;
        _logger = logger;
        _validFor = ValidFor(ttl);
        _killAfter = _validFor + ((ttl - _validFor) / 2);
        _renewedAt = claimedAt;
        var elapsed = clock.GetElapsedTime(claimedAt);
        _deadline = new CancellationTokenSource(NotNegative(_validFor - elapsed), clock);
        _expiring = new CancellationTokenSource(NotNegative(_killAfter - elapsed), clock);
        _work = CancellationTokenSource.CreateLinkedTokenSource(stopping, _deadline.Token, _stop.Token);
        _renewal = CancellationTokenSource.CreateLinkedTokenSource(_deadline.Token, _stop.Token);
        _renewing = RenewLoopAsync();
    }

    /// <summary>Cancelled when the work must stop: the lease is lost or may have lapsed, the host stops, or <see cref="StopAsync"/>.</summary>
    public CancellationToken Token => _work.Token;

    /// <summary>
    /// True once the lease is (or may be) gone: the worker must not complete or write under it. Read from the monotonic clock
    /// as well as from the deadline's timer, which a busy thread pool may run late.
    /// </summary>
    public bool Lost => Volatile.Read(ref _lost) == 1 || _deadline.IsCancellationRequested || LapsedByClock();

    public CancellationToken Expiring => _expiring.Token;

    bool ILeaseGuard.Lost() => Lost;

    public async Task<bool> ConfirmHeldAsync()
    {
        using var bound = new CancellationTokenSource(_validFor, _clock);
        try
        {
            return await _queue.RenewAsync(_lease, _ttl, bound.Token).WaitAsync(bound.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>How long a renewal counts for locally: the TTL minus a margin for clock rate differences and the trip to Redis.</summary>
    public static TimeSpan ValidFor(TimeSpan ttl) => ttl - TimeSpan.FromTicks(Math.Max(ttl.Ticks / 5, Math.Min(TimeSpan.FromSeconds(1).Ticks, ttl.Ticks / 3)));

    public void EnsureHeld()
    {
        if (Lost)
        {
            throw new LeaseLapsedException($"The lease on store '{_lease.Store}' (fence {_lease.Fence}) is lost or may have lapsed; this worker stops touching the store.");
        }
    }

    /// <summary>Ends the renewing (the work is done); the lease itself is released by the caller.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewing.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _work.Dispose();
        _renewal.Dispose();
        _expiring.Dispose();
        _deadline.Dispose();
        _stop.Dispose();
    }

    private async Task RenewLoopAsync()
    {
        var interval = _ttl / 3;
        while (!_renewal.IsCancellationRequested)
        {
            // Wait for the next tick, or less: after a reconnection (a failover may have lost the lease) check at once.
            using (var wake = CancellationTokenSource.CreateLinkedTokenSource(_renewal.Token, NextReconnection()))
            {
                try
                {
                    await Task.Delay(interval, _clock, wake.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_renewal.IsCancellationRequested)
                {
                    break;
                }
                catch (OperationCanceledException)
                {
                    LogReconnected(_logger, _lease.Store, _lease.Fence);
                }
            }

            var attemptAt = _clock.GetTimestamp();
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_renewal.Token);
                attempt.CancelAfter(interval);
                var held = await _queue.RenewAsync(_lease, _ttl, attempt.Token).WaitAsync(attempt.Token).ConfigureAwait(false);
                if (!held)
                {
                    LogLeaseLost(_logger, _lease.Store, _lease.Fence);
                    Interlocked.Exchange(ref _lost, 1);
                    await _work.CancelAsync().ConfigureAwait(false);
                    await _expiring.CancelAsync().ConfigureAwait(false);
                    return;
                }

                // Valid until the attempt's send time + TTL - margin (Redis set the expiry no earlier than that).
                lock (_gate)
                {
                    // Under the gate: a Lost read on another thread cannot latch between this check and the extension.
                    var elapsed = _clock.GetElapsedTime(attemptAt);
                    if (elapsed < _validFor && !Lost)
                    {
                        Interlocked.Exchange(ref _renewedAt, attemptAt);
                        _deadline.CancelAfter(_validFor - elapsed);
                        _expiring.CancelAfter(_killAfter - elapsed);
                    }
                }
            }
            catch (OperationCanceledException) when (_renewal.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Redis slow or unreachable: keep trying; the local deadline stops the work if it comes to that.
                LogRenewFailed(_logger, _lease.Store, e.Message, (_validFor - _clock.GetElapsedTime(Volatile.Read(ref _renewedAt))).TotalMilliseconds);
            }
        }

        if (_deadline.IsCancellationRequested && Volatile.Read(ref _lost) == 0)
        {
            LogDeadlinePassed(_logger, _lease.Store, _lease.Fence);
        }
    }

    /// <summary>The local deadline passed by the monotonic clock (sticky: a renewal answered later does not undo it).</summary>
    private bool LapsedByClock()
    {
        if (Volatile.Read(ref _lapsed) == 1)
        {
            return true;
        }

        lock (_gate)
        {
            if (Volatile.Read(ref _lapsed) == 1 || _clock.GetElapsedTime(Volatile.Read(ref _renewedAt)) < _validFor)
            {
                return Volatile.Read(ref _lapsed) == 1;
            }

            Interlocked.Exchange(ref _lapsed, 1);
        }

        // The deadline's timer is late: stop the work now (off this thread; the caller may be the work itself).
        _ = Task.Run(async () =>
        {
            try
            {
                await _deadline.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The keeper is gone with its work.
            }
        });
        return true;
    }

    /// <summary>The queue's reconnection signal; none once the queue is disposed (the host is stopping).</summary>
    private CancellationToken NextReconnection()
    {
        try
        {
            return _queue.NextReconnection;
        }
        catch (ObjectDisposedException)
        {
            return CancellationToken.None;
        }
    }

    private static TimeSpan NotNegative(TimeSpan span) => span > TimeSpan.Zero ? span : TimeSpan.Zero;

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Store}: Redis connection restored; re-checking lease {Fence} now.")]
    private static partial void LogReconnected(ILogger logger, string store, long fence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: lease {Fence} lost; another worker owns the store now.")]
    private static partial void LogLeaseLost(ILogger logger, string store, long fence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: lease renewal failed ({Reason}); retrying, {RemainingMs:0} ms of the lease left.")]
    private static partial void LogRenewFailed(ILogger logger, string store, string reason, double remainingMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: lease {Fence} could not be renewed before it may have lapsed; the work stops.")]
    private static partial void LogDeadlinePassed(ILogger logger, string store, long fence);
}

using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Claims due stores from the queue (up to <see cref="EngineOptions.MaxConcurrentReconciles"/> at once),
/// keeps each lease alive while its reconcile runs (<see cref="LeaseKeeper"/>: the work stops the moment
/// the lease may have lapsed), cancels the work when the store is deleted meanwhile (the deletion then
/// starts at once), and schedules the store's next look. A store is never worked on twice at once in this
/// process: a second claim (after a lease was lost) waits for the first run to end. An unexpected failure
/// goes through the same retry path as a failed step (backoff, attempts, a condition, Failed at the cap).
/// Idle workers sleep until a store becomes due: woken by the queue's pub/sub signal, or by the next due time.
/// </summary>
public sealed partial class EngineWorker(
    IWorkQueue queue,
    IStoreRepository repository,
    StoreReconciler reconciler,
    EngineActivity activity,
    EngineInstance instance,
    IOptions<EngineOptions> options,
    TimeProvider clock,
    ILogger<EngineWorker> logger) : BackgroundService
{
    private static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(1);
    private readonly EngineOptions _options = options.Value;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task> _inFlight = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        queue.Signalled += Wake;
        HoldClaimsAfterReconnections();
        var slots = new SemaphoreSlim(_options.MaxConcurrentReconciles, _options.MaxConcurrentReconciles);
        var running = new List<Task>();
        LogStarted(logger, instance.Id, _options.MaxConcurrentReconciles);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (ClaimHoldLeft() is { } hold)
                {
                    await SleepAsync(hold, stoppingToken);
                    continue;
                }

                await slots.WaitAsync(stoppingToken);
                IReadOnlyList<Lease> leases;
                var claimedAt = clock.GetTimestamp();
                try
                {
                    activity.ClaimAttempted();
                    leases = await queue.ClaimAsync(instance.Id, slots.CurrentCount + 1, _options.LeaseTtl, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    slots.Release();
                    LogQueueUnavailable(logger, e.Message);
                    await SleepAsync(TimeSpan.FromSeconds(1), stoppingToken);
                    continue;
                }

                activity.LeasesClaimed(leases.Count);
                if (leases.Count == 0)
                {
                    slots.Release();
                    await SleepAsync(await IdleTimeAsync(stoppingToken), stoppingToken);
                    continue;
                }

                for (var i = 1; i < leases.Count; i++)
                {
                    await slots.WaitAsync(stoppingToken);
                }

                foreach (var lease in leases)
                {
                    running.Add(StartRun(lease, claimedAt, slots, stoppingToken));
                }

                running.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: wait for in-flight work (helm got SIGTERM and records its state).
        }
        finally
        {
            queue.Signalled -= Wake;
            await Task.WhenAll(running);
        }
    }

    /// <summary>Runs one claimed lease; a run of the same store still going in this process is awaited first.</summary>
    private Task StartRun(Lease lease, long claimedAt, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var previous = _inFlight.TryGetValue(lease.Store, out var running) ? running : Task.CompletedTask;
        var run = RunAsync(lease, claimedAt, previous, slots, stoppingToken);
        _inFlight[lease.Store] = run;
        _ = run.ContinueWith(t => _inFlight.TryRemove(new KeyValuePair<string, Task>(lease.Store, t)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return run;
    }

    private async Task RunAsync(Lease lease, long claimedAt, Task previous, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        await Task.Yield();
        activity.ReconcileStarted();
        await using var keeper = new LeaseKeeper(lease, queue, _options.LeaseTtl, clock, logger, claimedAt, stoppingToken);
        using var work = CancellationTokenSource.CreateLinkedTokenSource(keeper.Token);
        var deleteRequested = false;
        DateTimeOffset? nextDue = null;

        void OnChanged(string name)
        {
            if (name == lease.Store && !work.IsCancellationRequested)
            {
                _ = CancelIfDeletingAsync();
            }
        }

        var startedDeleting = false;
        async Task CancelIfDeletingAsync()
        {
            try
            {
                if (await repository.GetAsync(lease.Store, CancellationToken.None) is { Phase: StorePhase.Deleting } && !startedDeleting)
                {
                    deleteRequested = true;
                    await work.CancelAsync();
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogChangeCheckFailed(logger, lease.Store, e.Message);
            }
        }

        try
        {
            // A run of this store from an earlier claim may still be stopping (its lease was lost): never two at once.
            try
            {
                await previous.WaitAsync(work.Token);
            }
            catch (Exception) when (!work.IsCancellationRequested)
            {
                // The earlier run's failure was its own (logged there).
            }

            var current = await SafeGetAsync(lease.Store);
            startedDeleting = current?.Phase == StorePhase.Deleting;
            repository.Changed += OnChanged;
            using var span = Telemetry.StorefleetTracing.StartReconcile(lease.Store, current?.TraceParent);
            nextDue = await reconciler.ReconcileAsync(lease, keeper, work.Token);
        }
        catch (OperationCanceledException) when (keeper.Lost)
        {
            // The lease is gone or may be: stop touching the store; whoever holds it now carries on. Should Redis say
            // below that it never left this worker (a stall), the store is released as due now rather than left to expire.
            activity.LeaseLost();
            nextDue = clock.GetUtcNow();
        }
        catch (OperationCanceledException) when (deleteRequested)
        {
            LogCancelledForDeletion(logger, lease.Store);
            nextDue = clock.GetUtcNow();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            nextDue = clock.GetUtcNow();
        }
        catch (Exception e)
        {
            // Not a step's failure the reconciler classified: still counted, backed off and shown on the store.
            LogReconcileCrashed(logger, e, lease.Store);
            nextDue = await reconciler.RecordUnexpectedFailureAsync(lease, keeper, e, CancellationToken.None);
        }
        finally
        {
            repository.Changed -= OnChanged;
            await work.CancelAsync();
            await keeper.StopAsync();
            try
            {
                if (!keeper.Lost || await keeper.ConfirmHeldAsync())
                {
                    await queue.CompleteAsync(lease, nextDue, CancellationToken.None);
                }
            }
            catch (Exception e)
            {
                // The lease expires by itself and the store becomes due again: nothing is lost.
                LogCompleteFailed(logger, lease.Store, e.Message);
            }

            activity.ReconcileFinished();
            slots.Release();
        }
    }

    private async Task<TimeSpan> IdleTimeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var next = await queue.NextDueAsync(cancellationToken);
            if (next is null)
            {
                return MaxIdle;
            }

            var wait = next.Value - clock.GetUtcNow();
            return wait < TimeSpan.FromMilliseconds(20) ? TimeSpan.FromMilliseconds(20) : wait > MaxIdle ? MaxIdle : wait;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return MaxIdle;
        }
    }

    /// <summary>
    /// After the connection to Redis is restored (a failover may have lost leases: replication is asynchronous), claim
    /// nothing new for one lease TTL. A worker whose lease vanished notices at its reconnection and stops its helm; the
    /// hold gives that helm the TTL to exit before anyone else may start one on the same release.
    /// </summary>
    private void HoldClaimsAfterReconnections() =>
        queue.NextReconnection.Register(() =>
        {
            Interlocked.Exchange(ref _claimHoldUntil, clock.GetTimestamp() + (long)(_options.LeaseTtl.TotalSeconds * clock.TimestampFrequency));
            LogHoldingClaims(logger, _options.LeaseTtl.TotalSeconds);
            HoldClaimsAfterReconnections();
        });

    private long _claimHoldUntil = long.MinValue;

    private TimeSpan? ClaimHoldLeft()
    {
        var until = Interlocked.Read(ref _claimHoldUntil);
        var now = clock.GetTimestamp();
        return until > now ? TimeSpan.FromSeconds((until - now) / (double)clock.TimestampFrequency) : null;
    }

    private async Task SleepAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(delay);
        try
        {
            await _wake.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timer: look at the queue again.
        }
    }

    private async Task<Store?> SafeGetAsync(string name)
    {
        try
        {
            return await repository.GetAsync(name, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provisioning engine {Instance} started ({Concurrency} concurrent stores).")]
    private static partial void LogStarted(ILogger logger, string instance, int concurrency);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis connection restored: claiming no new store for {Seconds} s (one lease TTL), so work whose lease a failover lost can stop first.")]
    private static partial void LogHoldingClaims(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Work queue unavailable ({Reason}); trying again.")]
    private static partial void LogQueueUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Store}: deletion requested; in-flight work cancelled.")]
    private static partial void LogCancelledForDeletion(ILogger logger, string store);

    [LoggerMessage(Level = LogLevel.Error, Message = "Store {Store}: reconcile failed unexpectedly; it is retried with backoff and fails after the attempts run out.")]
    private static partial void LogReconcileCrashed(ILogger logger, Exception exception, string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: releasing the lease failed ({Reason}); it expires by itself.")]
    private static partial void LogCompleteFailed(ILogger logger, string store, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: checking a change failed ({Reason}).")]
    private static partial void LogChangeCheckFailed(ILogger logger, string store, string reason);
}

/// <summary>This control-plane instance's identity in leases.</summary>
public sealed record EngineInstance(string Id);

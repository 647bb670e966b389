using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Engine.Reconciling;

/// <summary>
/// Claims due stores from the queue (up to <see cref="EngineOptions.MaxConcurrentReconciles"/> at once),
/// keeps each lease alive while its reconcile runs, cancels the work when the store is deleted meanwhile
/// (the deletion then starts at once), and schedules the store's next look. Idle workers sleep until a
/// store becomes due: woken by the queue's pub/sub signal, or by the next due time.
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        queue.Signalled += Wake;
        var slots = new SemaphoreSlim(_options.MaxConcurrentReconciles, _options.MaxConcurrentReconciles);
        var running = new List<Task>();
        LogStarted(logger, instance.Id, _options.MaxConcurrentReconciles);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                IReadOnlyList<Lease> leases;
                try
                {
                    leases = await queue.ClaimAsync(instance.Id, slots.CurrentCount + 1, _options.LeaseTtl, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    slots.Release();
                    LogQueueUnavailable(logger, e.Message);
                    await SleepAsync(TimeSpan.FromSeconds(1), stoppingToken);
                    continue;
                }

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
                    running.Add(RunAsync(lease, slots, stoppingToken));
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

    private async Task RunAsync(Lease lease, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        activity.ReconcileStarted();
        using var work = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var deleteRequested = false;
        var leaseLost = false;
        var startedDeleting = (await SafeGetAsync(lease.Store))?.Phase == StorePhase.Deleting;

        void OnChanged(string name)
        {
            if (name == lease.Store && !work.IsCancellationRequested)
            {
                _ = CancelIfDeletingAsync();
            }
        }

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

        repository.Changed += OnChanged;
        var renewal = RenewAsync(lease, work, () => leaseLost = true);
        DateTimeOffset? nextDue = null;
        try
        {
            nextDue = await reconciler.ReconcileAsync(lease, work.Token);
        }
        catch (OperationCanceledException) when (deleteRequested)
        {
            LogCancelledForDeletion(logger, lease.Store);
            nextDue = clock.GetUtcNow();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested || leaseLost)
        {
            nextDue = clock.GetUtcNow();
        }
        catch (Exception e)
        {
            LogReconcileCrashed(logger, e, lease.Store);
            nextDue = clock.GetUtcNow() + _options.RetryBaseDelay;
        }
        finally
        {
            repository.Changed -= OnChanged;
            await work.CancelAsync();
            await renewal;
            try
            {
                if (!leaseLost)
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

    private async Task RenewAsync(Lease lease, CancellationTokenSource work, Action onLost)
    {
        var interval = _options.LeaseTtl / 3;
        try
        {
            while (!work.IsCancellationRequested)
            {
                await Task.Delay(interval, clock, work.Token);
                if (!await queue.RenewAsync(lease, _options.LeaseTtl, CancellationToken.None))
                {
                    LogLeaseLost(logger, lease.Store, lease.Fence);
                    onLost();
                    await work.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Work finished.
        }
        catch (Exception e)
        {
            // Redis unreachable: the work continues; its writes fail if the lease lapses meanwhile (fencing).
            LogRenewFailed(logger, lease.Store, e.Message);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Work queue unavailable ({Reason}); trying again.")]
    private static partial void LogQueueUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Store}: deletion requested; in-flight work cancelled.")]
    private static partial void LogCancelledForDeletion(ILogger logger, string store);

    [LoggerMessage(Level = LogLevel.Error, Message = "Store {Store}: reconcile failed unexpectedly; it will be tried again.")]
    private static partial void LogReconcileCrashed(ILogger logger, Exception exception, string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: lease {Fence} lost; another worker owns the store now.")]
    private static partial void LogLeaseLost(ILogger logger, string store, long fence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: lease renewal failed ({Reason}).")]
    private static partial void LogRenewFailed(ILogger logger, string store, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: releasing the lease failed ({Reason}); it expires by itself.")]
    private static partial void LogCompleteFailed(ILogger logger, string store, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store {Store}: checking a change failed ({Reason}).")]
    private static partial void LogChangeCheckFailed(ILogger logger, string store, string reason);
}

/// <summary>This control-plane instance's identity in leases.</summary>
public sealed record EngineInstance(string Id);

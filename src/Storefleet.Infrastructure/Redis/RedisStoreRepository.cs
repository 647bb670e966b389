using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Storefleet.Core.Provisioning;
using Storefleet.Core.Stores;

namespace Storefleet.Infrastructure.Redis;

/// <summary>
/// <see cref="IStoreRepository"/> on Redis (or Garnet). Each write is one Lua script, so a record,
/// its indexes and its timeline never disagree.
/// </summary>
public sealed class RedisStoreRepository : IStoreRepository, IDisposable
{
    private readonly IConnectionMultiplexer redis;
    private readonly RedisKeys keys;
    private readonly StateOptions _options;
    private readonly ISubscriber _subscriber;

    public RedisStoreRepository(IConnectionMultiplexer redis, RedisKeys keys, IOptions<StateOptions> options)
    {
        this.redis = redis;
        this.keys = keys;
        _options = options.Value;
        _subscriber = redis.GetSubscriber();
        // Asynchronously: with Redis down at start the subscription is registered and made on connect.
        _ = _subscriber.SubscribeAsync(keys.ChangesChannel, (_, name) => Changed?.Invoke((string)name!)).ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    public event Action<string>? Changed;

    private IDatabase Db => redis.GetDatabase();

    public Task<CreateStoreResult> CreateAsync(Store store, StoreEvent created, CancellationToken cancellationToken = default) =>
        CreateAsync(store, created, CreateLimits.None, cancellationToken);

    public async Task<CreateStoreResult> CreateAsync(Store store, StoreEvent created, CreateLimits limits, CancellationToken cancellationToken = default)
    {
        var document = Serialize(StoreDocument.From(store));
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            StoreScripts.Create,
            [keys.Store(store.Name), keys.AllStores, keys.StoresByOwner(store.Owner), keys.StoresByPhase(store.Phase.ToWire()), keys.Events(store.Name),
             keys.StoresByPhase(StorePhase.Requested.ToWire()), keys.StoresByPhase(StorePhase.Provisioning.ToWire()), keys.StoresByPhase(StorePhase.Bootstrapping.ToWire()),
             keys.EventCount(store.Name), keys.ChangeSequence, keys.ChangeLog, keys.NameIndex, keys.StoresByPlan(store.Spec.Plan.Id), keys.Plans,
             keys.StoresByOwner(Core.Pool.WarmPool.Owner)],
            [document, store.Name, Score(store), Serialize(created), _options.MaxEventsPerStore, limits.MaxStoresPerOwner, limits.MaxStoresTotal, limits.MaxInProgressPerOwner,
             store.Owner, _options.MaxChanges, store.Spec.Plan.Id, store.IsPoolMember ? "0" : "1"]).ConfigureAwait(false))!;

        switch ((int)result[0])
        {
            case 1:
                await PublishChangeAsync(store.Name).ConfigureAwait(false);
                return new CreateStoreResult.Created(store with { Version = 1 });
            case 2:
                return new CreateStoreResult.LimitReached((string)result[1]!, (long)result[2]);
            default:
                return new CreateStoreResult.AlreadyExists(ReadDocument((string)result[1]!).ToStore((long)result[2]));
        }
    }

    public async Task<Store?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var values = await Db.HashGetAsync(keys.Store(name), ["data", "version"]).ConfigureAwait(false);
        return ToStore(values);
    }

    public async Task<Store?> GetIfLeasedAsync(Lease lease, CancellationToken cancellationToken = default)
    {
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(StoreScripts.GetIfLeased, [keys.Store(lease.Store), keys.Lease(lease.Store)], [lease.Token]).ConfigureAwait(false))!;
        return reply.Length == 2 ? ReadDocument((string)reply[0]!).ToStore((long)reply[1]) : null;
    }

    public async Task<UpdateStoreResult> UpdateAsync(Store updated, IReadOnlyList<StoreEvent> events, Lease? lease = null, CancellationToken cancellationToken = default)
    {
        var current = await GetAsync(updated.Name, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return new UpdateStoreResult.NotFound();
        }

        if (current.Version != updated.Version)
        {
            return new UpdateStoreResult.VersionConflict(current.Version);
        }

        if (current.Owner != updated.Owner || current.CreatedAt != updated.CreatedAt)
        {
            throw new InvalidOperationException($"The owner and creation time of store '{updated.Name}' cannot change.");
        }

        var args = new List<RedisValue>
        {
            updated.Version,
            Serialize(StoreDocument.From(updated)),
            updated.Name,
            Score(updated),
            _options.MaxEventsPerStore,
            lease?.Token ?? string.Empty,
            updated.Owner,
            _options.MaxChanges,
            updated.Spec.Plan.Id,
        };
        args.AddRange(events.Select(e => (RedisValue)Serialize(e)));

        // The script re-checks the version, so a concurrent writer between the read above and here loses cleanly.
        var outcome = (long)(await Db.ScriptEvaluateAsync(
            StoreScripts.Update,
            [keys.Store(updated.Name), keys.StoresByPhase(current.Phase.ToWire()), keys.StoresByPhase(updated.Phase.ToWire()), keys.Events(updated.Name), keys.Lease(updated.Name),
             keys.EventCount(updated.Name), keys.ChangeSequence, keys.ChangeLog, keys.StoresByPlan(current.Spec.Plan.Id), keys.StoresByPlan(updated.Spec.Plan.Id), keys.Plans],
            [.. args]).ConfigureAwait(false));

        var result = Outcome(outcome, () => new UpdateStoreResult.Updated(updated with { Version = outcome }));
        if (result is UpdateStoreResult.Updated)
        {
            await PublishChangeAsync(updated.Name).ConfigureAwait(false);
        }

        return result;
    }

    public async Task<UpdateStoreResult> RemoveAsync(Store current, StoreEvent tombstone, Lease? lease = null, CancellationToken cancellationToken = default)
    {
        var entry = new TombstoneEntry(current.Name, current.Owner, current.Spec.Engine.Id, current.Spec.Plan.Id, current.CreatedAt, tombstone);
        var outcome = (long)(await Db.ScriptEvaluateAsync(
            StoreScripts.Remove,
            [keys.Store(current.Name), keys.AllStores, keys.StoresByOwner(current.Owner), keys.StoresByPhase(current.Phase.ToWire()), keys.Events(current.Name), keys.Tombstones, keys.Lease(current.Name),
             keys.EventCount(current.Name), keys.ChangeSequence, keys.ChangeLog, keys.NameIndex, keys.StoresByPlan(current.Spec.Plan.Id)],
            [current.Version, current.Name, Serialize(tombstone), _options.MaxEventsPerStore, (long)_options.TombstoneRetention.TotalSeconds, _options.MaxTombstones,
             JsonSerializer.Serialize(entry, StateJsonContext.Default.TombstoneEntry), lease?.Token ?? string.Empty, current.Owner, _options.MaxChanges]).ConfigureAwait(false));

        var result = Outcome(outcome, () => new UpdateStoreResult.Updated(current));
        if (result is UpdateStoreResult.Updated)
        {
            await PublishChangeAsync(current.Name).ConfigureAwait(false);
        }

        return result;
    }

    public async Task<IReadOnlyList<string>> NamesInPhaseAsync(StorePhase phase, CancellationToken cancellationToken = default)
    {
        var names = await Db.SortedSetRangeByRankAsync(keys.StoresByPhase(phase.ToWire())).ConfigureAwait(false);
        return [.. names.Select(n => (string)n!)];
    }

    /// <summary>Fire and forget: the process (or its connection) is going away; a slow or lost Redis must not fail the shutdown.</summary>
    public void Dispose() => _subscriber.Unsubscribe(keys.ChangesChannel, flags: CommandFlags.FireAndForget);

    private static UpdateStoreResult Outcome(long outcome, Func<UpdateStoreResult> success) => outcome switch
    {
        -1 => new UpdateStoreResult.NotFound(),
        -3 => new UpdateStoreResult.LeaseLost(),
        <= -10 => new UpdateStoreResult.VersionConflict(-10 - outcome),
        _ => success(),
    };

    private Task<long> PublishChangeAsync(string name) => _subscriber.PublishAsync(keys.ChangesChannel, name);

    public async Task<StorePage> ListAsync(StoreQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, StoreQuery.MaxLimit);

        var after = query.Continue is null ? null : ContinueToken.Decode(query.Continue, query);
        var index = query.Phase is { } phase ? keys.StoresByPhase(phase.ToWire())
            : query.Owner is { } owner ? keys.StoresByOwner(owner)
            : keys.AllStores;
        if (!string.IsNullOrEmpty(query.NameSearch))
        {
            return await SearchAsync(query, after, index).ConfigureAwait(false);
        }

        // Walk the index newest first from the token's position, loading records a batch at a time
        // and keeping those that match the other filter, until the page (plus one, to know if there
        // is more) is full. Without a second filter this is one index read and one batch of loads.
        var items = new List<Store>(query.Limit + 1);
        var maxScore = after?.Score ?? double.PositiveInfinity;
        var skip = 0;
        var batch = query.Limit + 1;
        while (items.Count <= query.Limit)
        {
            var entries = await Db.SortedSetRangeByScoreWithScoresAsync(index, maxScore, double.NegativeInfinity, Exclude.None, Order.Descending, skip, batch).ConfigureAwait(false);
            skip += entries.Length;
            var candidates = entries
                .Where(e => after is null || e.Score < after.Score || string.CompareOrdinal((string)e.Element!, after.Name) < 0)
                .Select(e => (string)e.Element!)
                .ToArray();
            var loaded = await Task.WhenAll(candidates.Select(n => GetAsync(n, cancellationToken))).ConfigureAwait(false);
            foreach (var store in loaded)
            {
                // A store removed between the index read and the load is simply absent from the page.
                if (store is not null && Matches(store, query) && items.Count <= query.Limit)
                {
                    items.Add(store);
                }
            }

            if (entries.Length < batch)
            {
                break;
            }
        }

        if (items.Count <= query.Limit)
        {
            return new StorePage(items, null);
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        return new StorePage(items, new ContinueToken(Score(last), last.Name, ContinueToken.FilterOf(query)).Encode());
    }

    /// <summary>
    /// A name search, newest first like every list: the name index's lexicographic range gives the matching names
    /// (at most <see cref="MaxSearchMatches"/>), their scores in the chosen index (creation time; a name absent from a
    /// phase or owner index drops out) order and page them, and only the page's records are read.
    /// </summary>
    private async Task<StorePage> SearchAsync(StoreQuery query, ContinueToken? after, RedisKey index)
    {
        var search = query.NameSearch!;
        var upper = System.Text.Encoding.ASCII.GetBytes(search).Append((byte)0xFF).ToArray();
        var entries = await Db.SortedSetRangeByValueAsync(keys.NameIndex, search, upper, Exclude.None, Order.Ascending, 0, MaxSearchMatches + 1).ConfigureAwait(false);
        if (entries.Length > MaxSearchMatches)
        {
            throw new SearchTooBroadException(search, MaxSearchMatches);
        }

        var names = entries.Select(e => ((string)e!)[(((string)e!).IndexOf(' ', StringComparison.Ordinal) + 1)..]).Distinct(StringComparer.Ordinal).ToArray();
        var scores = names.Length == 0 ? [] : await Db.SortedSetScoresAsync(index, [.. names.Select(n => (RedisValue)n)]).ConfigureAwait(false);
        var candidates = names.Zip(scores, (name, score) => (Name: name, Score: score))
            .Where(c => c.Score is { } score && (after is null || score < after.Score || (score == after.Score && string.CompareOrdinal(c.Name, after.Name) < 0)))
            .OrderByDescending(c => c.Score).ThenByDescending(c => c.Name, StringComparer.Ordinal)
            .ToList();

        var items = new List<Store>(query.Limit + 1);
        for (var from = 0; from < candidates.Count && items.Count <= query.Limit; from += query.Limit + 1)
        {
            var loaded = await Task.WhenAll(candidates.Skip(from).Take(query.Limit + 1).Select(c => GetAsync(c.Name, cancellationToken: default))).ConfigureAwait(false);
            items.AddRange(loaded.OfType<Store>().Where(s => Matches(s, query)).Take(query.Limit + 1 - items.Count));
        }

        if (items.Count <= query.Limit)
        {
            return new StorePage(items, null);
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        return new StorePage(items, new ContinueToken(Score(last), last.Name, ContinueToken.FilterOf(query)).Encode());
    }

    /// <summary>How many name-index entries one search may examine.</summary>
    public const int MaxSearchMatches = 10_000;

    /// <summary>
    /// Adds every existing store to the name index once (stores created before the index existed); later creates and
    /// removals keep it current in their own scripts. Safe to run on several replicas at once.
    /// </summary>
    public async Task EnsureNameIndexAsync(CancellationToken cancellationToken = default)
    {
        if (await Db.KeyExistsAsync(keys.NameIndexBuilt).ConfigureAwait(false))
        {
            return;
        }

        const int batch = 1000;
        for (long start = 0; !cancellationToken.IsCancellationRequested; start += batch)
        {
            var names = await Db.SortedSetRangeByRankAsync(keys.AllStores, start, start + batch - 1).ConfigureAwait(false);
            if (names.Length > 0)
            {
                var entries = names.SelectMany(n => NameIndexEntries((string)n!)).Select(e => new SortedSetEntry(e, 0)).ToArray();
                await Db.SortedSetAddAsync(keys.NameIndex, entries).ConfigureAwait(false);
            }

            if (names.Length < batch)
            {
                break;
            }
        }

        cancellationToken.ThrowIfCancellationRequested(); // an interrupted backfill must run again at the next start
        await Db.StringSetAsync(keys.NameIndexBuilt, "1").ConfigureAwait(false);
    }

    /// <summary>
    /// Once per installation: puts stores created before the plan indexes existed into their plan's index. A store that
    /// changes meanwhile is skipped here and indexed by its change (every write re-adds it).
    /// </summary>
    public async Task EnsurePlanIndexAsync(CancellationToken cancellationToken = default)
    {
        if (await Db.KeyExistsAsync(keys.PlanIndexBuilt).ConfigureAwait(false))
        {
            return;
        }

        // ZSCAN returns every store present for the whole scan, whatever is created or removed meanwhile.
        var batch = new List<RedisValue>(500);
        await foreach (var entry in Db.SortedSetScanAsync(keys.AllStores, pageSize: 500).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            batch.Add(entry.Element);
            if (batch.Count == 500)
            {
                await IndexPlansAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }

        await IndexPlansAsync(batch).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested(); // an interrupted backfill must run again at the next start
        await Db.StringSetAsync(keys.PlanIndexBuilt, "1").ConfigureAwait(false);
    }

    private async Task IndexPlansAsync(IReadOnlyList<RedisValue> names)
    {
        var records = names.Select(n => Db.HashGetAsync(keys.Store((string)n!), ["data", "version"])).ToList();
        var indexed = new List<Task<RedisResult>>();
        foreach (var store in (await Task.WhenAll(records).ConfigureAwait(false)).Select(ToStore).OfType<Store>())
        {
            indexed.Add(Db.ScriptEvaluateAsync(StoreScripts.IndexPlan, [keys.Store(store.Name), keys.StoresByPlan(store.Spec.Plan.Id), keys.Plans],
                [store.Version, store.Name, Score(store), store.Spec.Plan.Id]));
        }

        await Task.WhenAll(indexed).ConfigureAwait(false);
    }

    /// <summary>
    /// How many stores are in each phase on each plan ever used (zeros included): one round trip of
    /// set-intersection counts, so its cost does not grow with reading records. The phase totals come from the phase
    /// indexes themselves; stores not (yet) in a plan index — created by an older replica during an upgrade, or before the
    /// plan index backfill ran — are counted under the plan <see cref="UnknownPlan"/>, so a phase is never under-counted.
    /// </summary>
    public async Task<IReadOnlyList<PhasePlanCount>> CountByPhaseAndPlanAsync(CancellationToken cancellationToken = default)
    {
        var plans = (await Db.SetMembersAsync(keys.Plans).ConfigureAwait(false)).Select(p => (string)p!).Order(StringComparer.Ordinal).ToList();
        var batch = Db.CreateBatch();
        var phases = Enum.GetValues<StorePhase>().Select(phase => (Phase: phase, Total: batch.SortedSetLengthAsync(keys.StoresByPhase(phase.ToWire())))).ToList();
        var counts = (from phase in Enum.GetValues<StorePhase>()
                      from plan in plans
                      select (Phase: phase, Plan: plan, Count: batch.SortedSetIntersectionLengthAsync([keys.StoresByPhase(phase.ToWire()), keys.StoresByPlan(plan)]))).ToList();
        batch.Execute();
        await Task.WhenAll(counts.Select(c => (Task)c.Count).Concat(phases.Select(p => p.Total))).ConfigureAwait(false);
        var result = counts.Select(c => new PhasePlanCount(c.Phase, c.Plan, c.Count.Result)).ToList();
        foreach (var (phase, total) in phases)
        {
            var unindexed = total.Result - counts.Where(c => c.Phase == phase).Sum(c => c.Count.Result);
            if (unindexed > 0)
            {
                result.Add(new PhasePlanCount(phase, UnknownPlan, unindexed));
            }
        }

        return result;
    }

    /// <summary>The plan label of stores not in any plan index (see <see cref="CountByPhaseAndPlanAsync"/>).</summary>
    public const string UnknownPlan = "unknown";

    /// <summary>The name index entries of one store (as the scripts write them).</summary>
    internal static IEnumerable<string> NameIndexEntries(string name)
    {
        for (var from = 0; from >= 0 && from <= name.Length; from = name.IndexOf('-', from) is var dash and >= 0 ? dash + 1 : -1)
        {
            yield return $"{name[from..]} {name}";
        }
    }

    public async Task<IReadOnlyList<StoreEvent>> GetEventsAsync(string name, CancellationToken cancellationToken = default)
    {
        var values = await Db.ListRangeAsync(keys.Events(name)).ConfigureAwait(false);
        return values.Select(v => JsonSerializer.Deserialize((string)v!, StateJsonContext.Default.StoreEvent)!).ToArray();
    }

    public async Task<IReadOnlyList<StoreEvent?>> GetLatestEventsAsync(IReadOnlyList<string> names, CancellationToken cancellationToken = default)
    {
        var batch = Db.CreateBatch();
        var reads = names.Select(n => batch.ListGetByIndexAsync(keys.Events(n), -1)).ToArray();
        batch.Execute();
        var values = await Task.WhenAll(reads).ConfigureAwait(false);
        return [.. values.Select(v => v.IsNull ? null : JsonSerializer.Deserialize((string)v!, StateJsonContext.Default.StoreEvent))];
    }

    public async Task AppendEventAsync(string name, StoreEvent storeEvent, CancellationToken cancellationToken = default) =>
        await Db.ScriptEvaluateAsync(
            StoreScripts.AppendEvent,
            [keys.Events(name), keys.Store(name), keys.EventCount(name)],
            [Serialize(storeEvent), _options.MaxEventsPerStore]).ConfigureAwait(false);

    public async Task<IReadOnlyList<TimelineEntry>> GetTimelineAsync(string name, CancellationToken cancellationToken = default)
    {
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(StoreScripts.Timeline, [keys.Events(name), keys.EventCount(name)]).ConfigureAwait(false))!;
        var first = (long)reply[0];
        return [.. reply.Skip(1).Select((v, i) => new TimelineEntry(first + i, JsonSerializer.Deserialize((string)v!, StateJsonContext.Default.StoreEvent)!))];
    }

    public async Task<ChangeFeedPage> GetChangesAsync(long after, CancellationToken cancellationToken = default)
    {
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(StoreScripts.ChangesSince, [keys.ChangeSequence, keys.ChangeLog], [after]).ConfigureAwait(false))!;
        var changes = new List<StoreChange>(reply.Length - 2);
        foreach (var entry in reply.Skip(2))
        {
            var parts = ((string)entry!).Split('\t', 4);
            if (parts.Length == 4 && long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence) && sequence > after)
            {
                var type = parts[1] switch { "added" => StoreChangeType.Added, "deleted" => StoreChangeType.Deleted, _ => StoreChangeType.Modified };
                changes.Add(new StoreChange(sequence, type, parts[2], parts[3]));
            }
        }

        return new ChangeFeedPage(changes, (long)reply[0], (long)reply[1]);
    }

    private static bool Matches(Store store, StoreQuery query) =>
        (query.Phase is null || store.Phase == query.Phase) && (query.Owner is null || store.Owner == query.Owner)
        && (string.IsNullOrEmpty(query.NameSearch) || NameIndexEntries(store.Name).Any(e => e.StartsWith(query.NameSearch, StringComparison.Ordinal)));

    private static double Score(Store store) => store.CreatedAt.ToUnixTimeMilliseconds();

    private static Store? ToStore(RedisValue[] values) =>
        values[0].IsNull ? null : ReadDocument((string)values[0]!).ToStore((long)values[1]);

    private static StoreDocument ReadDocument(string json) =>
        JsonSerializer.Deserialize(json, StateJsonContext.Default.StoreDocument)
        ?? throw new InvalidDataException("A store record in Redis is empty.");

    private static string Serialize(StoreDocument document) => JsonSerializer.Serialize(document, StateJsonContext.Default.StoreDocument);

    private static string Serialize(StoreEvent storeEvent) => JsonSerializer.Serialize(storeEvent, StateJsonContext.Default.StoreEvent);
}

/// <summary>How many stores are in <paramref name="Phase"/> on <paramref name="Plan"/>.</summary>
public sealed record PhasePlanCount(StorePhase Phase, string Plan, long Count);

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Storefleet.Testing;
using Xunit.Abstractions;

namespace Storefleet.Engine.Tests;

/// <summary>
/// High availability with real processes on loopback: three control planes on Redis Sentinel (a primary, two replicas,
/// three Sentinels) provisioning 30 stores against the test double with the real helm. The Redis primary is killed
/// mid-run, or one of the control planes is: every store whose create was acknowledged reaches Ready with one
/// release, nothing is duplicated or orphaned, and the API says 503 (never 500) while Redis switches.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class FailoverTests(EngineFixture fixture, ITestOutputHelper output) : IClassFixture<EngineFixture>
{
    private const int Stores = 30;
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task ThePrimaryRedisKilledMidRun_LosesNoAcknowledgedStore_AndTheApiAnswers503NotA500()
    {
        await using var redis = await RedisSentinelGroup.StartAsync();
        using var helm = HelmWrapper.Create();
        var planes = await StartPlanesAsync(redis.ConnectionString, helm);
        try
        {
            var clients = planes.Select(p => new HttpClient { BaseAddress = p.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }).ToArray();
            var answers = new ConcurrentQueue<(DateTimeOffset Time, HttpStatusCode Status, string Route)>();
            using var stopProbing = new CancellationTokenSource();
            var probing = ProbeAsync(clients, answers, stopProbing.Token);
            var names = Enumerable.Range(0, Stores).Select(i => EngineFixture.NewStoreName($"fo{i}")).ToList();
            var killed = new TaskCompletionSource<(int Port, DateTimeOffset At)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var acknowledged = 0;

            // A steady stream of creates (one every 200 ms, over the replicas in turn), so many land while Redis switches.
            var creating = new List<Task>();
            using (var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(200)))
            {
                for (var i = 0; i < names.Count && await pace.WaitForNextTickAsync(); i++)
                {
                    var (name, client) = (names[i], clients[i % clients.Length]);
                    creating.Add(Task.Run(async () =>
                    {
                        await CreateUntilAcknowledgedAsync(client, name, answers);
                        if (Interlocked.Increment(ref acknowledged) == Stores / 3)
                        {
                            killed.SetResult((await redis.KillPrimaryAsync(), DateTimeOffset.UtcNow));
                        }
                    }));
                }
            }

            var (oldPrimary, killedAt) = await killed.Task.WaitAsync(Generous);
            await redis.WaitForFailoverAsync(oldPrimary, TimeSpan.FromSeconds(60));
            await Task.WhenAll(creating).WaitAsync(Generous);
            await WaitAllReadyAsync(clients[0], names);
            await stopProbing.CancelAsync();
            await probing;

            var refused = answers.Where(a => a.Status != HttpStatusCode.OK && a.Status != HttpStatusCode.Created).ToList();
            var unavailable = refused.Count == 0 ? TimeSpan.Zero : refused.Max(a => a.Time) - refused.Min(a => a.Time);
            var writesAfterKill = answers.Count(a => a.Route.StartsWith("POST", StringComparison.Ordinal) && a.Time > killedAt);
            output.WriteLine($"Redis primary killed at {killedAt:HH:mm:ss.fff}; {refused.Count} answers of {answers.Count} were 503, over {unavailable.TotalSeconds:0.0} s of unavailability; {writesAfterKill} create attempts after the kill.");
            Assert.All(refused, a => Assert.True(a.Status == HttpStatusCode.ServiceUnavailable, $"{a.Route} answered {(int)a.Status} at {a.Time:HH:mm:ss.fff}"));
            await AssertExactlyTheseStoresAsync(clients[0], names, helm);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or Xunit.Sdk.XunitException)
        {
            // What the control planes logged as errors says which exception became a 500 (or what held a store back).
            var errors = planes.SelectMany(p => p.Output.Split('\n')).Where(l => l.Contains("fail:", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal)).TakeLast(40);
            output.WriteLine($"control plane errors:\n{string.Join('\n', errors)}");
            throw;
        }
        finally
        {
            await Task.WhenAll(planes.Select(p => p.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task OneOfThreeControlPlanesKilledMidRun_TheOthersFinishItsWork_AndEachDidAShare()
    {
        await using var redis = await RedisSentinelGroup.StartAsync();
        using var helm = HelmWrapper.Create();
        var planes = await StartPlanesAsync(redis.ConnectionString, helm);
        try
        {
            var clients = planes.Select(p => new HttpClient { BaseAddress = p.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }).ToArray();
            var answers = new ConcurrentQueue<(DateTimeOffset Time, HttpStatusCode Status, string Route)>();
            var names = Enumerable.Range(0, Stores).Select(i => EngineFixture.NewStoreName($"rk{i}")).ToList();

            // Every create through the replicas that live on; the victim is killed once it is running helm.
            await Task.WhenAll(names.Select((name, i) => CreateUntilAcknowledgedAsync(clients[i % 2], name, answers)));
            var victim = planes[2];
            await Eventually.WaitUntilAsync(() => Task.FromResult(helm.Invocations().Any(h => h.ParentPid == victim.Pid && h.Ended is null)), Generous, "the third control plane to run helm");
            // SIGKILL of the replica and the helm it runs, as when its pod dies (the container's processes go with it).
            using (var tree = Process.GetProcessById(victim.Pid))
            {
                tree.Kill(entireProcessTree: true);
            }

            var killedAt = DateTimeOffset.UtcNow;

            await victim.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await WaitAllReadyAsync(clients[0], names);

            var runs = helm.Invocations().Where(h => h.Release is { } r && names.Contains(r)).ToList();
            foreach (var plane in planes)
            {
                output.WriteLine($"control plane {plane.Pid}: {runs.Count(h => h.ParentPid == plane.Pid && h.Command == "upgrade")} helm upgrades");
            }

            Assert.All(planes, plane => Assert.Contains(runs, h => h.ParentPid == plane.Pid && h.Command == "upgrade"));
            await AssertExactlyTheseStoresAsync(clients[0], names, helm, (victim.Pid, killedAt));
        }
        finally
        {
            await Task.WhenAll(planes.Select(p => p.DisposeAsync().AsTask()));
        }
    }

    private async Task<ControlPlaneProcess[]> StartPlanesAsync(string redis, HelmWrapper helm)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = redis,
            ["Storefleet__State__KeyPrefix"] = EngineFixture.NewPrefix(),
            ["Storefleet__State__MinReplicaAcknowledgements"] = "1",
            ["Storefleet__Engine__Kubeconfig"] = fixture.Api.KubeconfigPath,
            ["Storefleet__Engine__HelmPath"] = helm.Path,
            ["Storefleet__Engine__ChartsDirectory"] = Path.Combine(RepositoryPaths.Root, "charts"),
            ["Storefleet__Engine__MaxConcurrentHelm"] = "2",
            ["Storefleet__Engine__LeaseTtl"] = "00:00:06", // a loaded machine (three planes, Sentinels, helm) can stall renewals for seconds
            ["Storefleet__Engine__RetryBaseDelay"] = "00:00:00.200",
            ["Storefleet__Engine__RetryMaxDelay"] = "00:00:02",
            ["Storefleet__Access__RateLimits__CreatesPerMinute"] = "100000",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        return await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ControlPlaneProcess.StartAsync(settings)));
    }

    /// <summary>A careful client: the same create again after a 503 (it is idempotent by name and spec) until it is acknowledged.</summary>
    private static async Task CreateUntilAcknowledgedAsync(HttpClient client, string name, ConcurrentQueue<(DateTimeOffset, HttpStatusCode, string)> answers)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            HttpStatusCode status;
            try
            {
                using var answer = await client.PostAsJsonAsync("/api/v1/stores", new { name });
                status = answer.StatusCode;
            }
            catch (HttpRequestException)
            {
                status = HttpStatusCode.BadGateway; // the connection itself failed: recorded, and fails the test
            }

            answers.Enqueue((DateTimeOffset.UtcNow, status, "POST /api/v1/stores"));
            if (status is HttpStatusCode.Created or HttpStatusCode.OK)
            {
                return;
            }

            if (status != HttpStatusCode.ServiceUnavailable || deadline.Elapsed > Generous)
            {
                throw new InvalidOperationException($"creating {name} answered {(int)status}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250)); // the client's back-off after a 503
        }
    }

    /// <summary>Reads every replica's list all along, recording each answer.</summary>
    private static async Task ProbeAsync(HttpClient[] clients, ConcurrentQueue<(DateTimeOffset, HttpStatusCode, string)> answers, CancellationToken stop)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await tick.WaitForNextTickAsync(stop))
            {
                foreach (var client in clients)
                {
                    using var answer = await client.GetAsync("/api/v1/stores?limit=1", stop);
                    answers.Enqueue((DateTimeOffset.UtcNow, answer.StatusCode, "GET /api/v1/stores"));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Done probing.
        }
    }

    private static async Task WaitAllReadyAsync(HttpClient client, IReadOnlyList<string> names)
    {
        try
        {
            await Eventually.WaitUntilAsync(async () =>
            {
                var page = JsonNode.Parse(await client.GetStringAsync("/api/v1/stores?limit=500&phase=ready"))!["items"]!.AsArray();
                return names.All(n => page.Any(s => s!["name"]!.GetValue<string>() == n));
            }, Generous, "every acknowledged store to be Ready");
        }
        catch (TimeoutException e)
        {
            // Which stores, where they stand and what their timelines last said.
            var stuck = new List<string>();
            foreach (var name in names)
            {
                var store = JsonNode.Parse(await client.GetStringAsync($"/api/v1/stores/{name}"))!;
                if (store["phase"]!.GetValue<string>() != "ready")
                {
                    var events = JsonNode.Parse(await client.GetStringAsync($"/api/v1/stores/{name}/events"))!["items"]!.AsArray().TakeLast(5)
                        .Select(ev => $"    {ev!["time"]} {ev["step"]} {ev["message"]}");
                    stuck.Add($"{name}: {store["phase"]} {store["conditions"]?.ToJsonString()}\n{string.Join('\n', events)}");
                }
            }

            throw new TimeoutException($"{e.Message}\n{string.Join('\n', stuck)}", e);
        }
    }

    /// <summary>One record per store, one namespace per store and no other, one release per namespace, helm never twice at once on a release.</summary>
    /// <param name="killed">A replica killed with its helm processes: their runs end when it was killed (they logged no end).</param>
    private async Task AssertExactlyTheseStoresAsync(HttpClient client, IReadOnlyList<string> names, HelmWrapper helm, (int Pid, DateTimeOffset At)? killed = null)
    {
        var records = JsonNode.Parse(await client.GetStringAsync("/api/v1/stores?limit=500"))!["items"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(names.Order(), records.Where(names.Contains).Order());
        Assert.Equal(records.Count, records.Distinct().Count());

        var stems = names.Select(n => n[..n.IndexOf('-', StringComparison.Ordinal)]).ToHashSet();
        var namespaceResource = fixture.Api.State.Catalog.Find(string.Empty, "v1", "namespaces")!;
        var namespaces = fixture.Api.Store.List(namespaceResource, null).Items
            .Select(o => o["metadata"]!["labels"]?["storefleet.io/store"]?.GetValue<string>())
            .OfType<string>()
            .Where(store => store.Contains('-', StringComparison.Ordinal) && stems.Contains(store[..store.IndexOf('-', StringComparison.Ordinal)]))
            .ToList();
        Assert.Equal(names.Order(), namespaces.Order());

        var invocations = helm.Invocations()
            .Select(i => killed is { } k && i.ParentPid == k.Pid && i.Ended is null ? i with { Ended = k.At } : i)
            .ToList();
        foreach (var name in names)
        {
            var releases = fixture.Api.Store.InNamespace($"store-{name}").Select(o => o.Object)
                .Where(o => o["kind"]?.GetValue<string>() == "Secret" && o["metadata"]!["labels"]?["owner"]?.GetValue<string>() == "helm")
                .Select(o => o["metadata"]!["labels"]!["name"]!.GetValue<string>()).Distinct();
            Assert.Single(releases);
            // A lease lost in a failover (replication is asynchronous) lets another replica start helm while the
            // previous helm, already told to stop, is still exiting: helm's own release lock refuses one of them. What
            // must never happen: a second helm while the first one's worker still believed it held the lease, or two
            // that both succeeded.
            var runs = invocations.Where(i => i.Release == name && i.Command is "upgrade" or "rollback" or "uninstall").OrderBy(i => i.Started).ToList();
            for (var i = 0; i < runs.Count; i++)
            {
                foreach (var later in runs.Skip(i + 1).Where(r => r.Overlaps(runs[i])))
                {
                    Assert.True(runs[i].TerminatedAt is { } stopped && stopped <= later.Started, $"store {name}: {later} started while {runs[i]} was not told to stop");
                    Assert.False(runs[i].ExitCode == 0 && later.ExitCode == 0, $"store {name}: {runs[i]} and {later} both succeeded at the same time");
                }
            }
        }
    }
}

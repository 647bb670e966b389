using Storefleet.Core.Fleet;
using Storefleet.Core.Stores;
using Storefleet.Infrastructure.Redis;

namespace Storefleet.Infrastructure.Tests;

/// <summary>The fleet history on every backend: windows, trimming by age, one phase sample per minute.</summary>
public abstract class FleetHistoryContract(IStateBackendFixture backend)
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 30, TimeSpan.Zero);
    private readonly RedisKeys _keys = new($"h{Guid.NewGuid():N}:");

    private RedisFleetHistory History => new(backend.Redis, _keys);

    [Fact]
    public async Task ReadinessIsSummarisedOverADayAndAWeek_AndOlderEntriesAreTrimmed()
    {
        await History.RecordReadyAsync(Now.AddDays(-9), TimeSpan.FromSeconds(999)); // trimmed by the next write
        foreach (var (ago, seconds) in new[] { (TimeSpan.FromHours(1), 10), (TimeSpan.FromHours(2), 20), (TimeSpan.FromHours(3), 30), (TimeSpan.FromDays(3), 100) })
        {
            await History.RecordReadyAsync(Now - ago, TimeSpan.FromSeconds(seconds));
        }

        var snapshot = await History.ReadAsync(Now);

        Assert.Equal(new DurationSummary(3, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30)), snapshot.ReadyLastDay);
        Assert.Equal(new DurationSummary(4, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(100)), snapshot.ReadyLastWeek);
        Assert.Equal(4, await backend.Redis.GetDatabase().SortedSetLengthAsync(_keys.FleetReadyTimes));
    }

    [Fact]
    public async Task StepsAreRankedByTheirP95_OverTheLastDay()
    {
        History.RecordStep(Now.AddHours(-30), "helm-upgrade", TimeSpan.FromSeconds(600)); // older than a day
        History.RecordStep(Now.AddMinutes(-5), "namespace", TimeSpan.FromMilliseconds(100));
        History.RecordStep(Now.AddMinutes(-4), "helm-upgrade", TimeSpan.FromSeconds(4));
        History.RecordStep(Now.AddMinutes(-3), "helm-upgrade", TimeSpan.FromSeconds(8));

        var snapshot = await History.ReadAsync(Now);

        Assert.Equal(["helm-upgrade", "namespace"], snapshot.SlowestSteps.Select(s => s.Step));
        Assert.Equal(new DurationSummary(2, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)), snapshot.SlowestSteps[0].Durations);
    }

    [Fact]
    public async Task OnePhaseSamplePerMinute_TheFirstWins_AndTheTrendCoversADay()
    {
        Assert.True(await History.SamplePhasesAsync(Now.AddHours(-30), new Dictionary<StorePhase, long> { [StorePhase.Ready] = 1 }));
        Assert.True(await History.SamplePhasesAsync(Now.AddMinutes(-2), new Dictionary<StorePhase, long> { [StorePhase.Ready] = 5 }));
        Assert.True(await History.SamplePhasesAsync(Now, new Dictionary<StorePhase, long> { [StorePhase.Ready] = 6, [StorePhase.Failed] = 1 }));
        Assert.False(await History.SamplePhasesAsync(Now.AddSeconds(20), new Dictionary<StorePhase, long> { [StorePhase.Ready] = 99 }));

        var trend = (await History.ReadAsync(Now.AddSeconds(25))).Trend;

        Assert.Equal([5L, 6L], trend.Select(s => s.Counts[StorePhase.Ready]));
        Assert.Equal(1, trend[1].Counts[StorePhase.Failed]);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero), trend[1].At);
    }
}

public sealed class RedisServerFleetHistoryTests(RedisServerFixture backend) : FleetHistoryContract(backend), IClassFixture<RedisServerFixture>;

public sealed class GarnetFleetHistoryTests(GarnetFixture backend) : FleetHistoryContract(backend), IClassFixture<GarnetFixture>;

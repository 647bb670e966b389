using Storefleet.Engine.Backups;

namespace Storefleet.Engine.Tests;

/// <summary>Schedules are spread by store name (stable across restarts and replicas); a result is read from its termination message.</summary>
public sealed class BackupScheduleTests
{
    [Fact]
    public void ThePurgeJobsResticImage_IsTheOneTheStoreChartPins()
    {
        var values = File.ReadAllText(Path.Combine(Storefleet.Testing.RepositoryPaths.Root, "charts", "store", "values.yaml"));
        var restic = System.Text.RegularExpressions.Regex.Match(values, @"\n  restic:\n    repository: (\S+)\n    tag: ""([^""]+)""");

        Assert.True(restic.Success, "images.restic not found in the store chart's values.yaml");
        Assert.Equal($"{restic.Groups[1].Value}:{restic.Groups[2].Value}", new BackupOptions().ResticImage);
    }

    [Fact]
    public void HourlyAndDaily_AreSpreadByName_StableAndInRange()
    {
        var names = Enumerable.Range(0, 200).Select(i => $"shop-{i}").ToList();
        var daily = names.Select(n => BackupSchedule.For(n, "daily").Split(' ')).ToList();

        Assert.All(daily, cron => Assert.Equal(["*", "*", "*"], cron[2..]));
        Assert.All(daily, cron => Assert.InRange(int.Parse(cron[0], System.Globalization.CultureInfo.InvariantCulture), 0, 59));
        Assert.All(daily, cron => Assert.InRange(int.Parse(cron[1], System.Globalization.CultureInfo.InvariantCulture), 1, 4));
        Assert.True(daily.Select(c => $"{c[0]} {c[1]}").Distinct().Count() > 100, "200 stores' daily backups share too few start times");
        Assert.Equal(BackupSchedule.For("shop-7", "hourly"), BackupSchedule.For("shop-7", "hourly"));
        Assert.Matches(@"^\d{1,2} \* \* \* \*$", BackupSchedule.For("shop-7", "hourly"));
        Assert.Equal("*/15 * * * *", BackupSchedule.For("shop-7", " */15 * * * * "));
    }

    [Theory]
    [InlineData("""{"ok":true,"snapshot":"ab12cd34","bytesAdded":10,"totalBytes":20,"files":3,"durationSeconds":4}""", true, "ab12cd34", null)]
    [InlineData("""{"ok":false,"reason":"the restic password does not open the repository"}""", false, null, "the restic password does not open the repository")]
    public void AResult_IsReadFromTheTerminationMessage(string message, bool ok, string? snapshot, string? reason)
    {
        var result = BackupJobs.Result(message)!;

        Assert.Equal((ok, snapshot, reason), (result.Ok, result.Snapshot, result.Reason));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Error: something printed instead of JSON")]
    [InlineData("[1,2]")]
    public void NoResult_WhenTheMessageIsMissingOrNotAResult(string? message) => Assert.Null(BackupJobs.Result(message));
}

using Storefleet.Engine.Backups;

namespace Storefleet.Engine.Tests;

/// <summary>Schedules are spread by store name (stable across restarts and replicas); a result is read from its termination message.</summary>
public sealed class BackupScheduleTests
{
    [Theory]
    [InlineData("hourly", true)]
    [InlineData(" daily ", true)]
    [InlineData("30 */6 * * *", true)]
    [InlineData("0 2 1,15 * 1-5", true)]
    [InlineData("5 4 * 1-12/3 0", true)]
    [InlineData("* * * * *", false)]
    [InlineData("*/5 * * * *", false)]
    [InlineData("99 * * * *", false)]
    [InlineData("0 24 * * *", false)]
    [InlineData("0 3 32 * *", false)]
    [InlineData("0 3 * 13 *", false)]
    [InlineData("0 3 * * 8", false)]
    [InlineData("0 3 * * */0", false)]
    [InlineData("0 3 * * * *", false)]
    [InlineData("0 3 * * $(id)", false)]
    [InlineData("weekly", false)]
    public void AStoresOwnSchedule_IsHourlyDailyOrACronAtMostHourlyWithinRanges(string schedule, bool accepted)
    {
        var why = BackupSchedule.Invalid(schedule);

        Assert.True(accepted == (why is null), why ?? $"'{schedule}' was accepted");
    }

    [Fact]
    public void ThePurgePods_CarryTheLabelsThePlatformChartsNetworkPolicySelects()
    {
        var labels = BackupPurges.PodLabels("shop");

        Assert.Equal("storefleet", labels["app.kubernetes.io/name"]);
        Assert.Equal("backup-purge", labels["app.kubernetes.io/component"]);
        Assert.Contains("app.kubernetes.io/component: backup-purge", File.ReadAllText(Path.Combine(Storefleet.Testing.RepositoryPaths.Root, "charts", "storefleet", "templates", "networkpolicy.yaml")));
    }

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

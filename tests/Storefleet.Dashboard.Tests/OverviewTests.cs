using System.Security.Claims;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Radzen;
using Storefleet.Core.Fleet;
using Storefleet.Core.Stores;
using Storefleet.Server.Access;
using Storefleet.Server.Dashboard.Pages;

namespace Storefleet.Dashboard.Tests;

/// <summary>bUnit: the fleet overview of a mixed fleet, from the real services on redis-server (a key prefix of its own).</summary>
public sealed class OverviewTests(ComponentFixture fixture) : IClassFixture<ComponentFixture>
{
    [Fact]
    public async Task TheOverview_OfAMixedFleet_CountsPhases_SummarisesReadiness_RanksSteps_AndGroupsFailuresWithLinks()
    {
        await using var host = new ServerHost(fixture.Redis);
        var history = host.Services.GetRequiredService<IFleetHistory>();
        var now = DateTimeOffset.UtcNow;
        await host.SeedAsync("shop-a", "alice", StorePhase.Ready, "ready");
        await host.SeedAsync("shop-b", "bob", StorePhase.Ready, "ready");
        await host.SeedAsync("shop-c", "alice", StorePhase.Provisioning, "Namespace created.");
        await host.SeedAsync("pull-1", "alice", StorePhase.Failed, "failed", Failure("ImagePullBackOff", "Pod p cannot pull image wordpress:9."));
        await host.SeedAsync("pull-2", "bob", StorePhase.Failed, "failed", Failure("ImagePullBackOff", "Pod q cannot pull image wordpress:9."));
        await host.SeedAsync("helm-1", "bob", StorePhase.Failed, "failed", Failure("HelmFailed", "helm upgrade --install failed."));
        var degraded = (await host.SeedAsync("crash-1", "alice", StorePhase.Ready, "ready"))
            .Take(StoreTrigger.Degrade, now).With(new StoreCondition(ConditionTypes.Degraded, true, "CrashLoopBackOff", "container wordpress restarts.", now), now);
        Assert.IsType<UpdateStoreResult.Updated>(await host.Repository.UpdateAsync(degraded, []));
        foreach (var seconds in new[] { 10, 20, 30 })
        {
            await history.RecordReadyAsync(now.AddHours(-1), TimeSpan.FromSeconds(seconds));
        }

        await history.RecordReadyAsync(now.AddDays(-3), TimeSpan.FromSeconds(100));
        foreach (var (step, seconds) in new[] { ("helm-upgrade", 5.0), ("helm-upgrade", 6.0), ("namespace", 0.1), ("credentials", 0.2) })
        {
            history.RecordStep(now.AddMinutes(-5), step, TimeSpan.FromSeconds(seconds));
        }

        Assert.True(await history.SamplePhasesAsync(now.AddMinutes(-30), new Dictionary<StorePhase, long> { [StorePhase.Ready] = 0, [StorePhase.Failed] = 1 }));
        Assert.False(await history.SamplePhasesAsync(now.AddMinutes(-30), new Dictionary<StorePhase, long> { [StorePhase.Ready] = 9 }), "a second sample of one minute");
        Assert.True(await history.SamplePhasesAsync(now.AddMinutes(-1), new Dictionary<StorePhase, long> { [StorePhase.Ready] = 2, [StorePhase.Failed] = 3 }));

        using var context = AdminContext(host);
        var page = context.Render<Overview>();

        page.WaitForAssertion(() => Assert.Equal("2", Count(page, "ready")), TimeSpan.FromSeconds(10));
        Assert.Equal("3", Count(page, "failed"));
        Assert.Equal("1", Count(page, "degraded"));
        Assert.Equal("1", Count(page, "provisioning"));
        Assert.Empty(page.FindAll("[data-phase-count=deleting]")); // zero and not one of the phases always shown
        Assert.Contains("7 in all", page.Markup);
        Assert.Contains("▲ 2 since", page.Find("[data-phase-count=ready] [data-testid=trend]").TextContent);
        Assert.Equal("/?phase=failed", page.Find("[data-phase-count=failed] a").GetAttribute("href"));

        Assert.Equal(["3", "20 s", "30 s"], Cells(page, "[data-window='24h'] td"));
        Assert.Equal(["4", "20 s", "1 min 40 s"], Cells(page, "[data-window='7d'] td"));

        Assert.Equal(["helm-upgrade", "credentials", "namespace"], page.FindAll("[data-testid=slowest-steps] tbody th").Select(th => th.TextContent));
        Assert.Equal(["2", "5 s", "6 s"], Cells(page, "[data-step=helm-upgrade] td"));

        var pulls = page.Find("tr[data-reason=ImagePullBackOff]");
        Assert.Equal("2", pulls.QuerySelectorAll("td")[1].TextContent.Trim());
        Assert.Equal(["/stores/pull-1", "/stores/pull-2"], pulls.QuerySelectorAll("a").Select(a => a.GetAttribute("href")).Order());
        Assert.Contains("cannot pull image wordpress:9", pulls.TextContent);
        Assert.Equal("1", page.Find("tr[data-reason=HelmFailed]").QuerySelectorAll("td")[1].TextContent.Trim());
        Assert.Equal("degraded", page.Find("tr[data-reason=CrashLoopBackOff] [data-phase]").GetAttribute("data-phase"));
        Assert.Equal("/stores/crash-1", page.Find("tr[data-reason=CrashLoopBackOff] a").GetAttribute("href"));
        // Two charts drawn as SVG (the trend, the slowest steps), each beside its values as text: the cards and the table.
        // A chart draws once it has been measured (after its first render), so this is waited for.
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("figure.chart svg").Count(svg => svg.QuerySelectorAll("path").Length > 0)), TimeSpan.FromSeconds(10));

        // Live: another failure shows without a reload.
        await host.SeedAsync("helm-2", "alice", StorePhase.Failed, "failed", Failure("HelmFailed", "helm upgrade --install failed."));
        page.WaitForAssertion(() => Assert.Equal("4", Count(page, "failed")), TimeSpan.FromSeconds(15));
        Assert.Equal("2", page.Find("tr[data-reason=HelmFailed]").QuerySelectorAll("td")[1].TextContent.Trim());
    }

    [Fact]
    public async Task TheOverview_OfAHealthyEmptyFleet_SaysNothingNeedsAttention_AndNoStepRan()
    {
        await using var host = new ServerHost(fixture.Redis);
        using var context = AdminContext(host);
        var page = context.Render<Overview>();

        page.WaitForAssertion(() => Assert.Contains("No store is failed or degraded.", page.Find("[data-testid=no-attention]").TextContent), TimeSpan.FromSeconds(10));
        Assert.Equal("0", Count(page, "ready"));
        Assert.Contains("No engine step has run", page.Markup);
        Assert.Equal(["0", "–", "–"], Cells(page, "[data-window='24h'] td"));
    }

    [Fact]
    public async Task TheOverview_ListsStoresWithoutARecentBackup_OrSaysBackupsAreOff()
    {
        await using (var off = new ServerHost(fixture.Redis))
        {
            using var offContext = AdminContext(off);
            var offPage = offContext.Render<Overview>();
            offPage.WaitForAssertion(() => Assert.Contains("Backups are not configured", offPage.Find("[data-testid=backups-off]").TextContent), TimeSpan.FromSeconds(10));
        }

        await using var host = new ServerHost(fixture.Redis, new Dictionary<string, string?> { ["Storefleet:Backups:Repository"] = "s3:https://s3.amazonaws.com/b/storefleet" });
        var (stale, fresh) = ($"s{Guid.NewGuid():N}"[..10], $"f{Guid.NewGuid():N}"[..10]);
        await host.SeedAsync(stale, "alice", StorePhase.Ready, "ready");
        await host.SeedAsync(fresh, "alice", StorePhase.Ready, "ready");
        var records = host.Services.GetRequiredService<Storefleet.Core.Backups.IBackupRepository>();
        var now = DateTimeOffset.UtcNow;
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{fresh}-backup-1", fresh, Storefleet.Core.Backups.BackupTrigger.Scheduled, Storefleet.Core.Backups.BackupStatus.Succeeded, now.AddHours(-3), now.AddHours(-3), "0a1b2c3d"));
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{stale}-backup-1", stale, Storefleet.Core.Backups.BackupTrigger.Scheduled, Storefleet.Core.Backups.BackupStatus.Succeeded, now.AddDays(-3), now.AddDays(-3), "9f8e7d6c"));
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{stale}-backup-2", stale, Storefleet.Core.Backups.BackupTrigger.Scheduled, Storefleet.Core.Backups.BackupStatus.Failed, now.AddHours(-1), now.AddHours(-1), Reason: "unreachable"));
        using var context = AdminContext(host);

        var page = context.Render<Overview>();

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=stale-backups] tbody tr")), TimeSpan.FromSeconds(10));
        var row = page.Find($"[data-testid=stale-backups] tr[data-store={stale}]");
        Assert.Contains("3 days ago", row.TextContent);
        Assert.Contains("1 of 2 live stores", page.Find("[data-testid=backup-coverage]").TextContent);
    }

    /// <summary>A bUnit context signed in as an admin, on the host's services (Radzen's scoped to the context, as in a circuit).</summary>
    private static BunitContext AdminContext(ServerHost host)
    {
        var context = new BunitContext();
        context.Services.AddRadzenComponents();
        context.Services.AddFallbackServiceProvider(host.Services);
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        // The browser measures the chart; here it is given a size.
        context.JSInterop.Setup<Radzen.Blazor.Rendering.Rect>("Radzen.createChart", _ => true).SetResult(new Radzen.Blazor.Rendering.Rect { Width = 800, Height = 256 });
        var auth = context.AddAuthorization();
        auth.SetAuthorized("root");
        auth.SetClaims(new Claim(AccessClaims.Subject, "root"), new Claim(AccessClaims.Role, Roles.Admin));
        return context;
    }

    private static StoreCondition Failure(string reason, string message) => new(ConditionTypes.Failed, true, reason, message, DateTimeOffset.UtcNow);

    private static string Count(IRenderedComponent<Overview> page, string phase) => page.Find($"[data-phase-count={phase}] .count").TextContent.Trim();

    private static List<string> Cells(IRenderedComponent<Overview> page, string selector) => [.. page.FindAll(selector).Select(td => td.TextContent.Trim())];
}

using Microsoft.Extensions.DependencyInjection;
using System.Security.Claims;
using Bunit;
using Storefleet.Core.Stores;
using Storefleet.Server.Access;
using Storefleet.Server.Dashboard.Layout;
using Storefleet.Server.Dashboard.Pages;
using Storefleet.Server.Dashboard.Shared;

namespace Storefleet.Dashboard.Tests;

/// <summary>bUnit: every state of the dashboard's pages, rendered against the real services on redis-server.</summary>
public sealed class ComponentTests(ComponentFixture fixture) : IClassFixture<ComponentFixture>, IDisposable
{
    private readonly BunitContext _context = new();

    public void Dispose() => _context.Dispose();

    [Fact]
    public void TheStoresPage_WithNoStores_ExplainsWhatToDo()
    {
        SignIn($"empty{Guid.NewGuid():N}", Roles.Member);

        var page = _context.Render<Stores>();

        page.WaitForAssertion(() => Assert.Contains("No stores yet", page.Find("[data-testid=empty]").TextContent));
        Assert.Contains("Create your first store", page.Markup);
        Assert.NotNull(page.Find("#create-store"));
    }

    [Fact]
    public void TheStoresPage_ForAViewerWithNoStores_DoesNotOfferToCreate()
    {
        SignIn($"viewer{Guid.NewGuid():N}", Roles.Viewer);

        var page = _context.Render<Stores>();

        page.WaitForAssertion(() => Assert.Contains("Ask a member", page.Find("[data-testid=empty]").TextContent));
        Assert.Empty(page.FindAll("#create-store"));
    }

    [Fact]
    public async Task TheStoresPage_ShowsMixedPhases_WithLinksOnlyWhenReady_AndTheLatestEvent()
    {
        var owner = $"mix{Guid.NewGuid():N}";
        var prefix = $"m{Guid.NewGuid():N}"[..8];
        await fixture.Host.SeedAsync($"{prefix}-req", owner, StorePhase.Requested, "requested");
        await fixture.Host.SeedAsync($"{prefix}-prov", owner, StorePhase.Provisioning, "Namespace created.");
        await fixture.Host.SeedAsync($"{prefix}-live", owner, StorePhase.Ready, "Store is ready.", urls: new StoreUrls("http://live.localtest.me/", "http://live.localtest.me/wp-admin/"));
        await fixture.Host.SeedAsync($"{prefix}-bad", owner, StorePhase.Failed, "ImagePullBackOff", new StoreCondition(ConditionTypes.Failed, true, "ImagePullBackOff", "Pod p cannot pull image x.", DateTimeOffset.UtcNow));
        await fixture.Host.SeedAsync($"{prefix}-other", "someone-else", StorePhase.Ready, "not yours");
        SignIn(owner, Roles.Member);

        var page = _context.Render<Stores>();

        page.WaitForAssertion(() => Assert.Equal(4, page.FindAll("tbody tr").Count));
        Assert.Equal("requested", page.Find($"tr[data-store={prefix}-req] [data-phase]").GetAttribute("data-phase"));
        Assert.Contains("busy", page.Find($"tr[data-store={prefix}-prov] .phase").ClassName);
        Assert.DoesNotContain("busy", page.Find($"tr[data-store={prefix}-live] .phase").ClassName);
        Assert.Single(page.FindAll($"tr[data-store={prefix}-live] a[href='http://live.localtest.me/']"));
        Assert.Empty(page.FindAll($"tr[data-store={prefix}-prov] a[target=_blank]"));
        Assert.Contains("Namespace created.", page.Find($"tr[data-store={prefix}-prov] .latest").TextContent);
        Assert.Contains("3 min ago", page.Find($"tr[data-store={prefix}-req] time").TextContent);
        Assert.NotNull(page.Find($"tr[data-store={prefix}-req] time").GetAttribute("title"));
        Assert.Empty(page.FindAll($"tr[data-store={prefix}-other]"));
    }

    [Fact]
    public async Task TheStoresPage_UpdatesARowLive_WhenTheStoreChanges()
    {
        var owner = $"live{Guid.NewGuid():N}";
        var name = $"l{Guid.NewGuid():N}"[..10];
        var store = await fixture.Host.SeedAsync(name, owner, StorePhase.Provisioning, "Namespace created.");
        SignIn(owner, Roles.Member);
        var page = _context.Render<Stores>();
        page.WaitForAssertion(() => Assert.Equal("provisioning", page.Find($"tr[data-store={name}] [data-phase]").GetAttribute("data-phase")));

        await fixture.Host.Repository.UpdateAsync(store.Take(StoreTrigger.InfrastructureReady, DateTimeOffset.UtcNow),
            [new StoreEvent(DateTimeOffset.UtcNow, StoreEventType.PhaseChanged, StorePhase.Bootstrapping, "Infrastructure ready.")]);

        page.WaitForAssertion(() => Assert.Equal("bootstrapping", page.Find($"tr[data-store={name}] [data-phase]").GetAttribute("data-phase")), TimeSpan.FromSeconds(5));
        Assert.Contains("Infrastructure ready.", page.Find($"tr[data-store={name}] .latest").TextContent);
    }

    [Fact]
    public void TheCreateDialog_ValidatesTheNameAsThePersonTypes_WithTheApisRules()
    {
        SignIn("alice", Roles.Member);
        var dialog = _context.Render<CreateStoreDialog>(p => p.Add(d => d.Actor, new Storefleet.Server.Identity.Actor("alice", Roles.Member)));

        dialog.Find("#create-name").Input("Bad_Name");
        Assert.Equal(StoreName.Validate("Bad_Name"), dialog.Find("[data-testid=name-help]").TextContent.Trim());
        Assert.Equal("true", dialog.Find("#create-name").GetAttribute("aria-invalid"));

        dialog.Find("#create-name").Input("good-name");
        Assert.Contains("good-name.<base domain>", dialog.Find("[data-testid=name-help]").TextContent);
        Assert.Equal(["small", "medium", "large"], dialog.FindAll("#create-plan option").Select(o => o.GetAttribute("value")));
        Assert.Equal(["woocommerce"], dialog.FindAll("#create-engine option").Select(o => o.GetAttribute("value")));
    }

    [Fact]
    public async Task TheStorePage_ForAFailedStore_SaysWhyAndOffersRetry()
    {
        var owner = $"fail{Guid.NewGuid():N}";
        var name = $"f{Guid.NewGuid():N}"[..10];
        await fixture.Host.SeedAsync(name, owner, StorePhase.Failed, "failed",
            new StoreCondition(ConditionTypes.Failed, true, "ImagePullBackOff", "Pod shop-wordpress-1 container wordpress (image wordpress:6.8.3): ImagePullBackOff. Fix the cause, then retry.", DateTimeOffset.UtcNow));
        SignIn(owner, Roles.Member);

        var page = _context.Render<StoreDetails>(p => p.Add(s => s.Name, name));

        page.WaitForAssertion(() => Assert.Contains("ImagePullBackOff", page.Find("[data-testid=failure]").TextContent));
        Assert.Contains("Fix the cause, then retry.", page.Find("[data-testid=failure]").TextContent);
        Assert.Contains("Retry from provisioning", page.Find("#retry").TextContent);
        Assert.Contains($"store-{name}", page.Markup);
        Assert.NotNull(page.Find("#show-credentials"));
        Assert.True(page.Find("#delete").HasAttribute("disabled"));
    }

    [Fact]
    public async Task TheStorePage_ShowsTheVersionsTheStoreRuns_OnceTheEnginePinnedThem()
    {
        var owner = $"ver{Guid.NewGuid():N}";
        var name = $"v{Guid.NewGuid():N}"[..10];
        var store = await fixture.Host.SeedAsync(name, owner, StorePhase.Provisioning, "Namespace created.");
        SignIn(owner, Roles.Member);
        var page = _context.Render<StoreDetails>(p => p.Add(s => s.Name, name));
        page.WaitForAssertion(() => Assert.Contains($"store-{name}", page.Markup));
        Assert.Empty(page.FindAll("[data-testid=versions]"));

        var pin = new ReleasePin(store.Generation, store.BootstrapGeneration, "0.1.0", "0123456789abcdef", new AppVersions("6.8.3-php8.3-apache", "10.2.2", "8.4.6"));
        Assert.IsType<UpdateStoreResult.Updated>(await fixture.Host.Repository.UpdateAsync(store with { Pin = pin }, []));

        page.WaitForAssertion(() => Assert.Equal(
            "Versions chart 0.1.0 · WordPress 6.8.3-php8.3-apache · WooCommerce 10.2.2 · MySQL 8.4.6",
            System.Text.RegularExpressions.Regex.Replace(page.Find("[data-testid=versions]").TextContent, @"\s+", " ").Trim()), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task TheStorePage_OfAnOutdatedReadyStore_OffersTheUpgrade_AndRequestsItOnceConfirmed()
    {
        var owner = $"upg{Guid.NewGuid():N}";
        var name = $"u{Guid.NewGuid():N}"[..10];
        var store = await fixture.Host.SeedAsync(name, owner, StorePhase.Ready, "Store is ready.");
        // Pinned to an older chart than the one this control plane ships.
        var pin = new ReleasePin(store.Generation, store.BootstrapGeneration, "0.0.1", "0123456789abcdef", new AppVersions("6.7.0-php8.3-apache", "9.0.0", "8.4.6"));
        Assert.IsType<UpdateStoreResult.Updated>(await fixture.Host.Repository.UpdateAsync(store with { Pin = pin }, []));
        SignIn(owner, Roles.Member);

        var page = _context.Render<StoreDetails>(p => p.Add(s => s.Name, name));
        page.WaitForAssertion(() => Assert.Contains("this control plane ships chart 0.1.0", page.Find("[data-testid=upgrade]").TextContent));
        Assert.Empty(page.FindAll("#confirm-upgrade"));
        // The store feed may re-render the page around a click (the pin written above): click until the confirm step shows.
        page.WaitForAssertion(() =>
        {
            if (page.FindAll("#confirm-upgrade").Count == 0)
            {
                page.Find("#upgrade").Click();
            }

            Assert.NotEmpty(page.FindAll("#confirm-upgrade"));
        }, TimeSpan.FromSeconds(5));
        page.Find("#confirm-upgrade").Click();

        page.WaitForAssertion(() => Assert.Contains("Upgrade requested", page.Markup), TimeSpan.FromSeconds(5));
        var requested = (await fixture.Host.Repository.GetAsync(name))!;
        Assert.Equal(store.Generation + 1, requested.Generation);
        Assert.Contains(await fixture.Host.Repository.GetEventsAsync(name), e => e.Message.Contains("Upgrade requested by", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheRolloutsPage_StartsARolloutOfTheOutdatedStores_OnceConfirmed()
    {
        var owner = $"ro{Guid.NewGuid():N}"[..12];
        var name = $"r{Guid.NewGuid():N}"[..10];
        var store = await fixture.Host.SeedAsync(name, owner, StorePhase.Ready, "Store is ready.");
        var pin = new ReleasePin(store.Generation, store.BootstrapGeneration, "0.0.1", "0123456789abcdef", new AppVersions("6.7.0-php8.3-apache", "9.0.0", "8.4.6"));
        Assert.IsType<UpdateStoreResult.Updated>(await fixture.Host.Repository.UpdateAsync(store with { Pin = pin }, []));
        SignIn("admin", Roles.Admin);

        var page = _context.Render<Rollouts>();
        page.WaitForAssertion(() => Assert.Contains("This control plane ships chart 0.1.0", page.Find("[data-testid=fleet-versions]").TextContent), TimeSpan.FromSeconds(5));
        page.WaitForAssertion(() => Assert.NotNull(page.Find("tr[data-chart='0.0.1']")));
        page.Find("#rollout-owner").Change(owner);
        page.Find("form").Submit();
        page.WaitForAssertion(() => Assert.NotNull(page.Find("#confirm-rollout")));
        page.Find("#confirm-rollout").Click();

        page.WaitForAssertion(() => Assert.Contains("Rollout started", page.Find("[data-testid=message]").TextContent), TimeSpan.FromSeconds(5));
        var rollouts = fixture.Host.Services.GetRequiredService<Storefleet.Core.Rollouts.IRolloutRepository>();
        var created = (await rollouts.ListAsync(50)).First(r => r.Selection.Owner == owner);
        Assert.Equal([name], created.Stores.Select(s => s.Name));
        page.WaitForAssertion(() => Assert.NotNull(page.Find($"article[data-rollout={created.Id}][data-state=running]")));
    }

    [Fact]
    public async Task APausedRollout_SaysWhy_ResumesOnClick_AndAbortsOnlyWhenConfirmed()
    {
        var rollouts = fixture.Host.Services.GetRequiredService<Storefleet.Core.Rollouts.IRolloutRepository>();
        var now = DateTimeOffset.UtcNow;
        var rollout = Storefleet.Core.Rollouts.Rollout.Create($"ro-{Guid.NewGuid():N}"[..15], "admin",
            new Storefleet.Core.Rollouts.RolloutTarget("woocommerce", "0.1.0", new AppVersions("6.8.3-php8.3-apache", "10.2.2", "8.4.6")),
            new Storefleet.Core.Rollouts.RolloutSelection(), Storefleet.Core.Rollouts.RolloutStrategy.Default, [$"p{Guid.NewGuid():N}"[..10], $"q{Guid.NewGuid():N}"[..10]], now) with
        {
            State = Storefleet.Core.Rollouts.RolloutState.Paused,
            Reason = "The canary failed (shop-1); no other store was touched.",
        };
        Assert.IsType<Storefleet.Core.Rollouts.CreateRolloutResult.Created>(await rollouts.CreateAsync(rollout, new(now, "created")));
        SignIn("admin", Roles.Admin);

        var page = _context.Render<Rollouts>(p => p.Add(r => r.Id, rollout.Id));
        page.WaitForAssertion(() => Assert.Contains("The canary failed", page.Find($"article[data-rollout={rollout.Id}] [data-testid=reason]").TextContent), TimeSpan.FromSeconds(5));
        Assert.Equal(2, page.FindAll($"article[data-rollout={rollout.Id}] tr[data-state=waiting]").Count);
        Assert.Contains("(canary)", page.Markup, StringComparison.Ordinal);

        page.Find($"#resume-{rollout.Id}").Click();
        page.WaitForAssertion(() => Assert.NotNull(page.Find($"article[data-rollout={rollout.Id}][data-state=running]")), TimeSpan.FromSeconds(5));

        page.Find($"#abort-{rollout.Id}").Click();
        page.WaitForAssertion(() => Assert.NotNull(page.Find($"#confirm-abort-{rollout.Id}")));
        Assert.Equal(Storefleet.Core.Rollouts.RolloutState.Running, (await rollouts.GetAsync(rollout.Id))!.State);
        page.Find($"#confirm-abort-{rollout.Id}").Click();
        page.WaitForAssertion(() => Assert.NotNull(page.Find($"article[data-rollout={rollout.Id}][data-state=aborted]")), TimeSpan.FromSeconds(5));
        Assert.All((await rollouts.GetAsync(rollout.Id))!.Stores, s => Assert.Equal(Storefleet.Core.Rollouts.RolloutStoreState.Skipped, s.State));
    }

    [Fact]
    public async Task TheStorePage_WhileDeleting_ShowsProgress_AndThenThatTheStoreIsGone()
    {
        var owner = $"del{Guid.NewGuid():N}";
        var name = $"d{Guid.NewGuid():N}"[..10];
        var store = await fixture.Host.SeedAsync(name, owner, StorePhase.Deleting, "Deletion requested.");
        SignIn(owner, Roles.Member);

        var page = _context.Render<StoreDetails>(p => p.Add(s => s.Name, name));

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=deleting]")));
        Assert.Empty(page.FindAll("#delete"));
        await fixture.Host.Repository.RemoveAsync(store, new StoreEvent(DateTimeOffset.UtcNow, StoreEventType.Deleted, StorePhase.Deleting, "gone"));
        page.WaitForAssertion(() => Assert.Contains($"Store {name} is gone", page.Find("[data-testid=gone]").TextContent), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task TheStorePage_ListsTheStoresBackups_AndSaysWhenBackupsAreNotConfigured()
    {
        var owner = $"bk{Guid.NewGuid():N}";
        var name = $"b{Guid.NewGuid():N}"[..10];
        await fixture.Host.SeedAsync(name, owner, StorePhase.Ready, "ready");
        var records = fixture.Host.Services.GetRequiredService<Storefleet.Core.Backups.IBackupRepository>();
        var now = DateTimeOffset.UtcNow;
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{name}-backup-1", name, Storefleet.Core.Backups.BackupTrigger.Scheduled, Storefleet.Core.Backups.BackupStatus.Succeeded,
            now.AddHours(-2), now.AddHours(-2), "0a1b2c3d", 3_100_000, 912_000_000, 1204, 42, Versions: new Storefleet.Core.Backups.BackupVersions("0.1.0", "6.8.3-php8.3-apache", "10.2.2")));
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{name}-backup-2", name, Storefleet.Core.Backups.BackupTrigger.OnDemand, Storefleet.Core.Backups.BackupStatus.Failed,
            now.AddMinutes(-5), now.AddMinutes(-4), Reason: "the backup repository is unreachable: check the repository URL."));
        SignIn(owner, Roles.Member);

        var page = _context.Render<StoreDetails>(p => p.Add(s => s.Name, name));

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=backups] tbody tr").Count));
        var rows = page.FindAll("[data-testid=backups] tbody tr");
        Assert.Equal($"{name}-backup-2", rows[0].GetAttribute("data-backup"));
        Assert.Contains("failed: the backup repository is unreachable", rows[0].TextContent);
        Assert.Contains("912 MB", rows[1].TextContent);
        Assert.Contains("3.1 MB", rows[1].TextContent);
        Assert.Contains("0a1b2c3d", rows[1].TextContent);
        Assert.Contains("WordPress 6.8.3-php8.3-apache", rows[1].TextContent);
        Assert.Empty(page.FindAll("#back-up"));
        Assert.Contains("Backups are not configured", page.Find("[data-testid=backups-off]").TextContent);
    }

    [Fact]
    public async Task BackUpNow_WithBackupsConfigured_SaysWhyItCannotStartWithoutACluster()
    {
        await using var host = new ServerHost(fixture.Redis, new Dictionary<string, string?> { ["Storefleet:Backups:Repository"] = "s3:https://s3.amazonaws.com/b/storefleet" });
        using var context = new BunitContext();
        context.Services.AddFallbackServiceProvider(host.Services);
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var owner = $"bkon{Guid.NewGuid():N}";
        var name = $"c{Guid.NewGuid():N}"[..10];
        await host.SeedAsync(name, owner, StorePhase.Ready, "ready");
        var auth = context.AddAuthorization();
        auth.SetAuthorized(owner);
        auth.SetClaims(new Claim(AccessClaims.Subject, owner), new Claim(AccessClaims.Role, Roles.Member));

        var page = context.Render<StoreDetails>(p => p.Add(s => s.Name, name));
        page.WaitForAssertion(() => Assert.NotNull(page.Find("#back-up")));
        page.Find("#back-up").Click();

        page.WaitForAssertion(() => Assert.Contains("The Kubernetes cluster is unavailable", page.Find("[role=status].banner").TextContent), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task RestoreABackup_AsksForTheStoresNameFirst_ThenShowsTheRestoresSteps()
    {
        await using var host = new ServerHost(fixture.Redis, new Dictionary<string, string?> { ["Storefleet:Backups:Repository"] = "s3:https://s3.amazonaws.com/b/storefleet" });
        using var context = new BunitContext();
        context.Services.AddFallbackServiceProvider(host.Services);
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var owner = $"rs{Guid.NewGuid():N}";
        var name = $"r{Guid.NewGuid():N}"[..10];
        await host.SeedAsync(name, owner, StorePhase.Ready, "ready");
        var records = host.Services.GetRequiredService<Storefleet.Core.Backups.IBackupRepository>();
        var now = DateTimeOffset.UtcNow;
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{name}-backup-1", name, Storefleet.Core.Backups.BackupTrigger.Scheduled, Storefleet.Core.Backups.BackupStatus.Succeeded,
            now.AddHours(-2), now.AddHours(-2), "0a1b2c3d", 3_100_000, 912_000_000, 1204, 42));
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{name}-backup-2", name, Storefleet.Core.Backups.BackupTrigger.OnDemand, Storefleet.Core.Backups.BackupStatus.Failed,
            now.AddMinutes(-5), now.AddMinutes(-4), Reason: "unreachable."));
        var auth = context.AddAuthorization();
        auth.SetAuthorized(owner);
        auth.SetClaims(new Claim(AccessClaims.Subject, owner), new Claim(AccessClaims.Role, Roles.Member));

        var page = context.Render<StoreDetails>(p => p.Add(s => s.Name, name));

        // Only a backup that succeeded offers a restore; the restore waits for the store's name typed out.
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-restore]")));
        Assert.Equal($"{name}-backup-1", page.Find("[data-restore]").GetAttribute("data-restore"));
        page.Find("[data-restore]").Click();
        page.WaitForAssertion(() => Assert.Contains("A safety backup of the store as it is now is taken first", page.Find("[data-testid=restore-confirm]").TextContent));
        Assert.True(page.Find("#restore").HasAttribute("disabled"));
        page.Find("#confirm-restore").Input(name[..4]);
        Assert.True(page.Find("#restore").HasAttribute("disabled"));
        Assert.Equal(StorePhase.Ready, (await host.Repository.GetAsync(name))!.Phase);
        page.Find("#confirm-restore").Input(name);
        page.Find("#restore").Click();

        page.WaitForAssertion(() => Assert.Contains($"Restoring backup {name}-backup-1", page.Find("[data-testid=restoring]").TextContent), TimeSpan.FromSeconds(10));
        var restoring = (await host.Repository.GetAsync(name))!;
        Assert.Equal((StorePhase.Restoring, $"{name}-backup-1", "0a1b2c3d"), (restoring.Phase, restoring.Restore!.Backup, restoring.Restore.Snapshot));
        Assert.Equal("step-current", page.Find("[data-testid=restoring] li").GetAttribute("class"));
        Assert.Empty(page.FindAll("[data-restore]"));
    }

    [Fact]
    public async Task CloneABackup_CreatesANewStoreFromIt_AndAnAdminMayDeleteAStoreWithItsBackups()
    {
        await using var host = new ServerHost(fixture.Redis, new Dictionary<string, string?> { ["Storefleet:Backups:Repository"] = "s3:https://s3.amazonaws.com/b/storefleet" });
        using var context = new BunitContext();
        context.Services.AddFallbackServiceProvider(host.Services);
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var owner = $"cl{Guid.NewGuid():N}";
        var name = $"s{Guid.NewGuid():N}"[..10];
        await host.SeedAsync(name, owner, StorePhase.Ready, "ready");
        var source = (await host.Repository.GetAsync(name))!;
        var repository = Storefleet.Engine.Backups.BackupJobs.RepositoryName(source);
        var records = host.Services.GetRequiredService<Storefleet.Core.Backups.IBackupRepository>();
        await records.RecordAsync(new Storefleet.Core.Backups.Backup($"{name}-backup-1", name, Storefleet.Core.Backups.BackupTrigger.Scheduled, Storefleet.Core.Backups.BackupStatus.Succeeded,
            DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(-1), "0a1b2c3d", 1, 2, 3, 4, Repository: repository, Owner: owner));
        var auth = context.AddAuthorization();
        auth.SetAuthorized(owner);
        auth.SetClaims(new Claim(AccessClaims.Subject, owner), new Claim(AccessClaims.Role, Roles.Member));

        var page = context.Render<StoreDetails>(p => p.Add(s => s.Name, name));
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-clone]")));
        Assert.Empty(page.FindAll("#purge-backups")); // members never purge backups
        page.Find("[data-clone]").Click();
        page.WaitForAssertion(() => Assert.NotNull(page.Find("#clone-name")));
        page.Find("#clone-name").Input("Bad_Name");
        Assert.NotEmpty(page.Find("[data-testid=clone] .field-error").TextContent);
        Assert.True(page.Find("#clone").HasAttribute("disabled"));
        var clone = $"c{Guid.NewGuid():N}"[..10];
        page.Find("#clone-name").Input(clone);
        page.Find("#clone").Click();

        page.WaitForAssertion(() => Assert.EndsWith($"/stores/{clone}", context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().Uri, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var created = (await host.Repository.GetAsync(clone))!;
        Assert.Equal((owner, new CloneSource(name, $"{name}-backup-1", "0a1b2c3d", repository)), (created.Owner, created.CloneFrom));

        // An admin deleting the source may purge its backups with it.
        using var admin = new BunitContext();
        admin.Services.AddFallbackServiceProvider(host.Services);
        admin.JSInterop.Mode = JSRuntimeMode.Loose;
        var adminAuth = admin.AddAuthorization();
        adminAuth.SetAuthorized("root");
        adminAuth.SetClaims(new Claim(AccessClaims.Subject, "root"), new Claim(AccessClaims.Role, Roles.Admin));
        var adminPage = admin.Render<StoreDetails>(p => p.Add(s => s.Name, name));
        adminPage.WaitForAssertion(() => Assert.NotNull(adminPage.Find("#purge-backups")));
        Assert.Contains("kept for 30 days", adminPage.Find("#purge-backups").ParentElement!.TextContent);
        adminPage.Find("#purge-backups").Change(true);
        adminPage.Find("#confirm-name").Input(name);
        adminPage.Find("#delete").Click();
        await Storefleet.Testing.Eventually.WaitUntilAsync(async () => await host.Repository.GetAsync(name) is { Phase: StorePhase.Deleting, PurgeBackups: true }, TimeSpan.FromSeconds(10), "the store deleting with its backups");
    }

    [Fact]
    public async Task AnotherOwnersStore_IsNotShown()
    {
        var name = $"o{Guid.NewGuid():N}"[..10];
        await fixture.Host.SeedAsync(name, "bob", StorePhase.Ready, "ready");
        SignIn("alice", Roles.Member);

        var page = _context.Render<StoreDetails>(p => p.Add(s => s.Name, name));

        page.WaitForAssertion(() => Assert.Contains($"No store named {name}", page.Markup));
    }

    [Fact]
    public async Task WithRedisDown_ThePagesSaySo()
    {
        await using var dead = new ServerHost($"127.0.0.1:{Storefleet.Testing.FreePort.Next()},abortConnect=false,connectTimeout=200,syncTimeout=500,asyncTimeout=500");
        using var context = new BunitContext();
        context.Services.AddFallbackServiceProvider(dead.Services);
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var auth = context.AddAuthorization();
        auth.SetAuthorized("alice");
        auth.SetClaims(new Claim(AccessClaims.Subject, "alice"), new Claim(AccessClaims.Role, Roles.Member));

        var stores = context.Render<Stores>();
        var status = context.Render<StatusBar>();

        stores.WaitForAssertion(() => Assert.Contains("Redis is unreachable", stores.Find("[role=alert]").TextContent), TimeSpan.FromSeconds(10));
        status.WaitForAssertion(() => Assert.Contains("Redis is unreachable", status.Find("[data-testid=redis-down]").TextContent), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task TheWarmPoolPage_ShowsEachPlansMembers_WhatTheyDo_AndWhoClaimedThem()
    {
        var member = Storefleet.Core.Pool.WarmPool.NewMemberName();
        await fixture.Host.SeedAsync(member, Storefleet.Core.Pool.WarmPool.Owner, StorePhase.Ready, "Store is ready.");
        SignIn("admin", Roles.Admin);

        var page = _context.Render<WarmPool>();

        page.WaitForAssertion(() => Assert.NotNull(page.FindAll("[data-testid=pool-small] tbody tr").SingleOrDefault(r => r.TextContent.Contains(member, StringComparison.Ordinal))), TimeSpan.FromSeconds(5));
        var row = page.FindAll("[data-testid=pool-small] tbody tr").Single(r => r.TextContent.Contains(member, StringComparison.Ordinal));
        Assert.Contains("idle", row.TextContent);
        Assert.Contains("No pool (size 0).", page.Find("[data-testid=pool-small]").TextContent);
        Assert.DoesNotContain(page.FindAll("[data-testid=pool-large] tbody tr"), r => r.TextContent.Contains(member, StringComparison.Ordinal));
    }

    private void SignIn(string subject, string role)
    {
        _context.Services.AddFallbackServiceProvider(fixture.Host.Services);
        _context.JSInterop.Mode = JSRuntimeMode.Loose;
        var auth = _context.AddAuthorization();
        auth.SetAuthorized(subject);
        auth.SetClaims(new Claim(AccessClaims.Subject, subject), new Claim(AccessClaims.Role, role));
    }
}

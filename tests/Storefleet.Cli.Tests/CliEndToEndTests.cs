using System.Diagnostics;
using System.Text.Json.Nodes;
using Storefleet.Testing;

namespace Storefleet.Cli.Tests;

/// <summary>
/// The CLI as a person and a script use it, against a real control plane, Redis, helm and the test double: sign in,
/// create with --wait (plain and in a pseudo-terminal), follow events, delete with --wait, every exit code, JSON and
/// YAML output, completion.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CliEndToEndTests(CliFixture cli) : IClassFixture<CliFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task CreateWait_ShowsEachStep_AndEndsWithTheAddresses_ThenDeleteWait_RemovesIt()
    {
        await cli.SignInAsMemberAsync("alice");
        var name = NewName("wait");

        var created = await cli.RunAsync(["stores", "create", name, "--wait"]);
        var listed = await cli.RunAsync(["stores", "list", "-o", "json"]);
        var deleted = await cli.RunAsync(["stores", "delete", name, "--wait", "--yes"]);
        var gone = await cli.RunAsync(["stores", "get", name]);

        Assert.True(created.ExitCode == 0, created.ToString());
        var lines = created.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("namespace", StringComparison.Ordinal) && l.Contains($"Namespace store-{name} created", StringComparison.Ordinal));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"helm-upgrade .*\((\d+ ms|\d+\.\d s|[\d.]+ min)\)$"));
        Assert.Contains(lines, l => l.Contains("Infrastructure ready", StringComparison.Ordinal));
        Assert.Equal($"Store {name} is ready: http://{name}.localtest.me/ (admin http://{name}.localtest.me/wp-admin/).", lines[^1].Trim());
        Assert.Equal(0, listed.ExitCode);
        Assert.Contains(JsonNode.Parse(listed.Stdout)!["items"]!.AsArray(), s => s!["name"]!.GetValue<string>() == name && s["phase"]!.GetValue<string>() == "ready");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Contains($"Store {name} is deleted.", deleted.Stdout);
        Assert.Equal(ExitCodes.NotFound, gone.ExitCode);
        Assert.Contains($"There is no store named '{name}'", gone.Stderr);
    }

    [Fact]
    public async Task CreateWait_InATerminal_DrawsALiveTableOfSteps()
    {
        await cli.SignInAsMemberAsync("alice");
        var name = NewName("tty");

        // util-linux 'script' runs the CLI on a pseudo-terminal, as a person's shell would.
        var command = $"stty cols 120 rows 40; dotnet {CliFixture.CliDll} stores create {name} --wait";
        var run = await Storefleet.Testing.Cli.RunAsync("script", ["-qfec", command, "/dev/null"], cli.Environment(new Dictionary<string, string> { ["TERM"] = "xterm-256color" }), timeout: Generous);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("\u001b[", run.Stdout); // colour and cursor control
        Assert.Contains("╭", run.Stdout);       // the table's rounded border
        Assert.Contains("helm-upgrade", run.Stdout);
        Assert.Contains($"Store {name} is ready", run.Stdout);
        Assert.Contains("✓", run.Stdout);
    }

    [Fact]
    public async Task EventsFollow_PrintsEventsAsTheyHappen_AndEndsWhenTheStoreIsDeleted()
    {
        await cli.SignInAsMemberAsync("alice");
        var name = NewName("follow");
        Assert.Equal(0, (await cli.RunAsync(["stores", "create", name])).ExitCode);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { CliFixture.CliDll, "stores", "events", name, "-f" })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in cli.Environment())
        {
            start.Environment[key] = value;
        }

        using var follower = Process.Start(start)!;
        var lines = new List<string>();
        var stderr = follower.StandardError.ReadToEndAsync();
        await Eventually.WaitUntilAsync(async () =>
        {
            var line = await follower.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is null)
            {
                throw new GiveUpException($"the follower ended early: {string.Join('\n', lines)}\n{await stderr}");
            }

            lines.Add(line);
            return line.Contains("Store is ready", StringComparison.Ordinal);
        }, Generous, "the follower to print the store's ready event");

        Assert.Equal(0, (await cli.RunAsync(["stores", "delete", name, "--yes"])).ExitCode);
        var rest = await follower.StandardOutput.ReadToEndAsync().WaitAsync(Generous);
        await follower.WaitForExitAsync().WaitAsync(Generous);

        Assert.Equal(0, follower.ExitCode);
        Assert.Contains("Store requested by alice", lines[0]);
        Assert.Contains("Store deleted", rest);
    }

    [Fact]
    public async Task EveryExitCode_MeansWhatTheHelpSays()
    {
        await cli.SignInAsMemberAsync("alice");
        var name = NewName("codes");
        Assert.Equal(0, (await cli.RunAsync(["stores", "create", name])).ExitCode);

        var usage = await cli.RunAsync(["stores", "create"]);
        var badPlan = await cli.RunAsync(["stores", "create", "x", "--plan", "huge"]);
        var conflict = await cli.RunAsync(["stores", "create", name, "--plan", "large"]);
        var badToken = await cli.RunAsync(["stores", "list"], environment: new Dictionary<string, string> { ["STOREFLEET_TOKEN"] = "sfat_not-a-real-token" });
        var notFound = await cli.RunAsync(["stores", "get", "no-such-store"]);
        var unreachable = await cli.RunAsync(["stores", "list"], environment: new Dictionary<string, string> { ["STOREFLEET_SERVER"] = "http://127.0.0.1:9" });
        var unconfirmed = await cli.RunAsync(["stores", "delete", name]);
        var invalidName = await cli.RunAsync(["stores", "create", "Bad_Name"]);

        Assert.Equal(ExitCodes.Usage, usage.ExitCode);
        Assert.Contains("Run 'storefleet stores create --help'", usage.Stderr);
        Assert.Equal(ExitCodes.Usage, badPlan.ExitCode);
        Assert.Equal(ExitCodes.Failed, conflict.ExitCode);
        Assert.Contains("already exists with engine 'woocommerce' and plan 'small'", conflict.Stderr);
        Assert.Equal(ExitCodes.Unauthorized, badToken.ExitCode);
        Assert.Contains("storefleet login", badToken.Stderr);
        Assert.Equal(ExitCodes.NotFound, notFound.ExitCode);
        Assert.Equal(ExitCodes.Unreachable, unreachable.ExitCode);
        Assert.Contains("Cannot reach the Storefleet server at http://127.0.0.1:9", unreachable.Stderr);
        Assert.Equal(ExitCodes.Usage, unconfirmed.ExitCode);
        Assert.Contains("--yes", unconfirmed.Stderr);
        Assert.Equal(ExitCodes.Failed, invalidName.ExitCode);
        Assert.Contains("lowercase", invalidName.Stderr);
        Assert.All(new[] { usage, conflict, badToken, notFound, unreachable, unconfirmed }, r => Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Output_JsonAndYamlRoundTrip_NamesAreBare_AndTheTableIsStableForScripts()
    {
        await cli.SignInAsMemberAsync("bob");
        var name = NewName("out");
        Assert.Equal(0, (await cli.RunAsync(["stores", "create", name, "--plan", "medium"])).ExitCode);

        var json = await cli.RunAsync(["stores", "get", name, "-o", "json"]);
        var yaml = await cli.RunAsync(["stores", "get", name, "-o", "yaml"]);
        var names = await cli.RunAsync(["stores", "list", "-o", "name"]);
        var table = await cli.RunAsync(["stores", "list"]);
        var unknown = await cli.RunAsync(["stores", "list", "-o", "xml"]);

        var store = JsonNode.Parse(json.Stdout)!;
        Assert.Equal(name, store["name"]!.GetValue<string>());
        Assert.Equal("medium", store["plan"]!.GetValue<string>());
        Assert.Contains($"name: {name}", yaml.Stdout);
        Assert.Contains("plan: medium", yaml.Stdout);
        Assert.Contains("conditions:", yaml.Stdout);
        Assert.Equal([name], names.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var rows = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+PHASE\s+PLAN\s+OWNER\s+AGE$", rows[0]);
        Assert.Matches($@"^{name}\s+\w+\s+medium\s+bob\s+\d+[smhd]$", rows[1]);
        Assert.DoesNotContain("\u001b[", table.Stdout);
        Assert.Equal(ExitCodes.Usage, unknown.ExitCode);
    }

    [Fact]
    public async Task Credentials_AreMaskedUnlessRevealed()
    {
        await cli.SignInAsMemberAsync("carol");
        var name = NewName("cred");
        Assert.Equal(0, (await cli.RunAsync(["stores", "create", name, "--wait"])).ExitCode);

        var masked = await cli.RunAsync(["stores", "credentials", name]);
        var revealed = await cli.RunAsync(["stores", "credentials", name, "--reveal"]);

        Assert.Equal(0, masked.ExitCode);
        Assert.Contains("••••", masked.Stdout);
        var password = revealed.Stdout.Split('\n')[1].Split("  ", StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
        Assert.Equal(24, password.Length);
        Assert.DoesNotContain(password, masked.Stdout);
    }

    [Fact]
    public async Task Upgrade_OfAStoreThatRunsWhatIsShipped_ChangesNothing_AndOfAStoreStillBeingCreated_SaysWhy()
    {
        await cli.SignInAsMemberAsync("uma");
        var ready = NewName("upg");
        Assert.Equal(0, (await cli.RunAsync(["stores", "create", ready, "--wait"])).ExitCode);
        long Generation(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!["generation"]!.GetValue<long>();
        var generation = Generation((await cli.RunAsync(["stores", "get", ready, "-o", "json"])).Stdout);

        var current = await cli.RunAsync(["stores", "upgrade", ready, "--wait"]);
        var missing = await cli.RunAsync(["stores", "upgrade", NewName("nope")]);

        Assert.True(current.ExitCode == 0, current.ToString());
        Assert.Contains("already runs what this control plane ships", current.Stdout);
        Assert.Equal(generation, Generation((await cli.RunAsync(["stores", "get", ready, "-o", "json"])).Stdout));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("not found", missing.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Completion_LoadsInBash_AndOffersVerbsOptionsAndYourStores()
    {
        await cli.SignInAsMemberAsync("dave");
        var name = NewName("comp");
        Assert.Equal(0, (await cli.RunAsync(["stores", "create", name])).ExitCode);
        var bin = Directory.CreateDirectory(Path.Combine(cli.Home, "bin")).FullName;
        var wrapper = Path.Combine(bin, "storefleet");
        await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec dotnet '{CliFixture.CliDll}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var script = Path.Combine(cli.Home, "storefleet.bash");

        await File.WriteAllTextAsync(script, (await cli.RunAsync(["completion", "bash"])).Stdout);
        var syntax = await Storefleet.Testing.Cli.RunAsync("bash", ["-n", script]);
        var environment = cli.Environment(new Dictionary<string, string> { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" });
        var verbs = await Storefleet.Testing.Cli.RunAsync("bash", ["-c", $"source '{script}'; COMP_WORDS=(storefleet stores ''); COMP_CWORD=2; _storefleet_complete; printf '%s\\n' \"${{COMPREPLY[@]}}\""], environment);
        var stores = await Storefleet.Testing.Cli.RunAsync("bash", ["-c", $"source '{script}'; COMP_WORDS=(storefleet stores get ''); COMP_CWORD=3; _storefleet_complete; printf '%s\\n' \"${{COMPREPLY[@]}}\""], environment);
        var options = await cli.RunAsync(["__complete", "--", "stores", "create", "x", "--p"]);
        var others = await Task.WhenAll(new[] { "zsh", "fish", "powershell" }.Select(shell => cli.RunAsync(["completion", shell])));

        Assert.True(syntax.ExitCode == 0, syntax.ToString());
        Assert.Equal(["create", "credentials", "delete", "events", "get", "list", "retry", "set-plan", "upgrade"], verbs.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.Contains(name, stores.Stdout.Split('\n'));
        Assert.Equal(["--plan"], options.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.All(others, o => Assert.Contains("storefleet __complete", o.Stdout));
    }

    [Fact]
    public async Task Contexts_AreSavedPrivately_AndSwitchable()
    {
        await cli.SignInAsMemberAsync("erin");
        await cli.SignInAsMemberAsync("frank");

        var listed = await cli.RunAsync(["contexts"]);
        var switched = await cli.RunAsync(["use-context", "erin"]);
        var missing = await cli.RunAsync(["use-context", "nobody"]);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cli.ConfigPath));
        Assert.Matches(@"\*\s+frank\s", listed.Stdout);
        Assert.Equal(0, switched.ExitCode);
        Assert.Matches(@"\*\s+erin\s", (await cli.RunAsync(["contexts"])).Stdout);
        Assert.Equal(ExitCodes.NotFound, missing.ExitCode);
        Assert.DoesNotContain("sfat_", listed.Stdout);
    }

    [Fact]
    public async Task Admin_SeesTheFleetByVersion_AsATableAndAsJson()
    {
        Assert.Equal(0, (await cli.RunAsync(["login", cli.Server.ToString(), "--token-stdin", "--name", "fleet-admin"], stdin: cli.AdminToken)).ExitCode);
        var name = NewName("ver");
        Assert.Equal(0, (await cli.RunAsync(["stores", "create", name, "--wait"])).ExitCode);

        var json = await cli.RunAsync(["fleet", "-o", "json"]);
        var table = await cli.RunAsync(["fleet"]);

        Assert.True(json.ExitCode == 0, json.ToString());
        var fleet = JsonNode.Parse(json.Stdout)!;
        var shipped = Assert.Single(fleet["shipped"]!.AsArray())!;
        var current = Assert.Single(fleet["versions"]!.AsArray(), v => v!["current"]!.GetValue<bool>())!;
        Assert.Equal(shipped["chartVersion"]!.GetValue<string>(), current["chartVersion"]!.GetValue<string>());
        Assert.True(current["stores"]!.GetValue<int>() >= 1);
        Assert.DoesNotContain(name, fleet["outdated"]!["names"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches(@"^ENGINE\s+CHART\s+WORDPRESS\s+WOOCOMMERCE\s+MYSQL\s+STORES\s+SHIPPED$", table.Stdout.Split('\n')[0]);
        Assert.Contains(table.Stdout.Split('\n'), row => System.Text.RegularExpressions.Regex.IsMatch(row, @"^woocommerce\s+0\.1\.0\s+6\.8\.3-php8\.3-apache\s+10\.2\.2\s+8\.4\.6\s+\d+\s+yes$"));
        Assert.Matches(@"\d+ stores, \d+ not yet picked up by the engine\.", table.Stdout);
    }

    [Fact]
    public async Task Admin_ManagesTokens_ReadsTheAudit_AndSeesOrphans()
    {
        Assert.Equal(0, (await cli.RunAsync(["login", cli.Server.ToString(), "--token-stdin", "--name", "admin"], stdin: cli.AdminToken)).ExitCode);
        var orphan = NewName("lost");
        var planted = await Storefleet.Testing.Cli.RunAsync(RepositoryPaths.Kubectl, ["apply", "-f", "-"], new Dictionary<string, string> { ["KUBECONFIG"] = cli.Api.KubeconfigPath },
            $"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: store-{orphan}\n  labels:\n    app.kubernetes.io/managed-by: storefleet\n    storefleet.io/store: {orphan}\n");
        Assert.True(planted.ExitCode == 0, planted.ToString());

        var created = await cli.RunAsync(["tokens", "create", "gina", "--role", "viewer", "--name", "gina's laptop"]);
        var secret = created.Stdout.Trim();
        var listed = await cli.RunAsync(["tokens", "list", "-o", "json"]);
        var table = await cli.RunAsync(["tokens", "list"]);
        Assert.Equal(0, (await cli.RunAsync(["login", cli.Server.ToString(), "--token-stdin", "--name", "gina"], stdin: secret)).ExitCode);
        var forbidden = await cli.RunAsync(["stores", "create", NewName("view")]);
        var audit = await cli.RunAsync(["--context", "admin", "audit", "--actor", "gina", "-o", "json"]);
        var id = JsonNode.Parse(listed.Stdout)!["items"]!.AsArray().Single(t => t!["subject"]!.GetValue<string>() == "gina")!["id"]!.GetValue<string>();
        var revoked = await cli.RunAsync(["--context", "admin", "tokens", "revoke", id]);
        var afterRevoke = await cli.RunAsync(["stores", "list"]);
        var orphans = await Eventually.WaitForAsync(async () =>
        {
            var run = await cli.RunAsync(["--context", "admin", "orphans", "-o", "json"]);
            return run.ExitCode == 0 && JsonNode.Parse(run.Stdout)!["items"]!.AsArray().Any(o => o!["store"]!.GetValue<string>() == orphan) ? run : null;
        }, Generous, "the orphan in 'storefleet orphans'");
        var orphanTable = await cli.RunAsync(["--context", "admin", "orphans"]);

        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.StartsWith("sfat_", secret);
        Assert.DoesNotContain(secret, listed.Stdout + table.Stdout);
        Assert.Matches(@"^ID\s+NAME\s+SUBJECT\s+ROLE\s+MAX STORES\s+CREATED\s+REVOKED$", table.Stdout.Split('\n')[0]);
        Assert.Contains(table.Stdout.Split('\n'), row => System.Text.RegularExpressions.Regex.IsMatch(row, @"^\S+\s+gina's laptop\s+gina\s+viewer\s"));
        Assert.Equal(ExitCodes.Unauthorized, forbidden.ExitCode);
        var entries = JsonNode.Parse(audit.Stdout)!["items"]!.AsArray();
        Assert.NotEmpty(entries);
        Assert.All(entries, e => Assert.Equal("gina", e!["actor"]!.GetValue<string>()));
        Assert.Contains(entries, e => e!["result"]!.GetValue<string>() == "refused");
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.Equal(ExitCodes.Unauthorized, afterRevoke.ExitCode);
        Assert.Contains($"store-{orphan}", orphanTable.Stdout);
        Assert.Matches(@"^NAMESPACE\s+STORE\s+UID\s+FIRST SEEN\s+WHY$", orphanTable.Stdout.Split('\n')[0]);
    }

    private static string NewName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 7)];
}

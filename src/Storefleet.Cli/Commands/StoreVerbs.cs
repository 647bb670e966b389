using System.CommandLine;
using System.CommandLine.Completions;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Storefleet.Cli.Http;
using Storefleet.Cli.Output;

namespace Storefleet.Cli.Commands;

/// <summary><c>storefleet stores …</c>: create, list, get, events, delete, retry, credentials, set-plan, upgrade.</summary>
public static class StoreVerbs
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(30);

    public static Command Build(CliRuntime runtime)
    {
        var stores = new Command("stores", "Create, watch and manage stores.\n\nExamples:\n  storefleet stores create my-shop --wait\n  storefleet stores list\n  storefleet stores events my-shop -f");
        foreach (var verb in new[] { Create(runtime), List(runtime), Get(runtime), Events(runtime), Delete(runtime), Retry(runtime), Credentials(runtime), SetPlan(runtime), Upgrade(runtime) })
        {
            stores.Subcommands.Add(verb);
        }

        return stores;
    }

    private static Command Create(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: false);
        var plan = new Option<string>("--plan") { Description = "small, medium or large.", DefaultValueFactory = _ => "small" };
        plan.AcceptOnlyFromAmong("small", "medium", "large");
        var engine = new Option<string>("--engine") { Description = "The store engine.", DefaultValueFactory = _ => "woocommerce" };
        var wait = new Option<bool>("--wait") { Description = "Show each step as it happens and return when the store is ready (exit 1 if it fails)." };
        var timeout = Timeout();
        var output = Output();
        var command = new Command("create",
            "Request a new store. It is recorded at once and provisioned in the background.\n\n" +
            "Examples:\n  storefleet stores create my-shop\n  storefleet stores create my-shop --plan medium --wait")
        {
            name, plan, engine, wait, timeout, output,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var storeName = parse.GetValue(name)!;
            var created = await api.PostAsync("api/v1/stores", new JsonObject { ["name"] = storeName, ["plan"] = parse.GetValue(plan), ["engine"] = parse.GetValue(engine) }, cancellationToken);
            if (!parse.GetValue(wait))
            {
                PrintStore(runtime.Printer, created, Printer.ParseFormat(parse.GetValue(output)), $"Store {storeName} requested; follow it with 'storefleet stores events {storeName} -f'.");
                return ExitCodes.Success;
            }

            var (outcome, store) = await new StoreProgress(api, runtime.Printer).FollowAsync(storeName, 0, s => s?["phase"]?.GetValue<string>() switch
            {
                "ready" => WaitOutcome.Reached,
                "failed" => WaitOutcome.Failed,
                "deleting" => WaitOutcome.Gone,
                null => WaitOutcome.Gone,
                _ => null,
            }, parse.GetValue(timeout), cancellationToken);
            return Finish(runtime.Printer, storeName, outcome, store);
        }));
        return command;
    }

    private static Command List(CliRuntime runtime)
    {
        var phase = new Option<string?>("--phase") { Description = "Only stores in this phase (requested, provisioning, bootstrapping, ready, degraded, updating, restoring, failed, deleting)." };
        var search = new Option<string?>("--name") { Description = "Only stores whose name contains this text." };
        var output = Output();
        var command = new Command("list",
            "List your stores (admins: every store), newest first.\n\n" +
            "Examples:\n  storefleet stores list\n  storefleet stores list --phase failed -o wide\n  storefleet stores list -o name")
        {
            phase, search, output,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var format = Printer.ParseFormat(parse.GetValue(output));
            var items = new JsonArray();
            string? next = null;
            do
            {
                var query = $"api/v1/stores?limit=500{Param("phase", parse.GetValue(phase))}{Param("name", parse.GetValue(search))}{Param("continue", next)}";
                var page = await api.GetAsync(query, cancellationToken);
                foreach (var item in page["items"]!.AsArray())
                {
                    items.Add(item!.DeepClone());
                }

                next = page["continue"]?.GetValue<string>();
            }
            while (next is not null);

            switch (format)
            {
                case OutputFormat.Json:
                    runtime.Printer.Json(new JsonObject { ["items"] = items });
                    break;
                case OutputFormat.Yaml:
                    runtime.Printer.Yaml(new JsonObject { ["items"] = items });
                    break;
                case OutputFormat.Name:
                    foreach (var item in items)
                    {
                        runtime.Printer.Line(item!["name"]!.GetValue<string>());
                    }

                    break;
                default:
                    var wide = format == OutputFormat.Wide;
                    runtime.Printer.Table(wide ? ["NAME", "PHASE", "PLAN", "OWNER", "AGE", "NAMESPACE", "STOREFRONT", "REASON"] : ["NAME", "PHASE", "PLAN", "OWNER", "AGE"],
                        items.Select(s => Row(s!, wide)));
                    if (items.Count == 0)
                    {
                        runtime.Printer.Hint("No stores. Create one with 'storefleet stores create <name> --wait'.");
                    }

                    break;
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Get(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: true);
        var output = Output();
        var command = new Command("get", "Show one store: phase, plan, addresses and conditions.\n\nExamples:\n  storefleet stores get my-shop\n  storefleet stores get my-shop -o json") { name, output };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var store = await api.GetAsync($"api/v1/stores/{parse.GetValue(name)}", cancellationToken);
            PrintStore(runtime.Printer, store, Printer.ParseFormat(parse.GetValue(output)), null);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Events(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: true);
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events as they happen (until the store is deleted or Ctrl-C)." };
        var command = new Command("events", "Print a store's timeline, oldest first.\n\nExamples:\n  storefleet stores events my-shop\n  storefleet stores events my-shop -f") { name, follow };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var storeName = parse.GetValue(name)!;
            if (!parse.GetValue(follow))
            {
                var timeline = await api.GetAsync($"api/v1/stores/{storeName}/events", cancellationToken);
                foreach (var e in timeline["items"]!.AsArray())
                {
                    runtime.Printer.Line(StoreProgress.PlainLine(e!));
                }

                return ExitCodes.Success;
            }

            string? last = null;
            while (true)
            {
                try
                {
                    await foreach (var item in api.StreamAsync($"api/v1/stores/{storeName}/events?follow=true", last, cancellationToken))
                    {
                        if (item.EventType == "store-event")
                        {
                            last = item.EventId ?? last;
                            runtime.Printer.Line(StoreProgress.PlainLine(JsonNode.Parse(item.Data)!));
                            await runtime.Printer.Out.FlushAsync(cancellationToken);
                        }
                        else if (item.EventType == "gap")
                        {
                            runtime.Printer.Hint("(some older events were trimmed while reconnecting)");
                        }
                    }

                    return ExitCodes.Success; // the store was deleted: its timeline ended
                }
                catch (CliException e) when (e.ExitCode == ExitCodes.Unreachable && last is not null)
                {
                    runtime.Printer.Hint("(connection lost; reconnecting…)");
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
            }
        }));
        return command;
    }

    private static Command Delete(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: true);
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation (required when not on a terminal)." };
        var wait = new Option<bool>("--wait") { Description = "Return once the store's release and namespace are gone." };
        var timeout = Timeout();
        var command = new Command("delete",
            "Delete a store: its release, database and files.\n" +
            "It cannot be undone. " +
            "On a terminal you are asked to type the store's name; elsewhere pass --yes.\n\n" +
            "Examples:\n  storefleet stores delete my-shop --wait\n  storefleet stores delete my-shop --yes")
        {
            name, yes, wait, timeout,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            var storeName = parse.GetValue(name)!;
            if (!parse.GetValue(yes))
            {
                if (!runtime.Printer.Interactive)
                {
                    throw new CliException(ExitCodes.Usage, $"Deleting '{storeName}' removes its database and files for good. Pass --yes to confirm when not on a terminal.");
                }

                var typed = runtime.Printer.Console.Prompt(new TextPrompt<string>($"This deletes [bold]{Markup.Escape(storeName)}[/] with its database and files. Type its name to confirm:").AllowEmpty());
                if (typed != storeName)
                {
                    throw new CliException(ExitCodes.Failed, "Not deleted: the name did not match.");
                }
            }

            using var api = runtime.Api(parse);
            var before = await LastEventIdAsync(api, storeName, cancellationToken);
            await api.DeleteAsync($"api/v1/stores/{storeName}", cancellationToken);
            if (!parse.GetValue(wait))
            {
                runtime.Printer.Success($"Deletion of {storeName} requested.");
                return ExitCodes.Success;
            }

            var (outcome, _) = await new StoreProgress(api, runtime.Printer).FollowAsync(storeName, before, s => s is null ? WaitOutcome.Reached : null, parse.GetValue(timeout), cancellationToken);
            runtime.Printer.Success($"Store {storeName} is deleted.");
            return outcome == WaitOutcome.Reached ? ExitCodes.Success : ExitCodes.Failed;
        }));
        return command;
    }

    private static Command Retry(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: true);
        var wait = new Option<bool>("--wait") { Description = "Show progress and return when the store is ready again." };
        var timeout = Timeout();
        var command = new Command("retry",
            "Retry a failed store, or resume the care of a live store.\n" +
            "A failed store resumes at the step that failed; a live store whose drift repair was paused, or whose plan change\nwas rolled back, is looked after again.\n\n" +
            "Example:\n  storefleet stores retry my-shop --wait")
        {
            name, wait, timeout,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var storeName = parse.GetValue(name)!;
            var before = await LastEventIdAsync(api, storeName, cancellationToken);
            await api.PostAsync($"api/v1/stores/{storeName}/retry", null, cancellationToken);
            if (!parse.GetValue(wait))
            {
                runtime.Printer.Success($"Retry of {storeName} requested.");
                return ExitCodes.Success;
            }

            var (outcome, store) = await new StoreProgress(api, runtime.Printer).FollowAsync(storeName, before, ReadyOrFailed, parse.GetValue(timeout), cancellationToken);
            return Finish(runtime.Printer, storeName, outcome, store);
        }));
        return command;
    }

    private static Command Credentials(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: true);
        var reveal = new Option<bool>("--reveal") { Description = "Print the password (it is masked otherwise)." };
        var command = new Command("credentials",
            "Show the store's WordPress administrator login.\n" +
            "It is read from the store's Secret on demand; the password is masked unless --reveal.\n\n" +
            "Example:\n  storefleet stores credentials my-shop --reveal")
        {
            name, reveal,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var credentials = await api.GetAsync($"api/v1/stores/{parse.GetValue(name)}/credentials", cancellationToken);
            var password = credentials["adminPassword"]?.GetValue<string>() ?? string.Empty;
            runtime.Printer.Table(["ADMIN URL", "USER", "PASSWORD"], [[
                credentials["adminUrl"]?.GetValue<string>() ?? "(not live yet)",
                credentials["adminUser"]?.GetValue<string>() ?? string.Empty,
                parse.GetValue(reveal) ? password : new string('•', 12) + "  (--reveal to show)",
            ]]);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command SetPlan(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: true);
        var plan = new Argument<string>("PLAN") { Description = "small, medium or large.", HelpName = "PLAN" };
        plan.AcceptOnlyFromAmong("small", "medium", "large");
        var wait = new Option<bool>("--wait") { Description = "Show progress and return when the store runs on the new plan." };
        var timeout = Timeout();
        var command = new Command("set-plan",
            "Change a ready store's plan in place.\n" +
            "Quota, limits and volumes grow (volumes never shrink); the old plan serves while the release is upgraded, and a\nfailed change is rolled back.\n\n" +
            "Example:\n  storefleet stores set-plan my-shop medium --wait")
        {
            name, plan, wait, timeout,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var storeName = parse.GetValue(name)!;
            var wanted = parse.GetValue(plan)!;
            var current = await api.GetAsync($"api/v1/stores/{storeName}", cancellationToken);
            var before = await LastEventIdAsync(api, storeName, cancellationToken);
            await api.SendAsync(HttpMethod.Patch, $"api/v1/stores/{storeName}", new JsonObject { ["plan"] = wanted }, "application/merge-patch+json",
                new Dictionary<string, string> { ["If-Match"] = $"\"{current["generation"]!.GetValue<long>()}\"" }, cancellationToken);
            if (!parse.GetValue(wait))
            {
                runtime.Printer.Success($"Plan change of {storeName} to {wanted} requested.");
                return ExitCodes.Success;
            }

            var (outcome, store) = await new StoreProgress(api, runtime.Printer).FollowAsync(storeName, before, s => s?["phase"]?.GetValue<string>() switch
            {
                "ready" when s["servingPlan"]?.GetValue<string>() == wanted => WaitOutcome.Reached,
                "degraded" when s["servingPlan"]?.GetValue<string>() != wanted && s["phase"] is not null && HasCondition(s, "UpdateFailed") => WaitOutcome.Failed,
                "failed" => WaitOutcome.Failed,
                null => WaitOutcome.Gone,
                _ => null,
            }, parse.GetValue(timeout), cancellationToken);
            return Finish(runtime.Printer, storeName, outcome, store);
        }));
        return command;
    }

    private static Command Upgrade(CliRuntime runtime)
    {
        var name = StoreName(runtime, completeExisting: true);
        var wait = new Option<bool>("--wait") { Description = "Show progress and return when the store runs the new versions (or was rolled back)." };
        var timeout = Timeout();
        var command = new Command("upgrade",
            "Move a ready store to the chart and WordPress/WooCommerce versions this control plane ships.\n" +
            "Outdated stores ('storefleet fleet' lists them) are never upgraded otherwise. The old release serves meanwhile;\n" +
            "if the upgrade fails it is rolled back and the store keeps the versions it ran.\n\n" +
            "Example:\n  storefleet stores upgrade my-shop --wait")
        {
            name, wait, timeout,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var storeName = parse.GetValue(name)!;
            var generation = (await api.GetAsync($"api/v1/stores/{storeName}", cancellationToken))["generation"]!.GetValue<long>();
            var before = await LastEventIdAsync(api, storeName, cancellationToken);
            var answer = await api.PostAsync($"api/v1/stores/{storeName}/upgrade", null, cancellationToken);
            var requested = answer["generation"]!.GetValue<long>();
            if (requested == generation)
            {
                runtime.Printer.Success($"{storeName} already runs what this control plane ships; nothing to do.");
                return ExitCodes.Success;
            }

            if (!parse.GetValue(wait))
            {
                runtime.Printer.Success($"Upgrade of {storeName} requested.");
                return ExitCodes.Success;
            }

            var (outcome, store) = await new StoreProgress(api, runtime.Printer).FollowAsync(storeName, before, s => s?["phase"]?.GetValue<string>() switch
            {
                "ready" when s["observedGeneration"]?.GetValue<long>() >= requested => WaitOutcome.Reached,
                "degraded" when s["observedGeneration"]?.GetValue<long>() >= requested && HasCondition(s, "UpdateFailed") => WaitOutcome.Failed,
                "failed" => WaitOutcome.Failed,
                null => WaitOutcome.Gone,
                _ => null,
            }, parse.GetValue(timeout), cancellationToken);
            return Finish(runtime.Printer, storeName, outcome, store);
        }));
        return command;
    }

    private static WaitOutcome? ReadyOrFailed(JsonNode? store) => store?["phase"]?.GetValue<string>() switch
    {
        "ready" => WaitOutcome.Reached,
        "failed" => WaitOutcome.Failed,
        null => WaitOutcome.Gone,
        _ => null,
    };

    private static bool HasCondition(JsonNode store, string type) =>
        store["conditions"]?.AsArray().Any(c => c?["type"]?.GetValue<string>() == type) == true;

    /// <summary>The end of a wait, in words: the URLs when ready; the reason and the next command when not.</summary>
    private static int Finish(Printer printer, string name, WaitOutcome outcome, JsonNode? store)
    {
        switch (outcome)
        {
            case WaitOutcome.Reached:
                var urls = store?["urls"];
                printer.Success(urls is null ? $"Store {name} is ready." : $"Store {name} is ready: {urls["storefront"]} (admin {urls["admin"]}).");
                return ExitCodes.Success;
            case WaitOutcome.Failed:
                var reason = store?["conditions"]?.AsArray().LastOrDefault(c => c?["type"]?.GetValue<string>() is "Failed" or "UpdateFailed");
                printer.Fail($"Store {name} failed{(reason is null ? "." : $" ({reason["reason"]}): {reason["message"]}")} Retry with 'storefleet stores retry {name} --wait', or delete it.");
                return ExitCodes.Failed;
            default:
                printer.Fail($"Store {name} is gone (it was deleted).");
                return ExitCodes.Failed;
        }
    }

    private static void PrintStore(Printer printer, JsonNode store, OutputFormat format, string? hint)
    {
        switch (format)
        {
            case OutputFormat.Json:
                printer.Json(store);
                return;
            case OutputFormat.Yaml:
                printer.Yaml(store);
                return;
            case OutputFormat.Name:
                printer.Line(store["name"]!.GetValue<string>());
                return;
        }

        printer.Table(["NAME", "PHASE", "PLAN", "OWNER", "AGE", "NAMESPACE", "STOREFRONT", "REASON"], [Row(store, wide: true)]);
        foreach (var condition in store["conditions"]?.AsArray() ?? [])
        {
            printer.Line($"  {condition!["type"]}={condition["status"]} {condition["reason"]}: {condition["message"]}");
        }

        if (hint is not null)
        {
            printer.Hint(hint);
        }
    }

    private static List<string> Row(JsonNode store, bool wide)
    {
        var created = DateTimeOffset.Parse(store["createdAt"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var row = new List<string>
        {
            store["name"]!.GetValue<string>(),
            store["phase"]!.GetValue<string>(),
            store["plan"]!.GetValue<string>(),
            store["owner"]!.GetValue<string>(),
            Age(DateTimeOffset.UtcNow - created),
        };
        if (wide)
        {
            var reason = store["conditions"]?.AsArray().LastOrDefault(c => c?["type"]?.GetValue<string>() is "Failed" or "Degraded" or "UpdateFailed")?["reason"]?.GetValue<string>();
            row.Add(store["namespace"]?.GetValue<string>() ?? string.Empty);
            row.Add(store["urls"]?["storefront"]?.GetValue<string>() ?? string.Empty);
            row.Add(reason ?? string.Empty);
        }

        return row;
    }

    /// <summary>kubectl-style ages: 42s, 7m, 3h, 12d.</summary>
    internal static string Age(TimeSpan age) =>
        age.TotalSeconds < 60 ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
        : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes}m"
        : age.TotalHours < 24 ? $"{(int)age.TotalHours}h"
        : $"{(int)age.TotalDays}d";

    /// <summary>The id of the store's latest event (ids are stable): a wait follows what happens after it.</summary>
    private static async Task<long> LastEventIdAsync(StorefleetApi api, string name, CancellationToken cancellationToken)
    {
        var items = (await api.GetAsync($"api/v1/stores/{name}/events", cancellationToken))["items"]!.AsArray();
        return items.Count == 0 ? 0 : items[^1]!["id"]?.GetValue<long>() ?? 0;
    }

    private static string Param(string name, string? value) => value is null ? string.Empty : $"&{name}={Uri.EscapeDataString(value)}";

    private static Option<TimeSpan> Timeout() => new("--timeout")
    {
        Description = "With --wait: how long to wait before giving up (the work goes on in the background).",
        DefaultValueFactory = _ => DefaultWait,
    };

    private static Option<string?> Output() => new("--output", "-o") { Description = "Output format: table (default), wide, json, yaml or name." };

    /// <summary>The NAME argument; for existing stores, completion offers your stores' names (from the server).</summary>
    private static Argument<string> StoreName(CliRuntime runtime, bool completeExisting)
    {
        var name = new Argument<string>("NAME") { Description = "The store's name (lowercase letters, digits and hyphens).", HelpName = "NAME" };
        if (completeExisting)
        {
            name.CompletionSources.Add(context => StoreNames(runtime, context.WordToComplete));
        }

        return name;
    }

    private static IEnumerable<CompletionItem> StoreNames(CliRuntime runtime, string prefix)
    {
        try
        {
            using var api = runtime.Api(runtime.Contexts.Resolve(null));
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var page = api.GetAsync("api/v1/stores?limit=500", quick.Token).GetAwaiter().GetResult();
            return [.. page["items"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()).Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Select(n => new CompletionItem(n))];
        }
        catch (Exception e) when (e is CliException or HttpRequestException or OperationCanceledException or InvalidOperationException)
        {
            return []; // completion never fails loudly
        }
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Storefleet.Cli.Output;

namespace Storefleet.Cli.Commands;

/// <summary>Administration: <c>tokens</c>, <c>audit</c>, <c>orphans</c>, <c>fleet</c>.</summary>
public static class AdminVerbs
{
    public static Command Tokens(CliRuntime runtime)
    {
        var tokens = new Command("tokens", "Create, list and revoke API tokens (admins).\n\nExamples:\n  storefleet tokens create alice --role member\n  storefleet tokens list");

        var subject = new Argument<string>("SUBJECT") { Description = "Whom the token acts as (stores it creates are theirs)." };
        var role = new Option<string>("--role") { Description = "admin, member or viewer.", DefaultValueFactory = _ => "member" };
        role.AcceptOnlyFromAmong("admin", "member", "viewer");
        var maxStores = new Option<int?>("--max-stores") { Description = "How many stores the subject may have (default: the server's per-owner limit)." };
        var label = new Option<string?>("--name") { Description = "A label to recognise the token by in 'tokens list'." };
        var create = new Command("create",
            "Create a token. Its secret is printed once, here only: hand it over safely (e.g. 'storefleet login --token-stdin').\n\n" +
            "Example:\n  storefleet tokens create alice --role member --max-stores 10")
        {
            subject, role, maxStores, label,
        };
        create.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var body = new JsonObject { ["subject"] = parse.GetValue(subject), ["role"] = parse.GetValue(role), ["name"] = parse.GetValue(label) };
            if (parse.GetValue(maxStores) is { } max)
            {
                body["maxStores"] = max;
            }

            var created = await api.PostAsync("api/v1/tokens", body, cancellationToken);
            runtime.Printer.Hint($"Token {created["token"]?["id"]} for {created["token"]?["subject"]} ({created["token"]?["role"]}). The secret below is shown only once:");
            runtime.Printer.Line(created["secret"]!.GetValue<string>());
            return ExitCodes.Success;
        }));

        var output = new Option<string?>("--output", "-o") { Description = "Output format: table (default), json or yaml." };
        var list = new Command("list", "List tokens (never their secrets).\n\nExample:\n  storefleet tokens list") { output };
        list.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var answer = await api.GetAsync("api/v1/tokens", cancellationToken);
            runtime.Printer.Items(answer, Printer.ParseFormat(parse.GetValue(output)), ["ID", "NAME", "SUBJECT", "ROLE", "MAX STORES", "CREATED", "REVOKED"], t =>
            [
                Text(t["id"]), Text(t["name"]), Text(t["subject"]), Text(t["role"]), Text(t["maxStores"]), Date(t["createdAt"]), Date(t["revokedAt"]),
            ]);

            return ExitCodes.Success;
        }));

        var id = new Argument<string>("ID") { Description = "The token's id (from 'tokens list')." };
        var revoke = new Command("revoke", "Revoke a token: it stops working on its next request.\n\nExample:\n  storefleet tokens revoke 3f2a9c") { id };
        revoke.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            await api.DeleteAsync($"api/v1/tokens/{Uri.EscapeDataString(parse.GetValue(id)!)}", cancellationToken);
            runtime.Printer.Success($"Token {parse.GetValue(id)} revoked.");
            return ExitCodes.Success;
        }));

        tokens.Subcommands.Add(create);
        tokens.Subcommands.Add(list);
        tokens.Subcommands.Add(revoke);
        return tokens;
    }

    public static Command Audit(CliRuntime runtime)
    {
        var actor = new Option<string?>("--actor") { Description = "Only entries by this subject." };
        var store = new Option<string?>("--store") { Description = "Only entries about this store." };
        var limit = new Option<int>("--limit") { Description = "How many entries (1–1000).", DefaultValueFactory = _ => 50 };
        var output = new Option<string?>("--output", "-o") { Description = "Output format: table (default), json or yaml." };
        var command = new Command("audit", "The audit trail, newest first (admins).\n\nExamples:\n  storefleet audit\n  storefleet audit --store my-shop -o json") { actor, store, limit, output };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var query = $"api/v1/audit?limit={parse.GetValue(limit).ToString(CultureInfo.InvariantCulture)}"
                + (parse.GetValue(actor) is { } a ? $"&actor={Uri.EscapeDataString(a)}" : string.Empty)
                + (parse.GetValue(store) is { } s ? $"&store={Uri.EscapeDataString(s)}" : string.Empty);
            var answer = await api.GetAsync(query, cancellationToken);
            runtime.Printer.Items(answer, Printer.ParseFormat(parse.GetValue(output)), ["TIME", "ACTOR", "ROLE", "CLIENT", "ACTION", "TARGET", "RESULT"], e =>
            [
                Date(e["time"]), Text(e["actor"]), Text(e["role"]), Text(e["client"]), Text(e["action"]), Text(e["target"]), Text(e["result"]),
            ]);

            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Orphans(CliRuntime runtime)
    {
        var output = new Option<string?>("--output", "-o") { Description = "Output format: table (default), json or yaml." };
        var command = new Command("orphans",
            "List namespaces labelled as stores that have no store record (admins).\n" +
            "Storefleet never deletes them: check each, then delete it with kubectl if it is truly unwanted.\n\nExamples:\n  storefleet orphans\n  storefleet orphans -o json")
        {
            output,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var answer = await api.GetAsync("api/v1/orphans", cancellationToken);
            runtime.Printer.Items(answer, Printer.ParseFormat(parse.GetValue(output)), ["NAMESPACE", "STORE", "UID", "FIRST SEEN", "WHY"], o =>
            [
                Text(o["namespace"]), Text(o["store"]), Text(o["uid"]), Date(o["firstSeen"]), Text(o["message"]),
            ]);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Fleet(CliRuntime runtime)
    {
        var output = new Option<string?>("--output", "-o") { Description = "Output format: table (default), json or yaml." };
        var command = new Command("fleet",
            "Show the fleet by chart and application version, and which stores are outdated relative to what the server ships (admins).\n" +
            "Reading it changes nothing: an outdated store keeps its version until it is moved on purpose.\n\nExamples:\n  storefleet fleet\n  storefleet fleet -o json")
        {
            output,
        };
        command.SetAction(CliApp.Action(runtime, async (parse, cancellationToken) =>
        {
            using var api = runtime.Api(parse);
            var answer = await api.GetAsync("api/v1/fleet", cancellationToken);
            switch (Printer.ParseFormat(parse.GetValue(output)))
            {
                case OutputFormat.Json:
                    runtime.Printer.Json(answer);
                    return ExitCodes.Success;
                case OutputFormat.Yaml:
                    runtime.Printer.Yaml(answer);
                    return ExitCodes.Success;
            }

            runtime.Printer.Table(["ENGINE", "CHART", "WORDPRESS", "WOOCOMMERCE", "MYSQL", "STORES", "SHIPPED"], answer["versions"]!.AsArray().Select(v =>
                (IReadOnlyList<string>)[
                    Text(v!["engine"]), Text(v["chartVersion"]), Text(v["apps"]?["wordPress"]) is { Length: > 0 } wp ? wp : "(not recorded)",
                    Text(v["apps"]?["wooCommerce"]), Text(v["apps"]?["mySql"]), Text(v["stores"]), v["current"]!.GetValue<bool>() ? "yes" : "no",
                ]));
            runtime.Printer.Line();
            runtime.Printer.Line($"{Text(answer["stores"])} stores, {Text(answer["unpinned"])} not yet picked up by the engine.");
            Describe("outdated (this server would install them differently)", answer["outdated"]!);
            Describe("ahead (they run a newer chart than this server ships)", answer["ahead"]!);
            return ExitCodes.Success;

            void Describe(string what, JsonNode list)
            {
                if (list["count"]!.GetValue<int>() > 0)
                {
                    var names = string.Join(", ", list["names"]!.AsArray().Select(n => n!.GetValue<string>()));
                    runtime.Printer.Line($"{Text(list["count"])} {what}: {names}{(list["truncated"]!.GetValue<bool>() ? ", …" : string.Empty)}");
                }
            }
        }));
        return command;
    }

    private static string Text(JsonNode? value) => value switch
    {
        null => string.Empty,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => value.ToJsonString(),
    };

    private static string Date(JsonNode? value) =>
        value is not null && DateTimeOffset.TryParse(value.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            ? at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : string.Empty;
}

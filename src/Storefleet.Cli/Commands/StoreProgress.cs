using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Storefleet.Cli.Http;
using Storefleet.Cli.Output;

namespace Storefleet.Cli.Commands;

/// <summary>How a wait ended: the store reached the wanted state, failed, or is gone.</summary>
public enum WaitOutcome
{
    Reached,
    Failed,
    Gone,
}

/// <summary>
/// Follows a store's timeline (the server's event stream) until a condition on the store holds, showing progress:
/// on a terminal a live table of steps with their durations and the latest event; otherwise one plain line per event.
/// </summary>
public sealed class StoreProgress(StorefleetApi api, Printer printer)
{
    /// <summary>Follows <paramref name="name"/>'s events, after <paramref name="afterEventId"/>, until <paramref name="done"/> says so.</summary>
    public async Task<(WaitOutcome Outcome, JsonNode? Store)> FollowAsync(string name, long afterEventId, Func<JsonNode?, WaitOutcome?> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var steps = new List<Step>();
        string latest = string.Empty;
        (WaitOutcome, JsonNode?)? result = null;

        async Task RunAsync(Action refresh)
        {
            string? last = afterEventId > 0 ? afterEventId.ToString(CultureInfo.InvariantCulture) : null;
            // A stream dropped by a proxy or a restart is resumed from the last event seen.
            while (result is null)
            {
                try
                {
                    await foreach (var item in api.StreamAsync($"api/v1/stores/{name}/events?follow=true", last, limit.Token))
                    {
                        if (item.EventType != "store-event")
                        {
                            continue;
                        }

                        last = item.EventId ?? last;
                        var e = JsonNode.Parse(item.Data)!;
                        Record(steps, e);
                        latest = e["message"]?.GetValue<string>() ?? string.Empty;
                        if (!printer.Interactive)
                        {
                            printer.Line(PlainLine(e));
                        }

                        refresh();
                        var store = e["type"]?.GetValue<string>() == "deleted" ? null : await CurrentAsync(name, limit.Token);
                        if (done(store) is { } outcome)
                        {
                            result = (outcome, store);
                            return;
                        }
                    }

                    // The stream ended (the store is gone).
                    result = (done(null) ?? WaitOutcome.Gone, null);
                }
                catch (CliException e) when (e.ExitCode == ExitCodes.Unreachable && !limit.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), limit.Token);
                }
            }
        }

        try
        {
            if (printer.Interactive)
            {
                await printer.Console.Live(Render(name, steps, latest)).AutoClear(false).StartAsync(async live =>
                    await RunAsync(() => live.UpdateTarget(Render(name, steps, latest))));
            }
            else
            {
                await RunAsync(() => { });
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.Failed, $"Store '{name}' did not get there within {timeout.TotalMinutes:0.#} min; it goes on in the background. Follow it with 'storefleet stores events {name} -f'.");
        }

        return result!.Value;
    }

    private async Task<JsonNode?> CurrentAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await api.GetAsync($"api/v1/stores/{name}", cancellationToken);
        }
        catch (CliException e) when (e.ExitCode == ExitCodes.NotFound)
        {
            return null;
        }
    }

    private sealed class Step(string name)
    {
        public string Name { get; } = name;

        public string State { get; set; } = "running";

        public string Duration { get; set; } = string.Empty;
    }

    private static void Record(List<Step> steps, JsonNode e)
    {
        var stepName = e["step"]?.GetValue<string>() ?? e["type"]?.GetValue<string>() ?? "event";
        var step = steps.LastOrDefault(s => s.Name == stepName);
        if (step is null)
        {
            step = new Step(stepName);
            steps.Add(step);
        }

        step.State = e["type"]?.GetValue<string>() switch
        {
            "stepFailed" => "failed",
            "warning" => "warning",
            _ => "done",
        };
        step.Duration = e["durationMs"] is { } ms ? Duration(ms.GetValue<double>()) : step.Duration;
    }

    private static Table Render(string name, List<Step> steps, string latest)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(name)}[/]");
        table.AddColumn("Step");
        table.AddColumn("State");
        table.AddColumn(new TableColumn("Duration").RightAligned());
        foreach (var step in steps)
        {
            var state = step.State switch
            {
                "done" => "[green]done[/]",
                "failed" => "[red]failed[/]",
                "warning" => "[yellow]warning[/]",
                _ => "[blue]running[/]",
            };
            table.AddRow(Markup.Escape(step.Name), state, Markup.Escape(step.Duration));
        }

        table.Caption(Markup.Escape(latest.Length > 160 ? latest[..160] + "…" : latest));
        return table;
    }

    internal static string PlainLine(JsonNode e)
    {
        var time = e["time"] is { } t && DateTimeOffset.TryParse(t.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            ? at.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)
            : "--:--:--";
        var step = e["step"]?.GetValue<string>() ?? e["type"]?.GetValue<string>() ?? "event";
        var duration = e["durationMs"] is { } ms ? $" ({Duration(ms.GetValue<double>())})" : string.Empty;
        return $"{time}  {e["phase"]?.GetValue<string>(),-13} {step,-16} {e["message"]?.GetValue<string>()}{duration}";
    }

    internal static string Duration(double milliseconds) =>
        milliseconds >= 60_000 ? $"{milliseconds / 60_000:0.#} min" : milliseconds >= 1000 ? $"{milliseconds / 1000:0.0} s" : $"{milliseconds:0} ms";
}

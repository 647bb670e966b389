using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Storefleet.Cli.Output;

/// <summary>Output formats of list and get verbs.</summary>
public enum OutputFormat
{
    Table,
    Wide,
    Json,
    Yaml,
    Name,
}

/// <summary>
/// Writes what the CLI shows. On a terminal: tables and colour (Spectre.Console). Redirected, with <c>NO_COLOR</c> or
/// <c>TERM=dumb</c>: plain, stable text for scripts — columns separated by spaces, no colour, no boxes, no animation.
/// </summary>
public sealed class Printer
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public Printer(TextWriter output, TextWriter error, bool? interactive = null)
    {
        Out = output;
        Error = error;
        Interactive = interactive ?? (!System.Console.IsOutputRedirected
            && Environment.GetEnvironmentVariable("NO_COLOR") is null or ""
            && Environment.GetEnvironmentVariable("TERM") is not "dumb");
        Console = Interactive ? AnsiConsole.Console : AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>A terminal that shows colour and live views.</summary>
    public bool Interactive { get; }

    public IAnsiConsole Console { get; }

    public static OutputFormat ParseFormat(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "table" => OutputFormat.Table,
        "wide" => OutputFormat.Wide,
        "json" => OutputFormat.Json,
        "yaml" => OutputFormat.Yaml,
        "name" => OutputFormat.Name,
        _ => throw new CliException(ExitCodes.Usage, $"Unknown output format '{value}'. Use one of: table, wide, json, yaml, name."),
    };

    public void Line(string text = "") => Out.WriteLine(text);

    /// <summary>A line that matters only to a person at a terminal (progress, hints); scripts never see it.</summary>
    public void Hint(string text)
    {
        if (Interactive)
        {
            Console.MarkupLine($"[grey]{Markup.Escape(text)}[/]");
        }
    }

    public void Success(string text)
    {
        if (Interactive)
        {
            Console.MarkupLine($"[green]✓[/] {Markup.Escape(text)}");
        }
        else
        {
            Out.WriteLine(text);
        }
    }

    public void Fail(string text)
    {
        if (Interactive)
        {
            AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Error) }).MarkupLine($"[red]error:[/] {Markup.Escape(text)}");
        }
        else
        {
            Error.WriteLine($"error: {text}");
        }
    }

    /// <summary>Rows under headers: a table on a terminal, aligned plain columns otherwise.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        if (Interactive)
        {
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var header in headers)
            {
                table.AddColumn(new TableColumn(Markup.Escape(header)));
            }

            foreach (var row in all)
            {
                table.AddRow([.. row.Select(c => new Markup(Markup.Escape(c)))]);
            }

            Console.Write(table);
            return;
        }

        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        Out.WriteLine(Join(headers, widths));
        foreach (var row in all)
        {
            Out.WriteLine(Join(row, widths));
        }
    }

    public void Json(JsonNode node) => Out.WriteLine(node.ToJsonString(Indented));

    /// <summary>A list answer (<c>{"items": [...]}</c>) as JSON or YAML as it came, otherwise a table of its items.</summary>
    public void Items(JsonNode answer, OutputFormat format, IReadOnlyList<string> headers, Func<JsonNode, IReadOnlyList<string>> row)
    {
        switch (format)
        {
            case OutputFormat.Json:
                Json(answer);
                break;
            case OutputFormat.Yaml:
                Yaml(answer);
                break;
            default:
                Table(headers, answer["items"]!.AsArray().Select(item => row(item!)));
                break;
        }
    }

    public void Yaml(JsonNode node) => Out.Write(YamlText.Of(node));

    private static string Join(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}

/// <summary>JSON as block-style YAML (what <c>-o yaml</c> prints): mappings, sequences, and scalars quoted when needed.</summary>
public static class YamlText
{
    public static string Of(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(text, node, 0, inSequence: false);
        return text.ToString();
    }

    private static void Write(StringBuilder text, JsonNode? node, int indent, bool inSequence)
    {
        var pad = new string(' ', indent);
        switch (node)
        {
            case JsonObject { Count: 0 }:
                text.Append("{}\n");
                break;
            case JsonObject o:
                var first = true;
                foreach (var (key, value) in o)
                {
                    text.Append(first && inSequence ? string.Empty : pad).Append(Scalar(key)).Append(':');
                    first = false;
                    if (value is JsonObject { Count: > 0 } or JsonArray { Count: > 0 })
                    {
                        text.Append('\n');
                        Write(text, value, indent + 2, inSequence: false);
                    }
                    else
                    {
                        text.Append(' ');
                        Write(text, value, indent + 2, inSequence: false);
                    }
                }

                break;
            case JsonArray { Count: 0 }:
                text.Append("[]\n");
                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    text.Append(pad).Append("- ");
                    Write(text, item, indent + 2, inSequence: true);
                }

                break;
            case null:
                text.Append("null\n");
                break;
            case JsonValue v when v.TryGetValue<string>(out var s):
                text.Append(Scalar(s)).Append('\n');
                break;
            default:
                text.Append(node.ToJsonString()).Append('\n');
                break;
        }
    }

    private static readonly JsonSerializerOptions Quoted = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A string as a YAML scalar: plain when it cannot be read as anything else, double-quoted (JSON escapes) otherwise.</summary>
    private static string Scalar(string value)
    {
        var plain = value.Length > 0
            && value.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ' ' or '@' or '+')
            && !value.StartsWith(' ') && !value.EndsWith(' ')
            && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            && value is not ("true" or "false" or "null" or "yes" or "no" or "on" or "off" or "~");
        return plain ? value : JsonSerializer.Serialize(value, Quoted);
    }
}

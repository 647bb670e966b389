using System.Globalization;

namespace Storefleet.Testing;

/// <summary>One run of helm as the wrapper saw it: when it started and ended, how, and whether it got SIGTERM.</summary>
public sealed record HelmInvocation(int Pid, IReadOnlyList<string> Args, DateTimeOffset Started, DateTimeOffset? Ended, int? ExitCode, DateTimeOffset? TerminatedAt)
{
    /// <summary>Its process tree was killed (it logged no end of its own; <see cref="Ended"/> is when it was gone).</summary>
    public bool Killed { get; init; }

    /// <summary>The process that started helm (the control plane), when the log says.</summary>
    public int? ParentPid { get; init; }

    public string Command => Args.Count > 0 ? Args[0] : string.Empty;

    /// <summary>The release the command acts on (<c>upgrade --install NAME</c>, <c>uninstall NAME</c>, <c>rollback NAME</c>...).</summary>
    public string? Release => Command switch
    {
        "upgrade" or "uninstall" or "rollback" or "install" or "test" or "status" or "history" => Args.Skip(1).FirstOrDefault(a => !a.StartsWith('-')),
        _ => null,
    };

    public bool Overlaps(HelmInvocation other) =>
        Started < (other.Ended ?? DateTimeOffset.MaxValue) && other.Started < (Ended ?? DateTimeOffset.MaxValue);

    public override string ToString() =>
        $"helm {string.Join(' ', Args.Take(4))} (pid {Pid}{(ParentPid is { } parent ? $", started by {parent}" : string.Empty)}) {Started:HH:mm:ss.fff}–{Ended:HH:mm:ss.fff} {(Killed ? "killed" : $"exit {ExitCode}")}{(TerminatedAt is null ? string.Empty : $" SIGTERM at {TerminatedAt:HH:mm:ss.fff}")}";
}

/// <summary>
/// A stand-in for the helm binary that runs the real one and records, outside the product, every
/// invocation: arguments, start and end times, exit code, and when a SIGTERM arrived (it forwards it to
/// helm). It can hold <c>upgrade</c> commands for a while before helm starts (interruptibly), so a test
/// can make helm "slower than its own wait" and prove the product stopped it. Several processes may
/// share one wrapper: the log is appended line by line.
/// </summary>
public sealed class HelmWrapper : IDisposable
{
    private readonly string _directory;

    private HelmWrapper(string directory)
    {
        _directory = directory;
        Path = System.IO.Path.Combine(directory, "helm");
        LogPath = System.IO.Path.Combine(directory, "invocations.log");
    }

    /// <summary>The wrapper executable: use it as <c>Storefleet:Engine:HelmPath</c>.</summary>
    public string Path { get; }

    public string LogPath { get; }

    public static HelmWrapper Create(string? realHelm = null)
    {
        var wrapper = new HelmWrapper(Directory.CreateTempSubdirectory("helm-wrapper-").FullName);
        File.WriteAllText(wrapper.Path, Script(realHelm ?? RepositoryPaths.Helm, wrapper.LogPath, System.IO.Path.Combine(wrapper._directory, "upgrade-delay"), System.IO.Path.Combine(wrapper._directory, "term-delay")));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(wrapper.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        File.WriteAllText(wrapper.LogPath, string.Empty);
        return wrapper;
    }

    /// <summary>From now on every <c>helm upgrade</c> waits this long before the real helm starts (zero: none).</summary>
    public void DelayUpgrades(TimeSpan delay) =>
        File.WriteAllText(System.IO.Path.Combine(_directory, "upgrade-delay"), delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));

    /// <summary>
    /// From now on a SIGTERM is forwarded to helm only after this long (zero: at once), as a helm busy writing its state
    /// would be: the wrapper keeps running meanwhile. A process tree killed meanwhile is marked <see cref="HelmInvocation.Killed"/>.
    /// </summary>
    public void DelayTermination(TimeSpan delay) =>
        File.WriteAllText(System.IO.Path.Combine(_directory, "term-delay"), delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));

    /// <summary>Every invocation so far (running ones have no end yet).</summary>
    public IReadOnlyList<HelmInvocation> Invocations()
    {
        var started = new Dictionary<int, HelmInvocation>();
        var order = new List<int>();
        foreach (var line in File.ReadAllLines(LogPath))
        {
            var parts = line.Split('\t');
            if (parts.Length < 3 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var time = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[2], CultureInfo.InvariantCulture) / 1_000_000);
            switch (parts[0])
            {
                case "start":
                    started[pid] = new HelmInvocation(pid, parts.Length > 3 ? parts[3].Split('\u001f') : [], time, null, null, null)
                    {
                        ParentPid = parts.Length > 4 && int.TryParse(parts[4], CultureInfo.InvariantCulture, out var parent) ? parent : null,
                    };
                    order.Add(pid);
                    break;
                case "term" when started.TryGetValue(pid, out var running):
                    started[pid] = running with { TerminatedAt = running.TerminatedAt ?? time };
                    break;
                case "end" when started.TryGetValue(pid, out var finished):
                    started[pid] = finished with { Ended = time, ExitCode = int.Parse(parts[3], CultureInfo.InvariantCulture) };
                    break;
                case "gone" when started.TryGetValue(pid, out var gone) && gone.Ended is null:
                    started[pid] = gone with { Ended = time, Killed = true };
                    break;
            }
        }

        return [.. order.Distinct().Select(pid => started[pid])];
    }

    /// <summary>The most helm processes that ran at the same time (by the wrapper's start and end stamps).</summary>
    public int PeakConcurrency()
    {
        var edges = Invocations()
            .SelectMany(i => new[] { (Time: i.Started, Delta: 1), (Time: i.Ended ?? DateTimeOffset.MaxValue, Delta: -1) })
            .OrderBy(e => e.Time).ThenBy(e => e.Delta);
        int running = 0, peak = 0;
        foreach (var (_, delta) in edges)
        {
            running += delta;
            peak = Math.Max(peak, running);
        }

        return peak;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A process may still be writing; the temp area is cleaned eventually.
        }
    }

    private static string Script(string realHelm, string log, string delayFile, string termDelayFile) => $$"""
        #!/usr/bin/env bash
        # Test wrapper around helm (Storefleet.Testing.HelmWrapper): logs every run, forwards SIGTERM.
        log='{{log}}'
        stamp() { date +%s%N; }
        args=$(IFS=$'\x1f'; printf '%s' "$*")
        printf 'start\t%s\t%s\t%s\t%s\n' "$$" "$(stamp)" "$args" "$PPID" >> "$log"
        # A watcher outside this process tree (double fork, own session) logs when this process is gone, so a run whose
        # whole tree was killed (no 'end' of its own) still gets an end time, within 10 ms.
        ( setsid bash -c 'tail -s 0.01 --pid="$1" -f /dev/null 2>/dev/null; printf "gone\t%s\t%s\n" "$1" "$(date +%s%N)" >> "$2"' _ "$$" "$log" </dev/null >/dev/null 2>&1 & )
        child=
        terminated=0
        on_term() {
          printf 'term\t%s\t%s\n' "$$" "$(stamp)" >> "$log"
          terminated=1
          [ -s '{{termDelayFile}}' ] && sleep "$(cat '{{termDelayFile}}')"
          [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
        }
        trap on_term TERM
        if [ "$1" = "upgrade" ] && [ -s '{{delayFile}}' ]; then
          sleep "$(cat '{{delayFile}}')" &
          child=$!
          wait "$child"
          child=
        fi
        if [ "$terminated" = 1 ]; then
          printf 'end\t%s\t%s\t%s\n' "$$" "$(stamp)" 143 >> "$log"
          exit 143
        fi
        '{{realHelm}}' "$@" &
        child=$!
        while :; do
          wait "$child"
          rc=$?
          kill -0 "$child" 2>/dev/null || break
        done
        printf 'end\t%s\t%s\t%s\n' "$$" "$(stamp)" "$rc" >> "$log"
        exit "$rc"
        """;
}

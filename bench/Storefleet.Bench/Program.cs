using System.Globalization;
using Storefleet.Bench.Benchmarks;

// Storefleet benchmarks: each prints its figures against goals and a baseline measured in the same run,
// and exits non-zero when a goal is not met.
//   dotnet run -c Release --project bench/Storefleet.Bench -- provisioning [--stores 100] [--concurrency 4] [--followers 100]
//   dotnet run -c Release --project bench/Storefleet.Bench -- idle [--stores 1000] [--window 60]
//   dotnet run -c Release --project bench/Storefleet.Bench -- scale [--stores 10000] [--rate 200] [--window 60]
//   dotnet run -c Release --project bench/Storefleet.Bench -- replica-wait [--creates 500]
//   dotnet run -c Release --project bench/Storefleet.Bench -- telemetry [--stores 40] [--concurrency 4] [--rounds 2]
//   dotnet run -c Release --project bench/Storefleet.Bench -- rollout [--stores 100] [--concurrency 4]
//   dotnet run -c Release --project bench/Storefleet.Bench -- backup [--database-mb 200] [--uploads-mb 500]
//   dotnet run -c Release --project bench/Storefleet.Bench -- warm-pool [--stores 3]
//   dotnet run -c Release --project bench/Storefleet.Bench -- startup [--runs 3]
var benchmark = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "provisioning";
return benchmark switch
{
    "provisioning" => await ProvisioningBenchmark.RunAsync(Argument("--stores", 100), Argument("--concurrency", 4), Argument("--followers", 0)),
    "idle" => await IdleBenchmark.RunAsync(Argument("--stores", 1000), Argument("--window", 60)),
    "replica-wait" => await ReplicaWaitBenchmark.RunAsync(Argument("--creates", 500)),
    "telemetry" => await TelemetryBenchmark.RunAsync(Argument("--stores", 40), Argument("--concurrency", 4), Argument("--rounds", 2)),
    "rollout" => await RolloutBenchmark.RunAsync(Argument("--stores", 100), Argument("--concurrency", 4)),
    "backup" when OperatingSystem.IsLinux() => await BackupBenchmark.RunAsync(Argument("--database-mb", 200), Argument("--uploads-mb", 500)),
    "startup" => await StartupBenchmark.RunAsync(Argument("--runs", 3)),
    "warm-pool" => await WarmPoolBenchmark.RunAsync(Argument("--stores", 3)),
    "scale" => await ScaleBenchmark.RunAsync(Argument("--stores", 10_000), Argument("--rate", 200), Argument("--window", 60)),
    _ => Usage(),
};

int Usage()
{
    Console.Error.WriteLine($"Unknown benchmark '{benchmark}'. Benchmarks: provisioning, idle, scale, replica-wait, telemetry, rollout, backup, warm-pool, startup.");
    return 2;
}

int Argument(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

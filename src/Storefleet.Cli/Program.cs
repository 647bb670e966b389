using Storefleet.Cli;
using Storefleet.Cli.Config;
using Storefleet.Cli.Output;

// storefleet: the Storefleet command line. Every verb's --help has examples; exit codes are in ExitCodes.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var runtime = new CliRuntime(CliContexts.Default(), new Printer(Console.Out, Console.Error), Console.In);
return await CliApp.RunAsync(args, runtime, cancel.Token);

namespace Storefleet.Testing.KubeApi;

/// <summary><c>--port N --kubeconfig PATH</c>: serve until killed, for scripts and benchmarks.</summary>
public static class StandaloneHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = 0;
        string? kubeconfig = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], out var p):
                    port = p;
                    i++;
                    break;
                case "--kubeconfig" when i + 1 < args.Length:
                    kubeconfig = Path.GetFullPath(args[++i]);
                    break;
                default:
                    await Console.Error.WriteLineAsync($"Unknown argument '{args[i]}'. Usage: --port <n> --kubeconfig <path>");
                    return 2;
            }
        }

        await using var server = await KubeApiTestServer.StartAsync(port, kubeconfig);
        Console.WriteLine($"Kubernetes API test double listening on {server.BaseUrl}");
        Console.WriteLine($"kubeconfig: {server.KubeconfigPath}");
        var stop = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
        await stop.Task;
        return 0;
    }
}

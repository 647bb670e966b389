namespace Storefleet.Testing.KubeApi;

/// <summary>
/// Standalone: <c>dotnet run --project tests/Storefleet.Testing.KubeApi -- --port 6443 --kubeconfig /tmp/kubeconfig</c>.
/// A named entry point (not top-level statements) so it never clashes with the control plane's <c>Program</c>.
/// </summary>
internal static class StandaloneProgram
{
    public static Task<int> Main(string[] args) => StandaloneHost.RunAsync(args);
}

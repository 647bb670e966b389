// Standalone: dotnet run --project tests/Storefleet.Testing.KubeApi -- --port 6443 --kubeconfig /tmp/kubeconfig
return await Storefleet.Testing.KubeApi.StandaloneHost.RunAsync(args);

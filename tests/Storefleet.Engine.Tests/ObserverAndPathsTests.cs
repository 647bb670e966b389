using k8s.Models;
using Microsoft.Extensions.Options;
using Storefleet.Engine.Hosting;
using Storefleet.Engine.Kubernetes;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>Pod problems in words a person can act on, and where the engine finds helm and the charts.</summary>
[Collection(TimingCollection.Name)] // changes the working directory: runs alone
public sealed class ObserverAndPathsTests
{
    [Fact]
    public void PodProblems_NameThePodContainerAndImage()
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "shop-wordpress-7d9f-abcde" },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "wordpress", Image = "wordpress:6.8.3-php8.3-apache" }] },
            Status = new V1PodStatus
            {
                ContainerStatuses = [new V1ContainerStatus
                {
                    Name = "wordpress", Image = "wordpress:6.8.3-php8.3-apache", ImageID = "", Ready = false, RestartCount = 5,
                    State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "CrashLoopBackOff", Message = "back-off 40s restarting failed container" } },
                }],
            },
        };

        var problem = Assert.Single(StoreObserver.PodProblems(pod));

        Assert.Equal("CrashLoopBackOff", problem.Reason);
        Assert.Contains("shop-wordpress-7d9f-abcde", problem.Message);
        Assert.Contains("container wordpress", problem.Message);
        Assert.Contains("wordpress:6.8.3-php8.3-apache", problem.Message);
    }

    [Fact]
    public void AnUnschedulablePod_SaysWhy()
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "shop-mysql-0" },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "mysql", Image = "mysql:8.4.6" }] },
            Status = new V1PodStatus { Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/1 nodes are available: 1 Insufficient memory." }] },
        };

        var problem = Assert.Single(StoreObserver.PodProblems(pod));

        Assert.Equal("Unschedulable", problem.Reason);
        Assert.Contains("Insufficient memory", problem.Message);
    }

    [Fact]
    public void AHealthyPod_HasNoProblems()
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "ok" },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "i:1" }] },
            Status = new V1PodStatus
            {
                Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True" }],
                ContainerStatuses = [new V1ContainerStatus { Name = "c", Image = "i:1", ImageID = "x", Ready = true, State = new V1ContainerState { Running = new V1ContainerStateRunning() } }],
            },
        };

        Assert.Empty(StoreObserver.PodProblems(pod));
    }

    [Fact]
    public void FromTheRepository_TheChartsAndHelmAreFound_WithNoConfiguration()
    {
        var previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(RepositoryPaths.Root);
        try
        {
            var paths = new EnginePaths(Options.Create(new EngineOptions()));

            Assert.Equal(Path.Combine(RepositoryPaths.Root, "charts"), paths.ChartsDirectory);
            Assert.True(File.Exists(paths.Helm), paths.Helm);
            Assert.Equal([Path.Combine(RepositoryPaths.Root, "charts", "store", "values-local.yaml")], paths.ValuesFiles("store"));
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
    }

    [Fact]
    public void ConfiguredPaths_Win_AndAMissingOneIsAClearError()
    {
        var helm = new EnginePaths(Options.Create(new EngineOptions { HelmPath = RepositoryPaths.Helm, ChartsDirectory = Path.Combine(RepositoryPaths.Root, "charts") }));
        var missing = new EnginePaths(Options.Create(new EngineOptions { HelmPath = "/nowhere/helm", ChartsDirectory = "/nowhere/charts" }));

        Assert.Equal(RepositoryPaths.Helm, helm.Helm);
        Assert.Contains("Storefleet:Engine:HelmPath", Assert.Throws<FileNotFoundException>(() => missing.Helm).Message);
        Assert.Contains("Storefleet:Engine:ChartsDirectory", Assert.Throws<DirectoryNotFoundException>(() => missing.ChartsDirectory).Message);
    }
}

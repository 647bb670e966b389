using System.Text.RegularExpressions;
using k8s.Models;
using Storefleet.Core.Stores;
using Storefleet.Testing.Charts.PodSecurity;
using Storefleet.Testing.Charts.Quota;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>Policies every rendering of the store chart must satisfy, for every values file and plan.</summary>
public sealed partial class StoreChartPolicyTests
{
    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task EveryContainer_HasRequestsLimitsAndProbes(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan));

        Assert.NotEmpty(chart.Pods);
        foreach (var pod in chart.Pods)
        {
            foreach (var container in pod.AllContainers)
            {
                var where = $"{pod} container {container.Name}";
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    Assert.True(PodResources.Of(container.Resources?.Requests, resource) > 0, $"{where} has no {resource} request");
                    Assert.True(PodResources.Of(container.Resources?.Limits, resource) > 0, $"{where} has no {resource} limit");
                }

                // Init containers run to completion before the others start: no probes (the API refuses them there).
                if (!pod.RunsToCompletion && pod.Spec.Containers.Contains(container))
                {
                    Assert.True(container.StartupProbe is not null, $"{where} has no startupProbe");
                    Assert.True(container.LivenessProbe is not null, $"{where} has no livenessProbe");
                    Assert.True(container.ReadinessProbe is not null, $"{where} has no readinessProbe");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task EveryImage_IsPinnedToATag(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan));

        foreach (var container in chart.Pods.SelectMany(p => p.AllContainers))
        {
            Assert.Matches(PinnedImage(), container.Image);
            Assert.DoesNotMatch(LatestTag(), container.Image);
        }
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task EveryPod_PassesPodSecurityRestricted(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan));

        foreach (var pod in chart.Pods)
        {
            var violations = RestrictedPodSecurity.Violations(pod.Spec, pod.Metadata?.Annotations);
            Assert.True(violations.Count == 0, $"{pod}: {string.Join("; ", violations)}");
        }
    }

    [Fact]
    public async Task NoPod_MountsAServiceAccountToken_AndNoRoleIsGranted()
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));

        Assert.All(chart.Pods, pod => Assert.False(pod.Spec.AutomountServiceAccountToken ?? true, $"{pod} mounts a token"));
        Assert.All(chart.Pods, pod => Assert.Equal("demo", pod.Spec.ServiceAccountName));
        Assert.False(chart.Named<V1ServiceAccount>("demo").AutomountServiceAccountToken ?? true);
        Assert.DoesNotContain(chart.Objects, o => o.Kind is "Role" or "RoleBinding" or "ClusterRole" or "ClusterRoleBinding");
    }

    [Theory]
    [MemberData(nameof(StoreChart.Files), MemberType = typeof(StoreChart))]
    public async Task NoPlaintextCredentials_PasswordsComeFromTheSecretOnly(string file)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, "small"));

        foreach (var pod in chart.Pods)
        {
            foreach (var env in pod.AllContainers.SelectMany(c => c.Env ?? []))
            {
                if (SecretLooking().IsMatch(env.Name))
                {
                    Assert.True(env.Value is null, $"{pod} sets {env.Name} in plain text");
                    Assert.Equal("demo-credentials", env.ValueFrom?.SecretKeyRef?.Name);
                }
            }
        }

        Assert.Empty(chart.All<V1Secret>());
        Assert.DoesNotContain("password:", chart.Yaml, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task GeneratedCredentials_AreRandomPerInstall_NeverADefault()
    {
        var values = ChartValues.From(StoreChart.ValuesFile("values-local.yaml"));
        var first = (await HelmCli.TemplateAsync(StoreChart.Path, "demo", "store-demo", values)).Named<V1Secret>("demo-credentials");
        var second = (await HelmCli.TemplateAsync(StoreChart.Path, "demo", "store-demo", values)).Named<V1Secret>("demo-credentials");

        foreach (var key in first.Data.Keys)
        {
            Assert.True(first.Data[key].Length >= 24, $"{key} is shorter than 24 characters");
            Assert.NotEqual(first.Data[key], second.Data[key]);
        }
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task TheQuota_AdmitsAnUpgrade_TheSurgePodTheRerunBootstrapTheUpgradeJobAndTheSmokeTestAtOnce(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan).With("upgrade.generation", "2").With("upgrade.snapshot", "true"));
        var hard = chart.All<V1ResourceQuota>().Single().Spec.Hard;
        // The restore Job runs only once the upgrade Job has stopped; the Deployment's rolling update adds one WordPress pod.
        var pods = chart.Pods.Where(p => !p.OwnerName.Contains("-restore-", StringComparison.Ordinal)).ToList();
        var surge = pods.Single(p => p.OwnerKind == "Deployment");
        Assert.Contains(pods, p => p.OwnerName.Contains("-upgrade-", StringComparison.Ordinal));

        Assert.True(pods.Sum(p => p.Replicas) + 1 <= PodResources.Of(hard, "pods"), "pods exceed the quota during an upgrade");
        foreach (var resource in new[] { "cpu", "memory" })
        {
            var requests = pods.Sum(p => p.Replicas * PodResources.Requests(p.Spec, resource)) + PodResources.Requests(surge.Spec, resource);
            var limits = pods.Sum(p => p.Replicas * PodResources.Limits(p.Spec, resource)) + PodResources.Limits(surge.Spec, resource);
            Assert.True(requests <= PodResources.Of(hard, $"requests.{resource}"), $"{resource} requests {requests} exceed the quota ({PodResources.Of(hard, $"requests.{resource}")}) during an upgrade");
            Assert.True(limits <= PodResources.Of(hard, $"limits.{resource}"), $"{resource} limits {limits} exceed the quota ({PodResources.Of(hard, $"limits.{resource}")}) during an upgrade");
        }
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task TheQuota_AdmitsEveryStorePodPlusTheBootstrapJobAndTheTestPodAtOnce(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan));
        var hard = chart.All<V1ResourceQuota>().Single().Spec.Hard;
        var pods = chart.Pods;
        Assert.Contains(pods, p => p.OwnerKind == "Job");
        Assert.Contains(pods, p => p.OwnerKind == "Pod");

        Assert.True(pods.Sum(p => p.Replicas) <= PodResources.Of(hard, "pods"), "pods exceed the quota");
        foreach (var resource in new[] { "cpu", "memory" })
        {
            var requests = pods.Sum(p => p.Replicas * PodResources.Requests(p.Spec, resource));
            var limits = pods.Sum(p => p.Replicas * PodResources.Limits(p.Spec, resource));
            Assert.True(requests <= PodResources.Of(hard, $"requests.{resource}"), $"{resource} requests {requests} exceed the quota");
            Assert.True(limits <= PodResources.Of(hard, $"limits.{resource}"), $"{resource} limits {limits} exceed the quota");
        }

        var claims = ClaimSizes(chart).ToList();
        Assert.True(claims.Count <= PodResources.Of(hard, "persistentvolumeclaims"), "PVC count exceeds the quota");
        Assert.True(claims.Sum() <= PodResources.Of(hard, "requests.storage"), "storage exceeds the quota");
    }

    [Theory]
    [MemberData(nameof(StoreChart.FilesAndPlans), MemberType = typeof(StoreChart))]
    public async Task EveryContainerAndVolume_FitsTheLimitRange(string file, string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls(file, plan));
        var limits = chart.All<V1LimitRange>().Single().Spec.Limits;
        var containerMax = limits.Single(l => l.Type == "Container").Max;
        var claimMax = PodResources.Of(limits.Single(l => l.Type == "PersistentVolumeClaim").Max, "storage");

        foreach (var container in chart.Pods.SelectMany(p => p.AllContainers))
        {
            Assert.True(PodResources.Of(container.Resources.Limits, "cpu") <= PodResources.Of(containerMax, "cpu"), $"{container.Name} cpu limit over the LimitRange max");
            Assert.True(PodResources.Of(container.Resources.Limits, "memory") <= PodResources.Of(containerMax, "memory"), $"{container.Name} memory limit over the LimitRange max");
        }

        Assert.All(ClaimSizes(chart), size => Assert.True(size <= claimMax, $"a {size}-byte claim is over the LimitRange max {claimMax}"));
    }

    [Theory]
    [MemberData(nameof(StoreChart.PlanIds), MemberType = typeof(StoreChart))]
    public async Task ThePlanQuotas_MatchTheControlPlanesPlans(string plan)
    {
        var chart = await StoreChart.RenderAsync(StoreChart.AsControlPlaneInstalls("values-local.yaml", plan));
        var hard = chart.All<V1ResourceQuota>().Single().Spec.Hard;
        var quota = StorePlan.Find(plan)!.Quota;

        Assert.Equal(new ResourceQuantity(quota.CpuRequests).ToDecimal(), PodResources.Of(hard, "requests.cpu"));
        Assert.Equal(new ResourceQuantity(quota.CpuLimits).ToDecimal(), PodResources.Of(hard, "limits.cpu"));
        Assert.Equal(new ResourceQuantity(quota.MemoryRequests).ToDecimal(), PodResources.Of(hard, "requests.memory"));
        Assert.Equal(new ResourceQuantity(quota.MemoryLimits).ToDecimal(), PodResources.Of(hard, "limits.memory"));
        Assert.Equal(new ResourceQuantity(quota.Storage).ToDecimal(), PodResources.Of(hard, "requests.storage"));
        Assert.Equal(quota.Pods, PodResources.Of(hard, "pods"));
        Assert.Equal(quota.PersistentVolumeClaims, PodResources.Of(hard, "persistentvolumeclaims"));
    }

    private static IEnumerable<decimal> ClaimSizes(RenderedChart chart) =>
        chart.All<V1PersistentVolumeClaim>().Select(c => c.Spec)
            .Concat(chart.All<V1StatefulSet>().SelectMany(s => (s.Spec.VolumeClaimTemplates ?? []).Select(t => t.Spec)))
            .Select(spec => PodResources.Of(spec.Resources.Requests, "storage"));

    [GeneratedRegex(@"^[a-z0-9./_-]+:[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    private static partial Regex PinnedImage();

    [GeneratedRegex(@":latest$")]
    private static partial Regex LatestTag();

    [GeneratedRegex("PASSWORD|SECRET|TOKEN|_KEY$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLooking();
}

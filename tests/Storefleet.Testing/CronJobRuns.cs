using System.Text.Json.Nodes;

namespace Storefleet.Testing;

/// <summary>
/// A Job made from a CronJob's template, as the CronJob controller makes a scheduled run (or <c>kubectl create job
/// --from=cronjob/…</c> a manual one): the template's labels and spec, owned by the CronJob. JSON, for <c>kubectl
/// apply</c> against the test double (which has no CronJob controller).
/// </summary>
public static class CronJobRuns
{
    public static JsonObject JobFrom(JsonObject cronJob, string name, bool manual = false)
    {
        var metadata = new JsonObject
        {
            ["name"] = name,
            ["labels"] = cronJob["spec"]!["jobTemplate"]!["metadata"]?["labels"]?.DeepClone() ?? new JsonObject(),
            ["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = "batch/v1",
                ["kind"] = "CronJob",
                ["name"] = cronJob["metadata"]!["name"]!.DeepClone(),
                ["uid"] = cronJob["metadata"]!["uid"]!.DeepClone(),
                ["controller"] = true,
            }),
        };
        if (manual)
        {
            metadata["annotations"] = new JsonObject { ["cronjob.kubernetes.io/instantiate"] = "manual" };
        }

        return new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = metadata,
            ["spec"] = cronJob["spec"]!["jobTemplate"]!["spec"]!.DeepClone(),
        };
    }
}

using Storefleet.Core.Stores;

namespace Storefleet.Core.Provisioning;

/// <summary>
/// The one thing the engine does next for a store, decided from what it observed
/// (see <see cref="ReconcileDecider"/>). <see cref="Step"/> names it in events and logs.
/// Waits end the pass; the store is reconciled again when the cluster changes or on resync.
/// </summary>
public abstract record ReconcileAction(string Step)
{
    /// <summary>True for actions that change nothing and wait for the cluster.</summary>
    public virtual bool IsWait => false;

    public sealed record Nothing() : ReconcileAction("none")
    {
        public override bool IsWait => true;
    }

    public sealed record StartProvisioning() : ReconcileAction("start");

    public sealed record CreateNamespace() : ReconcileAction("namespace");

    public sealed record CreateCredentials() : ReconcileAction("credentials");

    /// <summary>
    /// The release is pending-* and the helm that wrote it may still be running (on this replica, or the
    /// revision is younger than helm's timeout plus a grace): wait, never recover under a live writer.
    /// </summary>
    public sealed record AwaitPendingRelease(ReleaseStatus Status, TimeSpan? Age, TimeSpan StaleAfter, bool RunningHere) : ReconcileAction("helm-pending")
    {
        public override bool IsWait => true;
    }

    /// <summary>A killed helm left the release pending-* long enough ago: uninstall without hooks (pending-install) or roll back.</summary>
    public sealed record RecoverPendingRelease(ReleaseStatus Status) : ReconcileAction("helm-recover");

    public sealed record InstallOrUpgrade(string Digest, bool FirstInstall) : ReconcileAction("helm-upgrade");

    public sealed record AwaitWorkloads(WorkloadState Workloads) : ReconcileAction("workloads")
    {
        public override bool IsWait => true;
    }

    public sealed record MarkInfrastructureReady() : ReconcileAction("workloads-ready");

    public sealed record AwaitBootstrap(BootstrapJobState Job) : ReconcileAction("bootstrap")
    {
        public override bool IsWait => true;
    }

    public sealed record MarkReady(StoreUrls? Urls) : ReconcileAction("ready");

    /// <summary>A previous store's namespace of the same name is still being deleted.</summary>
    public sealed record AwaitNamespaceRelease(NamespaceTermination? Termination) : ReconcileAction("namespace-terminating")
    {
        public override bool IsWait => true;
    }

    public sealed record Fail(string Reason, string Message) : ReconcileAction("fail");

    public sealed record UninstallRelease(bool WithoutHooks) : ReconcileAction("helm-uninstall");

    public sealed record DeleteNamespace() : ReconcileAction("delete-namespace");

    public sealed record AwaitNamespaceGone(NamespaceTermination? Termination) : ReconcileAction("namespace-deleting")
    {
        public override bool IsWait => true;
    }

    public sealed record RemoveRecord() : ReconcileAction("remove-record");
}

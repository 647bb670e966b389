namespace Storefleet.Core.Stores;

/// <summary>Something that moves a store from one phase to another.</summary>
public enum StoreTrigger
{
    /// <summary>A worker starts cluster work for a requested store.</summary>
    StartProvisioning,

    /// <summary>Namespace, release and workloads are ready.</summary>
    InfrastructureReady,

    /// <summary>The bootstrap Job succeeded.</summary>
    BootstrapSucceeded,

    /// <summary>A step failed in a way that needs a person (or a retry).</summary>
    Fail,

    /// <summary>A person asked to retry a failed store; it resumes in the phase that failed.</summary>
    Retry,

    /// <summary>A person asked to delete the store.</summary>
    RequestDelete,

    /// <summary>A live store became unhealthy (the Degraded condition says why).</summary>
    Degrade,

    /// <summary>What made a store degraded cleared.</summary>
    Recover,

    /// <summary>The engine picked up a spec change of a live store: the release is upgraded in place.</summary>
    StartUpdate,

    /// <summary>The upgraded release is deployed and its workloads are ready.</summary>
    UpdateSucceeded,

    /// <summary>The update failed and the release was rolled back to the previous plan, which keeps serving.</summary>
    UpdateRolledBack,

    /// <summary>A person asked to restore a backup into a live store (or into one whose restore failed).</summary>
    StartRestore,

    /// <summary>The backup was restored, WordPress is back and the smoke test passed.</summary>
    RestoreSucceeded,

    /// <summary>The restore could not start (its safety backup failed): nothing was touched, the store serves on.</summary>
    RestoreNotStarted,
}

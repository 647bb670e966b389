using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

public class StoreSpecTests
{
    [Fact]
    public void Hash_IsEqualForEqualSpecsAndDiffersOtherwise()
    {
        var small = new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small);

        Assert.Equal(small.Hash, new StoreSpec(StoreEngine.WooCommerce, StorePlan.Small).Hash);
        Assert.NotEqual(small.Hash, new StoreSpec(StoreEngine.WooCommerce, StorePlan.Medium).Hash);
        Assert.Equal(16, small.Hash.Length);
    }

    [Fact]
    public void Engines_OnlyWooCommerceIsAcceptedToday()
    {
        Assert.Equal(["woocommerce"], StoreEngine.All.Select(e => e.Id));
        Assert.Null(StoreEngine.Find("medusa"));
        Assert.Null(StoreEngine.Find("WooCommerce"));
    }

    [Fact]
    public void Plans_GrowMonotonically()
    {
        Assert.Equal(["small", "medium", "large"], StorePlan.All.Select(p => p.Id));
        var pods = StorePlan.All.Select(p => p.Quota.Pods).ToArray();
        Assert.Equal(pods.Order(), pods);
        Assert.Null(StorePlan.Find("huge"));
    }
}

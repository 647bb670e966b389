using Storefleet.Core.Stores;

namespace Storefleet.Core.Tests;

public class StoreNameTests
{
    [Theory]
    [InlineData("abc")]
    [InlineData("shop-1")]
    [InlineData("a1b2c3")]
    [InlineData("my-fine-store")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghij")] // 40
    public void Validate_AcceptsLowercaseDnsLabelsOfThreeToForty(string name) => Assert.Null(StoreName.Validate(name));

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("ab", "3 to 40")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijk", "3 to 40")] // 41
    [InlineData("Shop", "lowercase")]
    [InlineData("shop_1", "lowercase")]
    [InlineData("shop.one", "lowercase")]
    [InlineData("shöp", "lowercase")]
    [InlineData("shop one", "lowercase")]
    [InlineData("-shop", "start with a lowercase letter")]
    [InlineData("1shop", "start with a lowercase letter")]
    [InlineData("shop-", "end with")]
    [InlineData("sh--op", "two hyphens")]
    [InlineData("default", "reserved")]
    [InlineData("admin", "reserved")]
    [InlineData("www", "reserved")]
    [InlineData("kube-system", "reserved")]
    [InlineData("storefleet", "reserved")]
    [InlineData("storefleet-api", "reserved")]
    public void Validate_RefusesWithAnActionableMessage(string? name, string expectedFragment)
    {
        var error = StoreName.Validate(name);

        Assert.NotNull(error);
        Assert.Contains(expectedFragment, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MaxLength_LeavesRoomForTheNamespacePrefixAndHelmsReleaseLimit()
    {
        Assert.True(("store-" + new string('a', StoreName.MaxLength)).Length <= 63);
        Assert.True(StoreName.MaxLength <= 53);
    }
}

using Storefleet.Engine.Helm;
using Storefleet.Testing;

namespace Storefleet.Engine.Tests;

/// <summary>Application versions read from a chart's values the way helm merges <c>--values</c> files.</summary>
public sealed class ChartAppVersionsTests
{
    [Fact]
    public void TheStoreChart_RunsThePinnedImagesAndWooCommerce()
    {
        var values = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "charts", "store", "values.yaml"));
        var local = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "charts", "store", "values-local.yaml"));

        var apps = ChartAppVersions.Read([values, local]);

        Assert.Equal(new Core.Stores.AppVersions("6.8.3-php8.3-apache", "10.2.2", "8.4.6"), apps);
    }

    [Fact]
    public void ALaterValuesFile_Wins_ForWhatItSets_AndOnlyThat()
    {
        const string chart = "images:\n  wordpress:\n    tag: \"6.8.3\"\n  mysql:\n    tag: 8.4.6\nbootstrap:\n  woocommerceVersion: \"10.2.2\"\n";
        const string prod = "# production\nimages:\n  wordpress:\n    repository: mirror/wordpress\n    tag: 6.8.4-php8.3-apache\n";
        const string empty = "";

        var apps = ChartAppVersions.Read([chart, prod, empty]);

        Assert.Equal(new Core.Stores.AppVersions("6.8.4-php8.3-apache", "10.2.2", "8.4.6"), apps);
    }

    [Fact]
    public void WhatNoFileSets_IsUnknown_AndBrokenYaml_SaysWhichSettingToFix()
    {
        Assert.Equal(new Core.Stores.AppVersions("unknown", "unknown", "unknown"), ChartAppVersions.Read(["plan: small\nimages: {}\n"]));

        var error = Assert.Throws<InvalidDataException>(() => ChartAppVersions.Read(["images:\n  wordpress: [unclosed\n"]));
        Assert.Contains("Storefleet:Engine:ValuesFiles", error.Message, StringComparison.Ordinal);
    }
}

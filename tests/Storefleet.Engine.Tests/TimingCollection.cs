namespace Storefleet.Engine.Tests;

/// <summary>Tests that measure time run alone, so other test classes' helm processes do not share their two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "timing (runs alone)";
}

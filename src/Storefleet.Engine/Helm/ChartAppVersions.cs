using Storefleet.Core.Stores;
using YamlDotNet.RepresentationModel;

namespace Storefleet.Engine.Helm;

/// <summary>
/// The application versions a chart runs with its values files, read the way helm merges <c>--values</c>: the chart's
/// own values.yaml first, then each file in order, the last one to set a value winning. WordPress and MySQL are the
/// image tags (<c>images.wordpress.tag</c>, <c>images.mysql.tag</c>), WooCommerce the plugin version the bootstrap
/// installs (<c>bootstrap.woocommerceVersion</c>).
/// </summary>
public static class ChartAppVersions
{
    public const string Unknown = "unknown";

    public static AppVersions Read(IEnumerable<string> valuesDocuments)
    {
        string? wordPress = null, wooCommerce = null, mySql = null;
        foreach (var text in valuesDocuments)
        {
            var root = Root(text);
            wordPress = Scalar(root, "images", "wordpress", "tag") ?? wordPress;
            mySql = Scalar(root, "images", "mysql", "tag") ?? mySql;
            wooCommerce = Scalar(root, "bootstrap", "woocommerceVersion") ?? wooCommerce;
        }

        return new AppVersions(wordPress ?? Unknown, wooCommerce ?? Unknown, mySql ?? Unknown);
    }

    private static YamlMappingNode? Root(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new InvalidDataException($"A values file is not valid YAML ({e.Message}); helm would refuse it too. Fix the file under Storefleet:Engine:ChartsDirectory or Storefleet:Engine:ValuesFiles.", e);
        }

        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode as YamlMappingNode;
    }

    private static string? Scalar(YamlMappingNode? node, params string[] path)
    {
        YamlNode? current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out current))
            {
                return null;
            }
        }

        return current is YamlScalarNode { Value: { Length: > 0 } value } ? value : null;
    }
}

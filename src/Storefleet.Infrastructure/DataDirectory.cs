namespace Storefleet.Infrastructure;

/// <summary>
/// Where the control plane keeps local files (the embedded Garnet's data). Configured by
/// <c>Storefleet:DataDirectory</c>; defaults to <c>$XDG_DATA_HOME/storefleet</c>
/// (usually <c>~/.local/share/storefleet</c>).
/// </summary>
public sealed record DataDirectory(string Path)
{
    public static DataDirectory FromConfiguration(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new DataDirectory(System.IO.Path.GetFullPath(configured));
        }

        var dataHome = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(dataHome))
        {
            dataHome = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"storefleet-{Environment.UserName}");
        }

        return new DataDirectory(System.IO.Path.Combine(dataHome, "storefleet"));
    }
}

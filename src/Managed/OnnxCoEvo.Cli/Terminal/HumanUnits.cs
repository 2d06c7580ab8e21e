using System.Globalization;

namespace OnnxCoEvo.Cli.Terminal;

/// <summary>Byte sizes and counts as people read them (binary units for bytes, K/M/B for counts).</summary>
public static class HumanUnits
{
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.##} {units[u]}");
    }

    public static string Count(long n) => n switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e9:0.##}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:0.##}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e3:0.##}K"),
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}

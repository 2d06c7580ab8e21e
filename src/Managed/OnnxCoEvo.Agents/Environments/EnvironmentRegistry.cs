using OnnxCoEvo.Agents.Environments.Household;

namespace OnnxCoEvo.Agents.Environments;

/// <summary>What a built-in environment is built from. The same settings give the same tasks on any machine.</summary>
public sealed record EnvironmentSettings
{
    /// <summary>Seeds the synthetic WebShop catalog and the household worlds (and WebShop's load-time draws for real files).</summary>
    public ulong Seed { get; init; }

    /// <summary>A directory with WebShop's own items_*.json files; null: the synthetic catalog.</summary>
    public string? WebShopDataDirectory { get; init; }

    /// <summary>Products in the synthetic WebShop catalog.</summary>
    public int WebShopProducts { get; init; } = 1000;
}

/// <summary>
/// Turns an environment spec into a suite: a built-in name ("webshop", "household") or a remote AgentGym-compatible
/// server as "NAME@URL" (e.g. "webshop@http://127.0.0.1:36001"), where NAME is the built-in twin that supplies the
/// protocol and the expert.
/// </summary>
public static class EnvironmentRegistry
{
    private static readonly Dictionary<string, Func<EnvironmentSettings, IEnvironmentSuite>> BuiltIns = new(StringComparer.Ordinal)
    {
        [HouseholdEnvironmentSuite.EnvironmentName] = settings => new HouseholdEnvironmentSuite(new HouseholdOptions { Seed = settings.Seed }),
    };

    /// <summary>Names of the built-in environments.</summary>
    public static IReadOnlyList<string> Names => BuiltIns.Keys.Order(StringComparer.Ordinal).ToArray();

    public static IEnvironmentSuite Open(string spec, EnvironmentSettings? settings = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        settings ??= new EnvironmentSettings();
        int at = spec.IndexOf('@');
        if (at < 0)
            return OpenBuiltIn(spec, settings);
        string name = spec[..at];
        if (!Uri.TryCreate(spec[(at + 1)..], UriKind.Absolute, out Uri? address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"environment '{spec}': expected NAME@http://host:port, and '{spec[(at + 1)..]}' is not an http(s) URL");
        return OpenRemote(OpenBuiltIn(name, settings), address);
    }

    public static IEnvironmentSuite OpenBuiltIn(string name, EnvironmentSettings settings) =>
        BuiltIns.TryGetValue(name, out Func<EnvironmentSettings, IEnvironmentSuite>? open)
            ? open(settings)
            : throw new ArgumentException($"unknown environment '{name}'; known: {string.Join(", ", Names)} (or NAME@http://host:port for a remote server)");

    private static IEnvironmentSuite OpenRemote(IEnvironmentSuite twin, Uri address) =>
        throw new NotSupportedException($"remote environments are not available in this build ({twin.Name}@{address})");
}

using OnnxCoEvo.Agents.Environments.Household;
using OnnxCoEvo.Agents.Environments.WebShop;
using OnnxCoEvo.Agents.Http;

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
        [WebShopProtocol.EnvironmentName] = settings => new WebShopEnvironmentSuite(settings.WebShopDataDirectory is { } directory
            ? WebShopFileLoader.Load(directory, settings.Seed)
            : WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { Seed = settings.Seed, ProductCount = settings.WebShopProducts })),
    };

    /// <summary>Names of the built-in environments.</summary>
    public static IReadOnlyList<string> Names => BuiltIns.Keys.Order(StringComparer.Ordinal).ToArray();

    public static IEnvironmentSuite Open(string spec, EnvironmentSettings? settings = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        settings ??= new EnvironmentSettings();
        if (!spec.Contains('@'))
            return OpenBuiltIn(spec, settings);
        if (!RemoteEnvironmentSuite.TryParseSpec(spec, out string name, out Uri? address))
            throw new ArgumentException($"environment '{spec}': expected NAME@http://host:port with NAME one of {string.Join(", ", Names)}");
        IEnvironmentSuite twin = OpenBuiltIn(name, settings);
        return RemoteEnvironmentSuite.ConnectAsync(address!, RemoteHttp.Value, twin).GetAwaiter().GetResult();
    }

    public static IEnvironmentSuite OpenBuiltIn(string name, EnvironmentSettings settings) =>
        BuiltIns.TryGetValue(name, out Func<EnvironmentSettings, IEnvironmentSuite>? open)
            ? open(settings)
            : throw new ArgumentException($"unknown environment '{name}'; known: {string.Join(", ", Names)} (or NAME@http://host:port for a remote server)");

    /// <summary>One client for every remote suite: connection pooling across sessions, no per-host connection cap (a farm keeps many episodes in flight).</summary>
    private static readonly Lazy<HttpClient> RemoteHttp = new(() => new HttpClient(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = int.MaxValue,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
    })
    { Timeout = TimeSpan.FromMinutes(5) });
}

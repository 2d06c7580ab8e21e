namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>Options of the synthetic catalog: the same options give the same catalog on any machine.</summary>
public sealed record WebShopSyntheticOptions
{
    public ulong Seed { get; init; }

    /// <summary>At least 1,000 by default, over at least five categories.</summary>
    public int ProductCount { get; init; } = 1000;

    /// <summary>Goals reserved for the test split (taken as WebShop's baselines take theirs: the first indices).</summary>
    public int TestGoalCount { get; init; } = 200;
}

/// <summary>Deterministic synthetic WebShop catalog: products with attributes, options and prices; goals from instruction templates.</summary>
public static class WebShopCatalogGenerator
{
    public static WebShopCatalog Generate(WebShopSyntheticOptions options) =>
        throw new NotImplementedException("issue 4: synthetic WebShop catalog");
}

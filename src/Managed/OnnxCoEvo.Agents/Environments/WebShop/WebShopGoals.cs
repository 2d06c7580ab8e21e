namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>Goals as WebShop builds them: the target product's identity fields copied, the request's parts given.</summary>
public static class WebShopGoals
{
    /// <summary>A goal for <paramref name="product"/> at index 0 (the catalog's shuffle assigns the real index).</summary>
    public static WebShopGoal For(WebShopProduct product, string instruction, IReadOnlyList<string> attributes,
        IReadOnlyList<string> goalOptions, double priceUpper, double weight = 1.0) => new()
    {
        Index = 0,
        Asin = product.Asin,
        Category = product.Category,
        Query = product.Query,
        Name = product.Title,
        ProductCategory = product.ProductCategory,
        InstructionText = instruction,
        Attributes = attributes,
        GoalOptions = goalOptions,
        PriceUpper = priceUpper,
        Weight = weight,
    };
}

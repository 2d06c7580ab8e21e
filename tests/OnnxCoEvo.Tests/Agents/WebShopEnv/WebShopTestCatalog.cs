using OnnxCoEvo.Agents.Environments.WebShop;

namespace OnnxCoEvo.Tests.Agents.WebShopEnv;

/// <summary>
/// A hand-built catalog: one shampoo with two option groups and sub-page texts (the target of goal 0), a ranged-price
/// conditioner, and 23 "widget" products so that a search for "widget" fills three results pages.
/// </summary>
internal static class WebShopTestCatalog
{
    public const string ShampooAsin = "B0SHAMP001";
    public const string ConditionerAsin = "B0COND0002";
    public const string ShampooInstruction = "i need a sulfate free lavender shampoo in 16 fl oz, and price lower than 20.00 dollars";
    public const string WidgetInstruction = "i want a blue widget number 7, and price lower than 30.00 dollars";
    public const int WidgetCount = 23;

    public static WebShopProduct Shampoo { get; } = new()
    {
        Asin = ShampooAsin,
        Title = "Meadowleaf Sulfate Free Shampoo for Dry Hair",
        Category = "beauty",
        Query = "sulfate free shampoo",
        ProductCategory = "Beauty & Personal Care › Hair Care › Shampoo & Conditioner › Shampoos",
        Description = "  A gentle daily shampoo with lavender oil.\n",
        BulletPoints = ["Sulfate free formula", "Made with natural oils"],
        Pricing = [12.99],
        Price = 12.99,
        Options = [new WebShopOptionGroup("size", ["8 fl oz", "16 fl oz"]), new WebShopOptionGroup("scent", ["lavender", "mint | eucalyptus"])],
        Attributes = ["sulfate free"],
        Reviews = ["Leaves my hair soft.", "Nice smell."],
    };

    public static WebShopProduct Conditioner { get; } = new()
    {
        Asin = ConditionerAsin,
        Title = "Meadowleaf Conditioner with Argan Oil",
        Category = "beauty",
        Query = "argan oil conditioner",
        ProductCategory = "Beauty & Personal Care › Hair Care › Shampoo & Conditioner › Conditioners",
        Description = "",
        BulletPoints = [],
        Pricing = [9.5, 14.0],
        Price = 11.25,
        Options = [],
        Attributes = ["DUMMY_ATTR"],
    };

    public static WebShopProduct Widget(int number) => new()
    {
        Asin = $"B0WIDG{number:0000}",
        Title = $"Gizmo widget number {number} in {(number % 2 == 0 ? "red" : "blue")}",
        Category = "electronics",
        Query = "widget",
        ProductCategory = "Electronics › Accessories › Widgets",
        Description = $"Widget {number} does widget things.",
        BulletPoints = [$"widget {number}"],
        Pricing = [20.0 + number],
        Price = 20.0 + number,
        Options = [],
        Attributes = ["DUMMY_ATTR"],
    };

    public static WebShopCatalog Create()
    {
        var products = new List<WebShopProduct> { Shampoo, Conditioner };
        products.AddRange(Enumerable.Range(1, WidgetCount).Select(Widget));
        WebShopGoal[] goals =
        [
            new()
            {
                Index = 0, Asin = ShampooAsin, Category = "beauty", Query = Shampoo.Query, Name = Shampoo.Title,
                ProductCategory = Shampoo.ProductCategory, InstructionText = ShampooInstruction, Attributes = ["sulfate free"],
                GoalOptions = ["16 fl oz", "lavender"], PriceUpper = 20.0,
            },
            new()
            {
                Index = 1, Asin = "B0WIDG0007", Category = "electronics", Query = "widget", Name = Widget(7).Title,
                ProductCategory = Widget(7).ProductCategory, InstructionText = WidgetInstruction, Attributes = [],
                GoalOptions = [], PriceUpper = 30.0,
            },
        ];
        return new WebShopCatalog(products, goals, new HashSet<int> { 1 }, "test-catalog");
    }
}

using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The ReAct protocol agents use with WebShop (ETO's harness: "Observation:\n" prefix, 10 steps, reward 0 on timeout,
/// clickables inline in the page). The instruction and the in-context example are our own; the example's pages are
/// rendered by <see cref="WebShopPages"/>, so they are exactly what the session shows.
/// </summary>
public static class WebShopProtocol
{
    public const string EnvironmentName = "webshop";
    public const int MaxSteps = 10;
    public const string ObservationPrefix = "Observation:\n";

    public const string Instruction =
        "You are a customer in WebShop, an online store that you operate through text.\n" +
        "Your goal is to buy the product that the instruction describes, with the options it asks for and within its price limit.\n" +
        "Each turn shows you the current page; the pieces of the page are separated by \" [SEP] \".\n" +
        "You can take one of two actions per turn:\n" +
        "search[keywords]\n" +
        "click[value]\n" +
        "search works on every page and lists the products that best match your keywords, so choose the keywords with care: the kind of product and its most important features.\n" +
        "click takes a button, a product id or an option value that is shown on the current page; copy it exactly as the page writes it.\n" +
        "Any other action, or a click on something the page does not show, changes nothing.\n" +
        "Open a product from the results, click each option the instruction asks for, then click[Buy Now]. Buying ends the task; you have at most 10 actions.\n" +
        "Answer in exactly this format:\n\n" +
        "Thought: I think ...\n" +
        "Action: click[something]";

    public static ReActProtocol Instance { get; } = new()
    {
        Environment = EnvironmentName,
        Instruction = Instruction,
        Example = BuildExample(),
        ObservationPrefix = ObservationPrefix,
        MaxSteps = MaxSteps,
        ZeroRewardOnTimeout = true,
        ShowAvailableActions = false,
        ChoicesOf = ReActActionConstraint.WebShopChoices,
    };

    /// <summary>A short solved episode in our page format: search, open the right product, pick two options, buy.</summary>
    private static IReadOnlyList<ChatMessage> BuildExample()
    {
        const string instruction = "i am looking for a water resistant hiking backpack in forest green, 30 liters, and price lower than 60.00 dollars";
        WebShopProduct[] results =
        [
            ExampleProduct("B0EXPK3021", "Trailmark Hiking Backpack 30L Water Resistant Daypack with Rain Cover", [54.99],
                [new WebShopOptionGroup("color", ["black", "forest green", "slate blue"]), new WebShopOptionGroup("size", ["20 liters", "30 liters", "40 liters"])]),
            ExampleProduct("B0EXPK1187", "Summit Ridge 40L Trekking Pack, Water Repellent, Adjustable Straps", [72.5], []),
            ExampleProduct("B0EXPK7760", "Urban Commuter Laptop Backpack 25L with USB Port", [39.99, 44.99], []),
            ExampleProduct("B0EXPK0452", "Kids Mini Backpack for Day Trips, Lightweight", [18.0], []),
        ];
        WebShopProduct target = results[0];
        string Observe(WebShopPage page) => ObservationPrefix + page.Text;
        string item = Observe(WebShopPages.Item(instruction, target));
        return
        [
            ChatMessage.User(WebShopPages.Search(instruction).Text),
            ChatMessage.Assistant(ReActParser.Format(
                "I think I should search for a water resistant hiking backpack of 30 liters, and keep the price limit in mind.",
                "search[water resistant hiking backpack 30 liters forest green]")),
            ChatMessage.User(Observe(WebShopPages.Results(instruction, results, 1))),
            ChatMessage.Assistant(ReActParser.Format(
                "I think B0EXPK3021 is a 30 liter water resistant hiking backpack at $54.99, under the limit, so I will open it.",
                "click[B0EXPK3021]")),
            ChatMessage.User(item),
            ChatMessage.Assistant(ReActParser.Format(
                "I think I should pick the forest green color first.",
                "click[forest green]")),
            ChatMessage.User(item),
            ChatMessage.Assistant(ReActParser.Format(
                "I think the size should be 30 liters, as the instruction says.",
                "click[30 liters]")),
            ChatMessage.User(item),
            ChatMessage.Assistant(ReActParser.Format(
                "I think the color and the size are now set and the price is fine, so I can buy it.",
                "click[Buy Now]")),
        ];
    }

    private static WebShopProduct ExampleProduct(string asin, string title, double[] pricing, IReadOnlyList<WebShopOptionGroup> options) => new()
    {
        Asin = asin,
        Title = title,
        Category = "sports",
        Query = "hiking backpack",
        ProductCategory = "Sports & Outdoors › Outdoor Recreation › Camping & Hiking › Backpacks",
        Description = "",
        BulletPoints = [],
        Pricing = pricing,
        Price = pricing[0],
        Options = options,
        Attributes = ["water resistant"],
    };
}

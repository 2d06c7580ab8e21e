using System.Globalization;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>One option group of a product, as WebShop loads it: name and values lower-cased, '/' in values replaced by " | ".</summary>
public sealed record WebShopOptionGroup(string Name, IReadOnlyList<string> Values);

/// <summary>
/// A product as WebShop's engine holds it after <c>load_products</c> (environments.md §1.4): the fields the pages, the
/// search index and the reward read. Built by the synthetic generator or the loader of WebShop's own files.
/// </summary>
public sealed record WebShopProduct
{
    /// <summary>As in the files (upper case, e.g. "B000VOHH8I"); clickables and click[...] use the lower-cased form.</summary>
    public required string Asin { get; init; }

    /// <summary>WebShop's <c>Title</c> (the file's <c>name</c>).</summary>
    public required string Title { get; init; }

    /// <summary>Top-level category, e.g. "beauty", "fashion", "grocery", "electronics", "garden".</summary>
    public required string Category { get; init; }

    /// <summary>The search query the product was collected for, lower-cased and trimmed; the reward's query_match compares it.</summary>
    public required string Query { get; init; }

    /// <summary>"A › B › C" breadcrumb; the reward's category_match intersects its '›'-separated pieces.</summary>
    public required string ProductCategory { get; init; }

    /// <summary>WebShop's <c>Description</c> (the file's <c>full_description</c>).</summary>
    public required string Description { get; init; }

    /// <summary>WebShop's <c>BulletPoints</c> (the file's <c>small_description</c>), shown on the Features page.</summary>
    public required IReadOnlyList<string> BulletPoints { get; init; }

    /// <summary>Prices parsed from the file's <c>pricing</c>: one value, or the low and high end of a range.</summary>
    public required IReadOnlyList<double> Pricing { get; init; }

    /// <summary>The price the reward compares with price_upper: the single price, or one drawn uniformly in the range at load time (seeded).</summary>
    public required double Price { get; init; }

    /// <summary>Option groups in display order.</summary>
    public required IReadOnlyList<WebShopOptionGroup> Options { get; init; }

    /// <summary>From items_ins_v2 <c>attributes</c>; ["DUMMY_ATTR"] when the file has none (as WebShop does).</summary>
    public required IReadOnlyList<string> Attributes { get; init; }

    /// <summary>Shown as "Rating: ..." on the item page; WebShop shows "N.A." for most products.</summary>
    public string Rating { get; init; } = "N.A.";

    /// <summary>Review texts for the Reviews page (may be empty).</summary>
    public IReadOnlyList<string> Reviews { get; init; } = [];

    /// <summary>The price text WebShop renders: "$x" for one price, "$lo to $hi" for a range (Python float formatting).</summary>
    public string PriceTag => Pricing.Count >= 2
        ? $"${FormatPrice(Pricing[0])} to ${FormatPrice(Pricing[1])}"
        : $"${FormatPrice(Pricing.Count == 1 ? Pricing[0] : Price)}";

    /// <summary>Python's repr of a float for prices: shortest round-trip digits, at least one decimal ("100.0", "64.98").</summary>
    public static string FormatPrice(double value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') ? text : text + ".0";
    }
}

/// <summary>
/// A shopping goal (WebShop's goal dict): the target product's identity, the instruction the agent sees, the
/// attributes and option values the reward checks, and the price ceiling.
/// </summary>
public sealed record WebShopGoal
{
    /// <summary>Position in <see cref="WebShopCatalog.Goals"/>; the task index (AgentGym session id).</summary>
    public required int Index { get; init; }

    public required string Asin { get; init; }
    public required string Category { get; init; }
    public required string Query { get; init; }

    /// <summary>The target product's title; r_type compares its nouns with the purchased product's.</summary>
    public required string Name { get; init; }

    public required string ProductCategory { get; init; }

    /// <summary>E.g. "i need a long lasting 6.76 fl oz bottle of l'eau d'issey, and price lower than 100.00 dollars".</summary>
    public required string InstructionText { get; init; }

    public required IReadOnlyList<string> Attributes { get; init; }

    /// <summary>Option values the purchase must carry (fuzzy-matched after colour normalisation); may be empty.</summary>
    public required IReadOnlyList<string> GoalOptions { get; init; }

    /// <summary>1,000,000 when the goal has no price limit (WebShop's convention).</summary>
    public required double PriceUpper { get; init; }

    public double Weight { get; init; } = 1.0;
}

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>WebShop's colour normalisation of option values (engine/normalize.py), applied before options are fuzzy-matched.</summary>
public static class WebShopColors
{
    /// <summary>WebShop's COLOR_SET, in its order (the order decides which colour a value normalises to).</summary>
    public static IReadOnlyList<string> ColorSet { get; } =
    [
        "alabaster", "apricot", "aqua", "ash", "asphalt", "azure",
        "banana", "beige", "black", "blue", "blush", "bordeaux", "bronze",
        "brown", "burgundy", "camel", "camo", "caramel", "champagne",
        "charcoal", "cheetah", "chestnut", "chocolate", "christmas", "coffee",
        "cognac", "copper", "coral", "cranberry", "cream", "crystal", "dark",
        "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite",
        "grape", "graphite", "grass", "gray", "green", "grey", "heather", "indigo",
        "ivory", "ivy", "khaki", "lavender", "lemon", "leopard", "light", "lilac",
        "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint", "mocha",
        "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive",
        "orange", "peach", "pewter", "pink", "plum", "purple", "rainbow", "red",
        "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver", "skull",
        "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal",
        "tiger", "turquoise", "violet", "walnut", "wheat", "white", "wine", "yellow",
    ];

    /// <summary>
    /// <c>normalize_color</c>: the first <see cref="ColorSet"/> word (in list order, not position in the value) that
    /// occurs in the value as a plain, case-sensitive substring, else the value unchanged: "dark brown" -> "brown",
    /// "ashy blonde" -> "ash", "8 ounce" -> "8 ounce".
    /// </summary>
    public static string NormalizeColor(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        foreach (string color in ColorSet)
            if (value.Contains(color, StringComparison.Ordinal))
                return color;
        return value;
    }
}

using System.Text;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>Options of the synthetic catalog: the same options give the same catalog on any machine.</summary>
public sealed record WebShopSyntheticOptions
{
    public ulong Seed { get; init; }

    /// <summary>At least 1,000 by default, over at least five categories.</summary>
    public int ProductCount { get; init; } = 1000;

    /// <summary>
    /// Goals reserved for the test split (taken as WebShop's baselines take theirs: the first indices of the shuffled
    /// goal list). At most half the goals are reserved, so a small catalog keeps a train split.
    /// </summary>
    public int TestGoalCount { get; init; } = 200;
}

/// <summary>
/// Deterministic synthetic WebShop catalog: products with attributes, options and prices; goals from instruction templates.
/// </summary>
/// <remarks>
/// Products are spread evenly over the 30 product types of <see cref="WebShopSyntheticVocabulary"/> (six categories:
/// beauty, fashion, grocery, electronics, furniture, garden). Within a type, products come in families of 2-4
/// near-duplicates: same query and breadcrumb, the same descriptor words in the title and one shared attribute,
/// but different brands, further attributes, option values and prices, so buying a neighbour earns partial reward and the
/// bare query does not single out the target. Catalog order is shuffled. Each product gets 1-3 goals naming 1-3 of its
/// attributes and a value for most of its option groups, with WebShop's price ceiling rule
/// (<see cref="WebShopRandom.DrawPriceUpper"/>); the goal list is shuffled and its first
/// <see cref="WebShopSyntheticOptions.TestGoalCount"/> indices are the test split.
/// </remarks>
public static class WebShopCatalogGenerator
{
    private const string AsinAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private static readonly double[] Cents = [0.99, 0.49, 0.95, 0.0, 0.79, 0.5];

    /// <summary>A generated product with what its goals are phrased from.</summary>
    private sealed record Draft(WebShopProduct Product, string Noun, IReadOnlyList<string> Descriptors);

    public static WebShopCatalog Generate(WebShopSyntheticOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ProductCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.ProductCount, "ProductCount must be positive");
        if (options.TestGoalCount < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.TestGoalCount, "TestGoalCount must not be negative");

        var random = new WebShopRandom(options.Seed, "webshop-synthetic-products");
        var types = WebShopSyntheticVocabulary.Categories.SelectMany(category => category.Types.Select(type => (category, type))).ToArray();
        var drafts = new List<Draft>(options.ProductCount);
        var asins = new HashSet<string>(StringComparer.Ordinal);
        for (int t = 0; t < types.Length; t++)
        {
            int count = options.ProductCount / types.Length + (t < options.ProductCount % types.Length ? 1 : 0);
            AddTypeProducts(random, types[t].category, types[t].type, count, asins, drafts);
        }
        random.Shuffle(drafts);

        var goalRandom = new WebShopRandom(options.Seed, "webshop-synthetic-goals");
        var goals = new List<WebShopGoal>(2 * drafts.Count);
        foreach (Draft draft in drafts)
        {
            int goalCount = 1 + goalRandom.Next(3);
            for (int g = 0; g < goalCount; g++)
                goals.Add(MakeGoal(goalRandom, draft));
        }
        goalRandom.Shuffle(goals);
        WebShopGoal[] indexed = goals.Select((goal, index) => goal with { Index = index }).ToArray();
        int testCount = Math.Min(options.TestGoalCount, indexed.Length / 2);
        return new WebShopCatalog(
            drafts.Select(draft => draft.Product).ToArray(),
            indexed,
            Enumerable.Range(0, testCount).ToHashSet(),
            $"synthetic(seed={options.Seed}, products={options.ProductCount})");
    }

    private static void AddTypeProducts(WebShopRandom random, SyntheticCategory category, SyntheticProductType type, int count,
        HashSet<string> asins, List<Draft> drafts)
    {
        while (count > 0)
        {
            int familySize = Math.Min(count, 2 + random.Next(3));
            count -= familySize;
            List<string> descriptors = random.Subset(type.Descriptors, 1 + random.Next(2));
            List<string> coreAttributes = random.Subset(type.Attributes, 1);
            List<string> brands = random.Subset(category.Brands, familySize);
            random.Shuffle(brands);
            foreach (string brand in brands)
                drafts.Add(MakeProduct(random, category, type, brand, descriptors, coreAttributes, asins));
        }
    }

    private static Draft MakeProduct(WebShopRandom random, SyntheticCategory category, SyntheticProductType type, string brand,
        List<string> descriptors, List<string> coreAttributes, HashSet<string> asins)
    {
        // 2-6 attributes: the family's core plus the product's own from the type's and the category's pools.
        string[] pool = type.Attributes.Concat(category.Attributes).Distinct().Except(coreAttributes).ToArray();
        int total = Math.Max(2, coreAttributes.Count + random.Next(5));
        List<string> attributes = [.. coreAttributes, .. random.Subset(pool, Math.Min(6, total) - coreAttributes.Count)];
        random.Shuffle(attributes);

        var options = new List<WebShopOptionGroup>();
        foreach (SyntheticOption option in type.Options)
            if (options.Count == 0 || random.Chance(0.85))
                options.Add(new WebShopOptionGroup(option.Name, random.Subset(option.Values, 2 + random.Next(4))));

        string title = $"{brand} {string.Join(' ', descriptors)} {type.Noun}";
        if (random.Chance(0.5))
            title += ", " + string.Join(", ", random.Subset(attributes, 1 + random.Next(2)).Select(TitleCase));

        string noun = type.Noun.ToLowerInvariant();
        string described = $"{string.Join(' ', descriptors).ToLowerInvariant()} {noun}";
        // Each attribute is spelled out in the description with odds 0.4, so the text alone does not reveal them all.
        List<string> spelled = attributes.Where(_ => random.Chance(0.4)).ToList();
        string description = Sentence($"the {brand} {described} {random.Pick(WebShopSyntheticVocabulary.Fillers)}")
            + (spelled.Count > 0 ? " " + Sentence($"it is {JoinAnd(spelled)}") : "")
            + " " + Sentence($"this {noun} {random.Pick(WebShopSyntheticVocabulary.Fillers)}");
        List<string> bullets = random.Subset(attributes, 1 + random.Next(2))
            .Select(attribute => $"{attribute.ToUpperInvariant()}: this {noun} is {attribute}.").ToList();
        bullets.Add(Sentence($"the {noun} {random.Pick(WebShopSyntheticVocabulary.Fillers)}"));
        random.Shuffle(bullets);

        double basePrice = random.Uniform(type.MinPrice, type.MaxPrice);
        double low = Math.Round(Math.Floor(basePrice) + random.Pick(Cents), 2);
        double[] pricing = [low];
        double price = low;
        if (random.Chance(0.25))
        {
            double high = Math.Round(low * random.Uniform(1.15, 1.8), 2);
            pricing = [low, high];
            price = random.Uniform(low, high);
        }

        var product = new WebShopProduct
        {
            Asin = NewAsin(random, asins),
            Title = title,
            Category = category.Name,
            Query = type.Query,
            ProductCategory = type.Breadcrumb,
            Description = description,
            BulletPoints = bullets,
            Pricing = pricing,
            Price = price,
            Options = options,
            Attributes = attributes,
        };
        return new Draft(product, noun, descriptors);
    }

    private static WebShopGoal MakeGoal(WebShopRandom random, Draft draft)
    {
        WebShopProduct product = draft.Product;
        List<string> attributes = random.Subset(product.Attributes, 1 + random.Next(3));
        var chosen = new List<(string Name, string Value)>();
        foreach (WebShopOptionGroup group in product.Options)
            if (random.Chance(0.85))
                chosen.Add((group.Name, random.Pick(group.Values)));
        (double priceUpper, string priceText) = random.DrawPriceUpper(product.Price);

        string noun = random.Chance(0.5) ? $"{random.Pick(draft.Descriptors).ToLowerInvariant()} {draft.Noun}" : draft.Noun;
        string attributeText = JoinAnd(attributes);
        string request = random.Next(4) switch
        {
            0 => $"{Article(attributeText)} {attributeText} {noun}",
            1 => $"{Article(noun)} {noun} that is {attributeText}",
            2 => $"{Article(noun)} {noun} with {attributeText}",
            _ => $"{attributeText} {noun}",
        };
        string optionText = chosen.Count == 0 ? "" : random.Next(3) switch
        {
            0 => " in " + JoinAnd(chosen.Select(option => option.Value).ToList()),
            1 => " with " + JoinAnd(chosen.Select(option => $"{option.Value} {option.Name}").ToList()),
            _ => ", " + string.Join(", ", chosen.Select(option => $"{option.Name}: {option.Value}")),
        };
        string instruction = $"{random.Pick(WebShopSyntheticVocabulary.Openings)} {request}{optionText}{priceText}".ToLowerInvariant();
        return WebShopGoals.For(product, instruction, attributes, chosen.Select(option => option.Value).ToArray(), priceUpper);
    }

    private static string NewAsin(WebShopRandom random, HashSet<string> asins)
    {
        Span<char> text = stackalloc char[10];
        text[0] = 'B';
        text[1] = '0';
        while (true)
        {
            for (int i = 2; i < text.Length; i++)
                text[i] = AsinAlphabet[random.Next(AsinAlphabet.Length)];
            string asin = text.ToString();
            if (asins.Add(asin))
                return asin;
        }
    }

    private static string JoinAnd(IReadOnlyList<string> items) =>
        items.Count <= 1 ? string.Concat(items) : $"{string.Join(", ", items.Take(items.Count - 1))} and {items[^1]}";

    private static string Article(string next) => next.Length > 0 && "aeiou".Contains(char.ToLowerInvariant(next[0])) ? "an" : "a";

    private static string Sentence(string text) => char.ToUpperInvariant(text[0]) + text[1..] + ".";

    private static string TitleCase(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
            builder.Append(i == 0 || text[i - 1] == ' ' ? char.ToUpperInvariant(text[i]) : text[i]);
        return builder.ToString();
    }
}

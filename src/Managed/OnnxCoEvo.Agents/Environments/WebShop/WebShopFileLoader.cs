using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>Loads WebShop's own data files (items_shuffle*.json, items_ins_v2*.json, items_human_ins.json) from a directory.</summary>
/// <remarks>
/// Follows WebShop's <c>load_products</c> and goal builders (environments.md §1.4):
/// <list type="bullet">
/// <item>Products: entries whose asin is "nan" or longer than 10 characters are skipped, later duplicates too.
/// <c>pricing</c> is split at '$', every piece stripped to digits and '.', and parsed; null or empty gives [100.0];
/// at most two prices are kept. A range's price is drawn uniformly in it (seeded, in file order).
/// <c>customization_options</c> groups (null groups skipped) are lower-cased, values stripped, '/' replaced by " | " and
/// lower-cased. <c>query</c> is lower-cased and trimmed. Attributes come from items_ins_v2's <c>attributes</c>, else
/// ["DUMMY_ATTR"]. <c>full_description</c> null or missing is empty; <c>small_description</c> is a string (one bullet),
/// a list, or null/missing (no bullets).</item>
/// <item>Goals, with items_human_ins.json: one per instruction of a loaded product, instruction.strip('.') plus WebShop's
/// price text, goal options = <c>instruction_options</c> (a list of strings; an object's values are taken in order);
/// instructions with no <c>instruction_attributes</c> are skipped. Without it: WebShop's synthetic goals, one per
/// combination of the product's option values (option names sorted), for every items_ins_v2 entry with an
/// <c>instruction</c> and non-empty <c>instruction_attributes</c>, text "instruction with name: value, and name2: value2"
/// plus the price text, weight = mean over its attributes of 1/(goals naming that attribute).</item>
/// <item>Goals are shuffled with the seed; the test split is the first <c>testGoalCount</c> indices (default
/// min(500, goals/4): WebShop's baselines test on goals 0-499 of the shuffled list; the quarter keeps a train split in
/// small directories).</item>
/// </list>
/// The whole of each file is parsed into memory (fine for the 1,000-product files; the full 1.18M-product file needs
/// several GB).
/// </remarks>
public static class WebShopFileLoader
{
    public const string SmallProductsFile = "items_shuffle_1000.json";
    public const string SmallAttributesFile = "items_ins_v2_1000.json";
    public const string FullProductsFile = "items_shuffle.json";
    public const string FullAttributesFile = "items_ins_v2.json";
    public const string HumanGoalsFile = "items_human_ins.json";
    public const string DummyAttribute = "DUMMY_ATTR";

    /// <param name="directory">Holds the files; which variants (small "_1000" or full) is detected.</param>
    /// <param name="seed">Seeds the draws WebShop makes at load time (range prices, price thresholds, goal shuffle).</param>
    public static WebShopCatalog Load(string directory, ulong seed = 0) => Load(directory, seed, testGoalCount: null);

    /// <param name="testGoalCount">Goals in the test split (the first of the shuffled list, at most all of them); null for min(500, goals/4).</param>
    public static WebShopCatalog Load(string directory, ulong seed, int? testGoalCount)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (testGoalCount < 0)
            throw new ArgumentOutOfRangeException(nameof(testGoalCount), testGoalCount, "must not be negative");
        (string productsPath, string attributesPath) = FindFiles(directory);
        string humanPath = Path.Combine(directory, HumanGoalsFile);

        // The attributes document stays open while products and goals read their entries.
        using JsonDocument attributesDocument = ParseFile(attributesPath, out JsonSource attributesSource);
        Dictionary<string, InstructionEntry> instructions = IndexAttributes(attributesSource.Root(attributesDocument));
        List<WebShopProduct> products = ReadProducts(productsPath, instructions, new WebShopRandom(seed, "webshop-prices"));

        var goalRandom = new WebShopRandom(seed, "webshop-goals");
        List<WebShopGoal> goals = File.Exists(humanPath)
            ? HumanGoals(humanPath, products, goalRandom)
            : SyntheticGoals(products, instructions, goalRandom);
        new WebShopRandom(seed, "webshop-goal-shuffle").Shuffle(goals);
        WebShopGoal[] indexed = goals.Select((goal, index) => goal with { Index = index }).ToArray();
        int testCount = Math.Min(testGoalCount ?? Math.Min(500, indexed.Length / 4), indexed.Length);
        return new WebShopCatalog(products, indexed, Enumerable.Range(0, testCount).ToHashSet(), Path.GetFullPath(directory));
    }

    /// <summary>The products and attributes files of the small variant if present, else of the full one.</summary>
    public static (string Products, string Attributes) FindFiles(string directory)
    {
        string expected = $"expected {SmallProductsFile} + {SmallAttributesFile}, or {FullProductsFile} + {FullAttributesFile} " +
                          $"(and optionally {HumanGoalsFile})";
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: no such WebShop data directory; {expected}");
        foreach ((string products, string attributes) in new[] { (SmallProductsFile, SmallAttributesFile), (FullProductsFile, FullAttributesFile) })
        {
            string productsPath = Path.Combine(directory, products), attributesPath = Path.Combine(directory, attributes);
            if (!File.Exists(productsPath))
                continue;
            if (!File.Exists(attributesPath))
                throw new FileNotFoundException($"{directory}: {products} is there but {attributes} is missing; {expected}", attributesPath);
            return (productsPath, attributesPath);
        }
        throw new FileNotFoundException($"{directory}: no WebShop product file; {expected}");
    }

    /// <summary>One items_ins_v2 entry, its members still unread (only the loaded products' entries are read).</summary>
    private readonly record struct InstructionEntry(LocatedJson Entry);

    private static JsonDocument ParseFile(string path, out JsonSource source)
    {
        source = new JsonSource(path);
        using FileStream stream = File.OpenRead(path);
        return source.Parse(stream, JsonSyntaxErrorFormat.LineByte);
    }

    private static Dictionary<string, InstructionEntry> IndexAttributes(LocatedJson root)
    {
        var entries = new Dictionary<string, InstructionEntry>(StringComparer.Ordinal);
        foreach ((string asin, LocatedJson entry) in root.Members())
            entries[asin] = new InstructionEntry(entry.ExpectKind(JsonValueKind.Object));
        return entries;
    }

    private static List<WebShopProduct> ReadProducts(string path, Dictionary<string, InstructionEntry> instructions, WebShopRandom random)
    {
        using JsonDocument document = ParseFile(path, out JsonSource source);
        var products = new List<WebShopProduct>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (LocatedJson item in source.Root(document).Items())
        {
            item.ExpectKind(JsonValueKind.Object);
            string asin = item.RequiredString("asin");
            if (asin == "nan" || asin.Length > 10 || !seen.Add(asin))
                continue;
            double[] pricing = ParsePricing(item);
            IReadOnlyList<string> attributes = instructions.TryGetValue(asin, out InstructionEntry entry) && entry.Entry.Has("attributes")
                ? entry.Entry.StringList("attributes")
                : [DummyAttribute];
            products.Add(new WebShopProduct
            {
                Asin = asin,
                Title = item.RequiredString("name"),
                Category = item.RequiredString("category"),
                Query = item.RequiredString("query").ToLowerInvariant().Trim(),
                ProductCategory = item.RequiredString("product_category"),
                Description = item.OptionalString("full_description") ?? "",
                BulletPoints = item.Optional("small_description") is { Kind: JsonValueKind.String } single
                    ? [single.GetString()]
                    : item.StringList("small_description"),
                Pricing = pricing,
                Price = pricing.Length == 1 ? pricing[0] : random.Uniform(pricing[0], pricing[1]),
                Options = ParseOptions(item),
                Attributes = attributes,
            });
        }
        return products;
    }

    /// <summary>WebShop's price parse: pieces after each '$', stripped to digits and '.'; none given -> [100.0]; at most two.</summary>
    private static double[] ParsePricing(LocatedJson item)
    {
        string? text = item.OptionalString("pricing");
        if (string.IsNullOrEmpty(text))
            return [100.0];
        string[] pieces = text.Split('$')[1..];
        if (pieces.Length == 0)
            throw item.FieldError("pricing", $"\"{text}\" has no '$' price");
        var prices = new List<double>(2);
        foreach (string piece in pieces.Take(2))
        {
            string number = new(piece.Where(c => char.IsAsciiDigit(c) || c == '.').ToArray());
            if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double price))
                throw item.FieldError("pricing", $"\"{text}\": \"${piece}\" is not a price");
            prices.Add(price);
        }
        return prices.ToArray();
    }

    private static List<WebShopOptionGroup> ParseOptions(LocatedJson item)
    {
        var groups = new List<WebShopOptionGroup>();
        if (item.Optional("customization_options") is not { } options)
            return groups;
        foreach ((string rawName, LocatedJson contents) in options.Members())
        {
            if (contents.Kind == JsonValueKind.Null)
                continue;
            string name = rawName.ToLowerInvariant();
            string[] values = contents.Items()
                .Select(content => content.ExpectKind(JsonValueKind.Object).RequiredString("value").Trim().Replace("/", " | ").ToLowerInvariant())
                .ToArray();
            // A name repeated after lower-casing replaces the earlier group in its place (a Python dict assignment).
            int existing = groups.FindIndex(group => group.Name == name);
            if (existing >= 0)
                groups[existing] = new WebShopOptionGroup(name, values);
            else
                groups.Add(new WebShopOptionGroup(name, values));
        }
        return groups;
    }

    private static List<WebShopGoal> HumanGoals(string path, List<WebShopProduct> products, WebShopRandom random)
    {
        using JsonDocument document = ParseFile(path, out JsonSource source);
        LocatedJson root = source.Root(document).ExpectKind(JsonValueKind.Object);
        var goals = new List<WebShopGoal>();
        foreach (WebShopProduct product in products)
        {
            if (root.Optional(product.Asin) is not { } list)
                continue;
            foreach (LocatedJson entry in list.Items())
            {
                entry.ExpectKind(JsonValueKind.Object);
                IReadOnlyList<string> attributes = entry.StringList("instruction_attributes");
                if (attributes.Count == 0)
                    continue;
                string instruction = entry.RequiredString("instruction");
                (double priceUpper, string priceText) = random.DrawPriceUpper(product.Price);
                goals.Add(WebShopGoals.For(product, instruction.Trim('.') + priceText, attributes, GoalOptions(entry), priceUpper));
            }
        }
        return goals;
    }

    /// <summary><c>instruction_options</c>: a list of strings, or an object whose string values are taken in order; missing or null is none.</summary>
    private static IReadOnlyList<string> GoalOptions(LocatedJson entry)
    {
        if (entry.Optional("instruction_options") is { Kind: JsonValueKind.Object } byName)
            return byName.Members().Select(member => member.Value.GetString()).ToArray();
        return entry.StringList("instruction_options");
    }

    private static List<WebShopGoal> SyntheticGoals(List<WebShopProduct> products, Dictionary<string, InstructionEntry> instructions, WebShopRandom random)
    {
        var drafts = new List<(WebShopProduct Product, string Text, IReadOnlyList<string> Attributes, string[] Options, double PriceUpper)>();
        var attributeCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (WebShopProduct product in products)
        {
            if (!instructions.TryGetValue(product.Asin, out InstructionEntry entry) || entry.Entry.OptionalString("instruction") is not { } instruction)
                continue;
            IReadOnlyList<string> attributes = entry.Entry.StringList("instruction_attributes");
            if (attributes.Count == 0)
                continue;
            (double priceUpper, string priceText) = random.DrawPriceUpper(product.Price);
            WebShopOptionGroup[] groups = product.Options.OrderBy(group => group.Name, StringComparer.Ordinal).ToArray();
            foreach (string[] combination in Combinations(groups))
            {
                string optionText = string.Join(", and ", groups.Select((group, i) => $"{group.Name}: {combination[i]}"));
                string text = instruction + (optionText.Length > 0 ? " with " + optionText : "") + priceText;
                drafts.Add((product, text, attributes, combination, priceUpper));
                foreach (string attribute in attributes)
                    attributeCounts[attribute] = attributeCounts.GetValueOrDefault(attribute) + 1;
            }
        }
        return drafts.Select(draft => WebShopGoals.For(draft.Product, draft.Text, draft.Attributes, draft.Options, draft.PriceUpper,
            weight: draft.Attributes.Average(attribute => 1.0 / attributeCounts[attribute]))).ToList();
    }

    /// <summary>itertools.product over the groups' values (one empty combination when there are no groups).</summary>
    private static IEnumerable<string[]> Combinations(WebShopOptionGroup[] groups)
    {
        IEnumerable<string[]> combinations = [[]];
        foreach (WebShopOptionGroup group in groups)
        {
            IEnumerable<string[]> prefixes = combinations;
            combinations = prefixes.SelectMany(prefix => group.Values.Select(value => (string[])[.. prefix, value]));
        }
        return combinations;
    }
}

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// Products, goals and the train/test split of goal indices: everything a WebShop environment serves, immutable and
/// shared by every session. Built by <see cref="WebShopCatalogGenerator"/> (synthetic, deterministic for a seed) or
/// <see cref="WebShopFileLoader"/> (WebShop's own items_*.json files).
/// </summary>
public sealed class WebShopCatalog
{
    private readonly Dictionary<string, WebShopProduct> _byAsin;
    private readonly Lazy<WebShopSearchEngine> _search;

    public WebShopCatalog(IReadOnlyList<WebShopProduct> products, IReadOnlyList<WebShopGoal> goals, IReadOnlySet<int> testGoalIndices, string source)
    {
        ArgumentNullException.ThrowIfNull(products);
        ArgumentNullException.ThrowIfNull(goals);
        ArgumentNullException.ThrowIfNull(testGoalIndices);
        _byAsin = new Dictionary<string, WebShopProduct>(products.Count, StringComparer.OrdinalIgnoreCase);
        foreach (WebShopProduct product in products)
            if (!_byAsin.TryAdd(product.Asin, product))
                throw new ArgumentException($"{source}: duplicate product asin '{product.Asin}'");
        for (int i = 0; i < goals.Count; i++)
        {
            if (goals[i].Index != i)
                throw new ArgumentException($"{source}: goal at position {i} has index {goals[i].Index}");
            if (!_byAsin.ContainsKey(goals[i].Asin))
                throw new ArgumentException($"{source}: goal {i} names asin '{goals[i].Asin}', which is not in the catalog");
        }
        foreach (int index in testGoalIndices)
            if (index < 0 || index >= goals.Count)
                throw new ArgumentException($"{source}: test goal index {index} is outside [0, {goals.Count})");

        Products = products;
        Goals = goals;
        Source = source;
        TestGoalIndices = testGoalIndices.Order().ToArray();
        TrainGoalIndices = Enumerable.Range(0, goals.Count).Where(i => !testGoalIndices.Contains(i)).ToArray();
        _search = new Lazy<WebShopSearchEngine>(() => new WebShopSearchEngine(products), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public IReadOnlyList<WebShopProduct> Products { get; }
    public IReadOnlyList<WebShopGoal> Goals { get; }

    /// <summary>Ascending goal indices of the test split; every other goal is train.</summary>
    public IReadOnlyList<int> TestGoalIndices { get; }
    public IReadOnlyList<int> TrainGoalIndices { get; }

    /// <summary>Where the catalog came from, e.g. "synthetic(seed=0, products=1000)" or a data directory.</summary>
    public string Source { get; }

    /// <summary>The BM25 index over every product, built on first use.</summary>
    public WebShopSearchEngine Search => _search.Value;

    /// <summary>The product with this asin (any case), or null.</summary>
    public WebShopProduct? FindProduct(string asin) => _byAsin.GetValueOrDefault(asin);
}

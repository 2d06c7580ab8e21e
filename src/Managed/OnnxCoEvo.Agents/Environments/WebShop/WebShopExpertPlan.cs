using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>How the expert's first search is misled, if at all.</summary>
public enum WebShopFirstSearch
{
    /// <summary>Keywords from the goal's product type and key attributes.</summary>
    Good,

    /// <summary>Too generic keywords (the bare product type); the expert then picks the best-looking title on page 1.</summary>
    Vague,

    /// <summary>Keywords of a wrong product type or of attributes alone; the target is rarely listed.</summary>
    Wrong,
}

/// <summary>
/// What the scripted expert will do in one episode, drawn once from (seed, task index, sample): its search keywords,
/// which failure modes are on and their details. The episode's actions then follow from this plan and the pages shown.
/// </summary>
public sealed record WebShopExpertPlan
{
    public required WebShopGoal Goal { get; init; }

    /// <summary>Keywords that bring the target up (checked against the catalog's search engine when the plan is made).</summary>
    public required string GoodQuery { get; init; }

    public WebShopFirstSearch FirstSearch { get; init; }

    /// <summary>The first search's keywords when <see cref="FirstSearch"/> is not <see cref="WebShopFirstSearch.Good"/>.</summary>
    public string? MisleadingQuery { get; init; }

    /// <summary>After a wrong search, whether the expert notices the target is missing and searches again (once).</summary>
    public bool SearchesAgain { get; init; }

    /// <summary>wrong_item: opens a similar-looking neighbour of the target instead of the target.</summary>
    public bool WrongItem { get; init; }

    /// <summary>over_budget: prefers a similar product priced above the goal's limit when one is listed.</summary>
    public bool OverBudget { get; init; }

    /// <summary>missing_option: the goal option value it never clicks.</summary>
    public string? SkippedOption { get; init; }

    /// <summary>dithering: sub-pages it opens (and leaves) before buying without minding the step limit; 0 when off.</summary>
    public int ExtraViews { get; init; }

    /// <summary>dithering: a look at the next results page (and back) before opening the product.</summary>
    public bool BrowsesNextPage { get; init; }

    /// <summary>Good habit: reads Features or Description of the product when the step budget allows.</summary>
    public WebShopPageKind? ReadsDetails { get; init; }

    /// <summary>Seeds the wording of thoughts, step by step.</summary>
    public ulong ThoughtSeed { get; init; }

    public bool IsFailureFree =>
        FirstSearch == WebShopFirstSearch.Good && !WrongItem && !OverBudget && SkippedOption is null && ExtraViews == 0 && !BrowsesNextPage;
}

/// <summary>Draws plans: one independent draw per failure mode, then that mode's details, all from one seeded stream.</summary>
public sealed class WebShopExpertPlanner
{
    public const string VagueSearch = "vague_search";
    public const string WrongSearch = "wrong_search";
    public const string WrongItem = "wrong_item";
    public const string MissingOption = "missing_option";
    public const string OverBudget = "over_budget";
    public const string Dithering = "dithering";

    /// <summary>Rank (0-based) the good keywords must give the target for the plan to take them without trying others.</summary>
    private const int WantedRank = WebShopPages.ProductsPerPage;

    private readonly WebShopCatalog _catalog;
    private readonly IReadOnlyDictionary<string, double> _rates;
    private readonly ulong _seed;
    private readonly bool _searchWithInstruction;

    public WebShopExpertPlanner(WebShopCatalog catalog, IReadOnlyDictionary<string, double> rates, ulong seed, bool searchWithInstruction = false)
    {
        _searchWithInstruction = searchWithInstruction;
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _rates = rates ?? throw new ArgumentNullException(nameof(rates));
        _seed = seed;
    }

    public WebShopExpertPlan Plan(int taskIndex, int sample)
    {
        if (taskIndex < 0 || taskIndex >= _catalog.Goals.Count)
            throw new ArgumentOutOfRangeException(nameof(taskIndex), taskIndex, $"webshop catalog {_catalog.Source} has goals 0..{_catalog.Goals.Count - 1}");
        WebShopGoal goal = _catalog.Goals[taskIndex];
        var random = new Xoshiro256StarStar(DeterministicRandom.DeriveSeed(_seed, "webshop-expert/" + sample.ToString(System.Globalization.CultureInfo.InvariantCulture), (ulong)taskIndex));
        // Every mode is drawn, whether on or not, so that changing one rate does not reshuffle the others' draws.
        bool vague = Draw(ref random, VagueSearch);
        bool wrong = Draw(ref random, WrongSearch);
        bool wrongItem = Draw(ref random, WrongItem);
        bool missingOption = Draw(ref random, MissingOption);
        bool overBudget = Draw(ref random, OverBudget);
        bool dithering = Draw(ref random, Dithering);
        double searchAgain = random.NextDouble();
        double skipPick = random.NextDouble();
        double viewsPick = random.NextDouble();
        double browsePick = random.NextDouble();
        double readPick = random.NextDouble();
        double queryPick = random.NextDouble();
        double misleadPick = random.NextDouble();
        ulong thoughtSeed = random.NextUInt64();

        WebShopFirstSearch first = wrong ? WebShopFirstSearch.Wrong : vague ? WebShopFirstSearch.Vague : WebShopFirstSearch.Good;
        return new WebShopExpertPlan
        {
            Goal = goal,
            GoodQuery = GoodQuery(goal, queryPick),
            FirstSearch = first,
            MisleadingQuery = first switch
            {
                WebShopFirstSearch.Vague => VagueQuery(goal),
                WebShopFirstSearch.Wrong => WrongQuery(goal, misleadPick),
                _ => null,
            },
            SearchesAgain = wrong && searchAgain < 0.4,
            WrongItem = wrongItem,
            OverBudget = overBudget && goal.PriceUpper < 1_000_000,
            SkippedOption = missingOption && goal.GoalOptions.Count > 0 ? goal.GoalOptions[(int)(skipPick * goal.GoalOptions.Count)] : null,
            ExtraViews = dithering ? 1 + (int)(viewsPick * 3) : 0,
            BrowsesNextPage = dithering && browsePick < 0.5,
            ReadsDetails = readPick < 0.15 ? WebShopPageKind.Features : readPick < 0.3 ? WebShopPageKind.Description : null,
            ThoughtSeed = thoughtSeed,
        };
    }

    private bool Draw(ref Xoshiro256StarStar random, string mode) => random.NextDouble() < _rates[mode];

    /// <summary>
    /// With <see cref="ExpertOptions.SearchWithInstruction"/>: the instruction itself when it lists the target on page 1.
    /// Otherwise the product type and key attributes, in one of a few orders; when those keywords leave the target off the first
    /// page, the first alternative that lists it there (options added, then the title words the instruction also uses:
    /// the expert never searches with words it could not have read, such as the brand).
    /// </summary>
    private string GoodQuery(WebShopGoal goal, double pick)
    {
        if (_searchWithInstruction && RankOf(goal.Asin, goal.InstructionText) < WantedRank)
            return goal.InstructionText;
        string attributes = string.Join(' ', goal.Attributes);
        string options = string.Join(' ', goal.GoalOptions);
        string[] candidates = pick < 0.5
            ? [Join(goal.Query, attributes), Join(goal.Query, attributes, options), Join(TitleKeywords(goal), options)]
            : [Join(attributes, goal.Query), Join(goal.Query, options, attributes), Join(TitleKeywords(goal), options)];
        string best = candidates[0];
        int bestRank = int.MaxValue;
        foreach (string candidate in candidates)
        {
            int rank = RankOf(goal.Asin, candidate);
            if (rank < WantedRank)
                return candidate;
            if (rank < bestRank)
                (best, bestRank) = (candidate, rank);
        }
        return best;
    }

    private static string VagueQuery(WebShopGoal goal)
    {
        // The bare product type: the last word of the query ("shampoo" of "sulfate free shampoo").
        string[] words = WebShopText.Words(goal.Query);
        return words.Length == 0 ? goal.Query : words[^1];
    }

    /// <summary>
    /// Keywords that lead astray: the right product type with an attribute this goal does not ask for (one of a
    /// look-alike's), or another product type of the same category with one of this goal's attributes.
    /// </summary>
    private string WrongQuery(WebShopGoal goal, double pick)
    {
        if (pick < 0.35)
        {
            string[] foreign = _catalog.Goals.Where(g => g.Query == goal.Query).SelectMany(g => g.Attributes)
                .Where(a => !goal.Attributes.Contains(a)).Distinct().Order(StringComparer.Ordinal).ToArray();
            if (foreign.Length > 0)
                return Join(goal.Query, foreign[(int)(pick / 0.35 * foreign.Length)]);
        }
        string[] others = _catalog.Goals.Where(g => g.Query != goal.Query && g.Category == goal.Category).Select(g => g.Query)
            .Distinct().Order(StringComparer.Ordinal).ToArray();
        if (others.Length == 0)
            others = _catalog.Goals.Where(g => g.Query != goal.Query).Select(g => g.Query).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (others.Length == 0)
            return VagueQuery(goal);
        return Join(others[(int)(pick * others.Length)], goal.Attributes.Count > 0 ? goal.Attributes[0] : "");
    }

    private int RankOf(string asin, string keywords)
    {
        if (keywords.Length == 0)
            return int.MaxValue;
        IReadOnlyList<WebShopProduct> hits = _catalog.Search.Search(keywords, WebShopPages.SearchResultCount);
        for (int i = 0; i < hits.Count; i++)
            if (string.Equals(hits[i].Asin, asin, StringComparison.OrdinalIgnoreCase))
                return i;
        return int.MaxValue;
    }

    /// <summary>The target's title words that the instruction also contains, without filler, at most eight.</summary>
    private static string TitleKeywords(WebShopGoal goal)
    {
        var instruction = WebShopText.Words(goal.InstructionText).ToHashSet(StringComparer.Ordinal);
        return string.Join(' ', WebShopText.Words(goal.Name).Where(w => !WebShopText.IsStopWord(w) && instruction.Contains(w)).Distinct().Take(8));
    }

    private static string Join(params string[] parts) => string.Join(' ', parts.Where(p => p.Length > 0));
}

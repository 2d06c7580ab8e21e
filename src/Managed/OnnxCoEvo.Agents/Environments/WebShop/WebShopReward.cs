using System.Text.Json;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// WebShop's reward parts (goal.py): <see cref="Reward"/> = (attribute matches + option matches + price ok) /
/// (|attributes| + |options| + 1) × <see cref="RType"/>.
/// </summary>
public sealed record WebShopRewardBreakdown(
    double Reward,
    double RType,
    double RAttribute,
    double? ROption,
    double RPrice,
    bool QueryMatch,
    bool CategoryMatch,
    double TitleScore,
    int AttributeMatches,
    int OptionMatches)
{
    /// <summary>How many attributes the goal asks for (the w_att numerator).</summary>
    public int GoalAttributeCount { get; init; }

    /// <summary>How many option values the goal asks for (the w_option numerator).</summary>
    public int GoalOptionCount { get; init; }

    private int Denominator => GoalAttributeCount + GoalOptionCount + 1;

    /// <summary>
    /// The breakdown as WebShop's verbose info dict, in its key order: r_type, r_att, w_att, query_match,
    /// category_match, title_score, then r_option and w_option only when the goal has options (WebShop leaves them out
    /// when r_option is None), then r_price and w_price. w_* are each part's share of the denominator. As in WebShop,
    /// query_match, category_match and r_price are booleans.
    /// </summary>
    public IReadOnlyDictionary<string, JsonElement> ToInfo()
    {
        var info = new Dictionary<string, JsonElement>(10)
        {
            ["r_type"] = JsonSerializer.SerializeToElement(RType),
            ["r_att"] = JsonSerializer.SerializeToElement(RAttribute),
            ["w_att"] = JsonSerializer.SerializeToElement((double)GoalAttributeCount / Denominator),
            ["query_match"] = JsonSerializer.SerializeToElement(QueryMatch),
            ["category_match"] = JsonSerializer.SerializeToElement(CategoryMatch),
            ["title_score"] = JsonSerializer.SerializeToElement(TitleScore),
        };
        if (ROption is double rOption)
        {
            info["r_option"] = JsonSerializer.SerializeToElement(rOption);
            info["w_option"] = JsonSerializer.SerializeToElement((double)GoalOptionCount / Denominator);
        }
        info["r_price"] = JsonSerializer.SerializeToElement(RPrice > 0);
        info["w_price"] = JsonSerializer.SerializeToElement(1.0 / Denominator);
        return info;
    }
}

/// <summary>WebShop's reward for buying <c>purchased</c> with the selected options at <c>price</c> against a goal (goal.py, environments.md §1.3).</summary>
public static class WebShopReward
{
    /// <summary>A fuzzy score must exceed this (85 itself does not match).</summary>
    public const int FuzzyThreshold = 85;

    /// <param name="selectedOptions">option name -> chosen value, as clicked on the item page (lower case).</param>
    /// <remarks>A goal without attributes (WebShop never makes one) reports r_att = 1.0; the total is unaffected.</remarks>
    public static WebShopRewardBreakdown Compute(WebShopGoal goal, WebShopProduct purchased, IReadOnlyDictionary<string, string> selectedOptions, double price)
    {
        ArgumentNullException.ThrowIfNull(goal);
        ArgumentNullException.ThrowIfNull(purchased);
        ArgumentNullException.ThrowIfNull(selectedOptions);

        TypeMatch type = ComputeType(goal, purchased);
        bool priceOk = price <= goal.PriceUpper;
        int attributeMatches = CountAttributeMatches(goal.Attributes, purchased);
        int optionMatches = CountOptionMatches(goal.GoalOptions, selectedOptions.Values);
        int attributeCount = goal.Attributes.Count, optionCount = goal.GoalOptions.Count;

        double total = (attributeMatches + optionMatches + (priceOk ? 1 : 0)) / (double)(attributeCount + optionCount + 1);
        total *= type.RType;
        return new WebShopRewardBreakdown(
            Reward: total,
            RType: type.RType,
            RAttribute: attributeCount == 0 ? 1.0 : (double)attributeMatches / attributeCount,
            ROption: optionCount == 0 ? null : (double)optionMatches / optionCount,
            RPrice: priceOk ? 1.0 : 0.0,
            QueryMatch: type.QueryMatch,
            CategoryMatch: type.CategoryMatch,
            TitleScore: type.TitleScore,
            AttributeMatches: attributeMatches,
            OptionMatches: optionMatches)
        {
            GoalAttributeCount = attributeCount,
            GoalOptionCount = optionCount,
        };
    }

    /// <summary>r_type and its inputs (get_type_reward).</summary>
    public readonly record struct TypeMatch(double RType, bool QueryMatch, bool CategoryMatch, double TitleScore);

    /// <summary>
    /// get_type_reward: query_match = same query; category_match = at least two shared (trimmed) '›' pieces of the
    /// breadcrumbs; title_score = |nouns(purchased) ∩ nouns(goal name)| / |noun list of the goal name| (0.2 when that list
    /// is empty), nouns by <see cref="WebShopNounTagger"/>. r_type = 1, then 0.5 when none of query_match,
    /// category_match, title_score &gt; 0.2 holds, then 0.1 when title_score &lt; 0.1, then 0 when title_score == 0.
    /// </summary>
    public static TypeMatch ComputeType(WebShopGoal goal, WebShopProduct purchased)
    {
        ArgumentNullException.ThrowIfNull(goal);
        ArgumentNullException.ThrowIfNull(purchased);
        bool queryMatch = string.Equals(purchased.Query, goal.Query, StringComparison.Ordinal);
        var purchasedPieces = BreadcrumbPieces(purchased.ProductCategory);
        purchasedPieces.IntersectWith(BreadcrumbPieces(goal.ProductCategory));
        bool categoryMatch = purchasedPieces.Count >= 2;

        IReadOnlyList<string> desired = WebShopNounTagger.Nouns(goal.Name);
        double titleScore;
        if (desired.Count == 0)
            titleScore = 0.2;
        else
        {
            var shared = new HashSet<string>(WebShopNounTagger.Nouns(purchased.Title), StringComparer.Ordinal);
            shared.IntersectWith(desired);
            titleScore = (double)shared.Count / desired.Count;
        }

        double rType = 1.0;
        if (!(queryMatch || categoryMatch || titleScore > 0.2))
            rType = 0.5;
        if (titleScore < 0.1)
            rType = 0.1;
        if (titleScore == 0.0)
            rType = 0.0;
        return new TypeMatch(rType, queryMatch, categoryMatch, titleScore);
    }

    /// <summary>
    /// get_attribute_reward's count: a goal attribute matches when some product attribute scores
    /// <see cref="FuzzyMatch.TokenSetRatio"/> &gt; 85 against it, or else when it is a plain substring of the lower-cased
    /// title, of the lower-cased bullet points joined by spaces, or of the lower-cased description. Each counts once.
    /// </summary>
    public static int CountAttributeMatches(IReadOnlyList<string> goalAttributes, WebShopProduct purchased)
    {
        ArgumentNullException.ThrowIfNull(goalAttributes);
        ArgumentNullException.ThrowIfNull(purchased);
        string? title = null, bullets = null, description = null;
        int matches = 0;
        foreach (string goalAttribute in goalAttributes)
        {
            bool matched = purchased.Attributes.Any(productAttribute => FuzzyMatch.TokenSetRatio(productAttribute, goalAttribute) > FuzzyThreshold);
            if (!matched)
            {
                title ??= purchased.Title.ToLowerInvariant();
                bullets ??= string.Join(' ', purchased.BulletPoints).ToLowerInvariant();
                description ??= purchased.Description.ToLowerInvariant();
                matched = title.Contains(goalAttribute, StringComparison.Ordinal)
                    || bullets.Contains(goalAttribute, StringComparison.Ordinal)
                    || description.Contains(goalAttribute, StringComparison.Ordinal);
            }
            if (matched)
                matches++;
        }
        return matches;
    }

    /// <summary>
    /// get_option_reward's count: both sides go through <see cref="WebShopColors.NormalizeColor"/>; a goal option
    /// matches when some purchased value scores <see cref="FuzzyMatch.TokenSetRatio"/> &gt; 85 against it.
    /// </summary>
    public static int CountOptionMatches(IReadOnlyList<string> goalOptions, IEnumerable<string> purchasedOptions)
    {
        ArgumentNullException.ThrowIfNull(goalOptions);
        ArgumentNullException.ThrowIfNull(purchasedOptions);
        string[] purchased = purchasedOptions.Select(WebShopColors.NormalizeColor).ToArray();
        int matches = 0;
        foreach (string goalOption in goalOptions)
        {
            string wanted = WebShopColors.NormalizeColor(goalOption);
            if (purchased.Any(value => FuzzyMatch.TokenSetRatio(value, wanted) > FuzzyThreshold))
                matches++;
        }
        return matches;
    }

    private static HashSet<string> BreadcrumbPieces(string breadcrumb) =>
        new(breadcrumb.Split('›').Select(piece => piece.Trim()), StringComparer.Ordinal);
}

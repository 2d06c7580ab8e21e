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
    /// <summary>The breakdown as WebShop's verbose info keys (r_type, r_att, w_att, query_match, category_match, title_score, r_option, w_option, r_price, w_price).</summary>
    public IReadOnlyDictionary<string, JsonElement> ToInfo() =>
        throw new NotImplementedException("issue 4: WebShop reward info");
}

/// <summary>WebShop's reward for buying <c>purchased</c> with the selected options at <c>price</c> against a goal.</summary>
public static class WebShopReward
{
    /// <param name="selectedOptions">option name -> chosen value, as clicked on the item page (lower case).</param>
    public static WebShopRewardBreakdown Compute(WebShopGoal goal, WebShopProduct purchased, IReadOnlyDictionary<string, string> selectedOptions, double price) =>
        throw new NotImplementedException("issue 4: WebShop reward");
}

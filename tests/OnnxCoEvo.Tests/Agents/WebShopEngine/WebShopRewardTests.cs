using System.Text.Json;
using OnnxCoEvo.Agents.Environments.WebShop;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.WebShopEngine;

public sealed class WebShopRewardTests
{
    private const string ShampooCategory = "Beauty & Personal Care › Hair Care › Shampoo & Conditioner › Shampoos";

    private static readonly WebShopProduct Shampoo = Product(
        "Acme Long Lasting Lavender Shampoo for Dry Hair", "shampoo", ShampooCategory, ["long lasting", "dry hair"]);

    // Attributes: "long lasting" matches a product attribute; "tea tree oil" only the description.
    private static readonly WebShopGoal Goal = GoalFor(Shampoo, ["long lasting", "tea tree oil"], ["16 fl oz", "lavender"], priceUpper: 20);

    private static readonly Dictionary<string, string> RightOptions = new() { ["size"] = "16 fl oz", ["scent"] = "lavender" };

    [Fact]
    public void Buying_the_target_with_the_goal_options_in_budget_scores_one()
    {
        WebShopRewardBreakdown result = WebShopReward.Compute(Goal, Shampoo, RightOptions, 12.99);
        Assert.Equal(1.0, result.Reward);
        Assert.Equal((1.0, 1.0, 1.0, 1.0), (result.RType, result.RAttribute, result.ROption!.Value, result.RPrice));
        Assert.True(result.QueryMatch);
        Assert.True(result.CategoryMatch);
        Assert.Equal(1.0, result.TitleScore);
        Assert.Equal((2, 2), (result.AttributeMatches, result.OptionMatches));
    }

    [Fact]
    public void A_missing_attribute_costs_its_share()
    {
        WebShopGoal goal = Goal with { Attributes = ["long lasting", "tea tree oil", "paraben free"] };
        WebShopRewardBreakdown result = WebShopReward.Compute(goal, Shampoo, RightOptions, 12.99);
        Assert.Equal(5.0 / 6.0, result.Reward, 12);
        Assert.Equal(2.0 / 3.0, result.RAttribute, 12);
        Assert.Equal(2, result.AttributeMatches);
    }

    [Fact]
    public void Attributes_fall_back_to_title_bullets_and_description_substrings()
    {
        // WebShop's own test: "tea tree" nowhere; "essential oils" in a bullet point; "natural ingredients" in the description.
        WebShopProduct product = Shampoo with
        {
            Title = "",
            Attributes = [],
            BulletPoints = ["This shampoo has essential oils and smells like lemons"],
            Description = "Best shampoo on the market, made with natural ingredients",
        };
        Assert.Equal(2, WebShopReward.CountAttributeMatches(["tea tree", "essential oils", "natural ingredients"], product));
        // Fuzzy against product attributes: "essential oil" ~ "essential oils" (96).
        Assert.Equal(3, WebShopReward.CountAttributeMatches(["tea tree", "essential oils", "natural ingredients"],
            product with { Attributes = ["tea tree", "essential oil", "natural ingredients"] }));
        // A goal attribute counts once even when several product attributes match it.
        Assert.Equal(1, WebShopReward.CountAttributeMatches(["tea tree"], product with { Attributes = ["tea tree", "tea tree oil"] }));
    }

    [Fact]
    public void A_wrong_option_costs_its_share()
    {
        // "8 fl oz" vs "16 fl oz" scores 83: not a match.
        var options = new Dictionary<string, string> { ["size"] = "8 fl oz", ["scent"] = "lavender" };
        WebShopRewardBreakdown result = WebShopReward.Compute(Goal, Shampoo, options, 12.99);
        Assert.Equal(0.8, result.Reward, 12);
        Assert.Equal(0.5, result.ROption);
        Assert.Equal(1, result.OptionMatches);
    }

    [Fact]
    public void Options_are_colour_normalised_by_list_order_then_fuzzy_matched()
    {
        // "navy blue" -> "blue" (blue precedes navy in COLOR_SET); "dark navy" -> "dark", which does not match "navy".
        Assert.Equal("blue", WebShopColors.NormalizeColor("navy blue"));
        Assert.Equal("dark", WebShopColors.NormalizeColor("dark navy"));
        Assert.Equal("8 ounce", WebShopColors.NormalizeColor("8 ounce"));
        Assert.Equal(1, WebShopReward.CountOptionMatches(["navy blue"], ["blue"]));
        Assert.Equal(0, WebShopReward.CountOptionMatches(["dark navy"], ["navy"]));
        // WebShop's own cases: exact in any order, one wrong, fuzzy subset.
        Assert.Equal(3, WebShopReward.CountOptionMatches(["grey", "XL", "pack of 12"], ["pack of 12", "grey", "XL"]));
        Assert.Equal(2, WebShopReward.CountOptionMatches(["grey", "XL", "pack of 12"], ["pack of 12", "blue", "XL"]));
        Assert.Equal(3, WebShopReward.CountOptionMatches(["cool powder snow", "XL", "pack of 12"], ["pack of 12", "powder snow", "XL"]));
    }

    [Fact]
    public void Over_budget_loses_the_price_part()
    {
        WebShopRewardBreakdown result = WebShopReward.Compute(Goal, Shampoo, RightOptions, 20.01);
        Assert.Equal(0.8, result.Reward, 12);
        Assert.Equal(0.0, result.RPrice);
        Assert.Equal(1.0, WebShopReward.Compute(Goal, Shampoo, RightOptions, 20.0).Reward);
    }

    [Fact]
    public void RType_is_half_when_only_one_fifth_of_the_title_nouns_match()
    {
        // Goal nouns: acme, lasting, lavender, shampoo, hair; the candle shares only "lavender": 1/5 = 0.2, not > 0.2.
        WebShopProduct candle = Product("Zen Lavender Candle", "candle", "Home & Kitchen › Candles", ["long lasting"]);
        WebShopReward.TypeMatch type = WebShopReward.ComputeType(Goal, candle);
        Assert.Equal(new WebShopReward.TypeMatch(0.5, false, false, 0.2), type);
        WebShopRewardBreakdown result = WebShopReward.Compute(Goal, candle, new Dictionary<string, string> { ["scent"] = "lavender" }, 5);
        // 2 attributes (one fuzzy, one in the description) + 1 option + price = 4 of 5, times 0.5.
        Assert.Equal(0.4, result.Reward, 12);
    }

    [Fact]
    public void RType_is_one_tenth_below_a_tenth_and_zero_without_shared_nouns()
    {
        WebShopGoal goal = Goal with { Name = "Acme Shampoo Bottle Pump Refill Kit Travel Case Hook Towel Comb Brush" };
        WebShopReward.TypeMatch oneOfTwelve = WebShopReward.ComputeType(goal, Product("Zen Brush", "brush", "Tools", []));
        Assert.Equal(1.0 / 12, oneOfTwelve.TitleScore, 12);
        Assert.Equal(0.1, oneOfTwelve.RType);
        // Same query and category do not rescue a title without a shared noun.
        WebShopReward.TypeMatch none = WebShopReward.ComputeType(goal, Product("Zen Candle", "shampoo", ShampooCategory, []));
        Assert.True(none.QueryMatch && none.CategoryMatch);
        Assert.Equal(0.0, none.RType);
    }

    [Fact]
    public void Category_match_needs_two_shared_breadcrumb_pieces()
    {
        // Title score 0.2 (lavender) alone is not enough; two shared pieces ("Hair Care", "Shampoos") restore 1.0.
        WebShopProduct sibling = Product("Zen Lavender Rinse", "rinse", "Beauty › Hair Care › Shampoos", []);
        Assert.Equal(new WebShopReward.TypeMatch(1.0, false, true, 0.2), WebShopReward.ComputeType(Goal, sibling));
        WebShopProduct cousin = Product("Zen Lavender Rinse", "rinse", "Beauty › Hair Care › Rinses", []);
        Assert.Equal(new WebShopReward.TypeMatch(0.5, false, false, 0.2), WebShopReward.ComputeType(Goal, cousin));
    }

    [Fact]
    public void A_goal_name_without_nouns_scores_title_two_tenths()
    {
        WebShopGoal goal = Goal with { Name = "New Black 12 oz" };
        Assert.Empty(WebShopNounTagger.Nouns(goal.Name));
        Assert.Equal(new WebShopReward.TypeMatch(1.0, true, true, 0.2), WebShopReward.ComputeType(goal, Shampoo));
        Assert.Equal(0.5, WebShopReward.ComputeType(goal, Product("Zen Candle", "candle", "Home", [])).RType);
    }

    [Fact]
    public void Noun_tagger_drops_closed_class_words_measures_and_adjectives()
    {
        Assert.Equal(["acme", "lasting", "lavender", "shampoo", "hair"], WebShopNounTagger.Nouns("Acme Long Lasting Lavender Shampoo for Dry Hair"));
        Assert.Equal(["men", "slip", "running", "shoes"], WebShopNounTagger.Nouns("Men's Breathable Non-Slip Running Shoes (Black, 10.5)"));
        Assert.Equal(["oil", "tea", "tree"], WebShopNounTagger.Nouns("6.76 fl oz Scented Oil with 2pcs Tea Tree"));
    }

    [Fact]
    public void The_fuzzy_threshold_is_strict_through_the_reward()
    {
        // Score 85 does not match, 86 does (the description and title hold neither string).
        WebShopGoal goal = Goal with { Attributes = ["abcdefghijklmnopqrst"], GoalOptions = [] };
        Assert.Equal(0, WebShopReward.Compute(goal, Shampoo with { Attributes = ["abcdefghijklmnopqxyz"] }, RightOptions, 1).AttributeMatches);
        WebShopGoal closer = goal with { Attributes = ["abcdefghijklmnopqrstu"] };
        WebShopRewardBreakdown matched = WebShopReward.Compute(closer, Shampoo with { Attributes = ["abcdefghijklmnopqrxyz"] }, RightOptions, 1);
        Assert.Equal(1, matched.AttributeMatches);
        Assert.Equal(1.0, matched.Reward);
    }

    [Fact]
    public void Info_has_webshop_keys_and_weights()
    {
        IReadOnlyDictionary<string, JsonElement> info = WebShopReward.Compute(Goal, Shampoo, RightOptions, 25).ToInfo();
        Assert.Equal(["r_type", "r_att", "w_att", "query_match", "category_match", "title_score", "r_option", "w_option", "r_price", "w_price"], info.Keys);
        Assert.Equal(0.4, info["w_att"].GetDouble(), 12);
        Assert.Equal(0.4, info["w_option"].GetDouble(), 12);
        Assert.Equal(0.2, info["w_price"].GetDouble(), 12);
        Assert.False(info["r_price"].GetBoolean());
        Assert.True(info["query_match"].GetBoolean());
        Assert.Equal(1.0, info["r_option"].GetDouble());

        WebShopRewardBreakdown noOptions = WebShopReward.Compute(Goal with { GoalOptions = [] }, Shampoo, RightOptions, 1);
        Assert.Null(noOptions.ROption);
        Assert.Equal(1.0, noOptions.Reward);
        IReadOnlyDictionary<string, JsonElement> short_ = noOptions.ToInfo();
        Assert.False(short_.ContainsKey("r_option") || short_.ContainsKey("w_option"));
        Assert.Equal(2.0 / 3.0, short_["w_att"].GetDouble(), 12);
        Assert.Equal(1.0 / 3.0, short_["w_price"].GetDouble(), 12);
    }

    internal static WebShopProduct Product(string title, string query, string productCategory, IReadOnlyList<string> attributes) => new()
    {
        Asin = "B0TEST0001",
        Title = title,
        Category = "beauty",
        Query = query,
        ProductCategory = productCategory,
        Description = "A gentle shampoo with tea tree oil.",
        BulletPoints = ["sulfate free formula", "salon quality"],
        Pricing = [12.99],
        Price = 12.99,
        Options = [new WebShopOptionGroup("size", ["8 fl oz", "16 fl oz"]), new WebShopOptionGroup("scent", ["lavender", "unscented"])],
        Attributes = attributes,
    };

    internal static WebShopGoal GoalFor(WebShopProduct product, IReadOnlyList<string> attributes, IReadOnlyList<string> options, double priceUpper) =>
        WebShopGoals.For(product, "i need a long lasting lavender shampoo", attributes, options, priceUpper);
}

using System.Text.RegularExpressions;
using OnnxCoEvo.Agents.Environments.WebShop;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.WebShopEngine;

public sealed partial class WebShopCatalogGeneratorTests
{
    private static readonly Lazy<WebShopCatalog> Default = new(() => WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions()));

    [GeneratedRegex("^B0[0-9A-Z]{8}$")]
    private static partial Regex AsinPattern();

    [GeneratedRegex(@", and price lower than (\d+)\.00 dollars$")]
    private static partial Regex PriceText();

    /// <summary>The options a shopper clicks to buy exactly what the goal asks: the goal's value where the group has it, else the first value.</summary>
    internal static Dictionary<string, string> GoalSelection(WebShopGoal goal, WebShopProduct product) =>
        product.Options.ToDictionary(group => group.Name, group => group.Values.FirstOrDefault(goal.GoalOptions.Contains) ?? group.Values[0]);

    [Fact]
    public void Same_seed_gives_the_same_catalog_and_another_seed_a_different_one()
    {
        WebShopCatalog first = WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { Seed = 7, ProductCount = 120 });
        WebShopCatalog second = WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { Seed = 7, ProductCount = 120 });
        WebShopCatalog other = WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { Seed = 8, ProductCount = 120 });
        Assert.Equal(Fingerprint(first), Fingerprint(second));
        Assert.NotEqual(Fingerprint(first), Fingerprint(other));
        Assert.Equal("synthetic(seed=7, products=120)", first.Source);
    }

    [Fact]
    public void Default_catalog_has_a_thousand_products_over_six_categories_and_about_two_goals_each()
    {
        WebShopCatalog catalog = Default.Value;
        Assert.Equal(1000, catalog.Products.Count);
        Assert.Equal(["beauty", "electronics", "fashion", "furniture", "garden", "grocery"], catalog.Products.Select(p => p.Category).Distinct().Order());
        Assert.All(catalog.Products.GroupBy(p => p.Category), group => Assert.InRange(group.Count(), 160, 170));
        Assert.InRange(catalog.Goals.Count, 1800, 2200);
        Assert.Equal(Enumerable.Range(0, 200), catalog.TestGoalIndices);
        Assert.Equal(catalog.Goals.Count - 200, catalog.TrainGoalIndices.Count);
        Assert.All(catalog.Products, product =>
        {
            Assert.Matches(AsinPattern(), product.Asin);
            Assert.InRange(product.Attributes.Count, 2, 6);
            Assert.NotEmpty(product.Options);
            Assert.All(product.Options, group => Assert.True(group.Values.Count >= 2));
            Assert.InRange(product.ProductCategory.Split(" › ").Length, 3, 6);
            Assert.InRange(product.Pricing.Count, 1, 2);
            Assert.InRange(product.Price, product.Pricing[0], product.Pricing[^1]);
            Assert.NotEmpty(product.BulletPoints);
        });
        Assert.Equal(catalog.Products.Count, catalog.Products.Select(p => p.Asin).Distinct().Count());
        Assert.Contains(catalog.Products, product => product.Pricing.Count == 2);
        Assert.Contains(catalog.Products, product => product.Pricing.Count == 1);
    }

    [Fact]
    public void Every_goal_is_met_in_full_by_its_target_with_the_goal_options_at_its_price()
    {
        WebShopCatalog catalog = Default.Value;
        Assert.All(catalog.Goals, goal =>
        {
            WebShopProduct target = catalog.FindProduct(goal.Asin)!;
            Assert.NotEmpty(goal.Attributes);
            Assert.Equal(goal.InstructionText.ToLowerInvariant(), goal.InstructionText);
            Assert.Equal(1.0, WebShopReward.Compute(goal, target, GoalSelection(goal, target), target.Price).Reward);
        });
        Assert.Contains(catalog.Goals, goal => goal.GoalOptions.Count >= 2);
        Assert.Contains(catalog.Goals, goal => goal.Attributes.Count == 3);
    }

    [Fact]
    public void Price_ceilings_follow_webshops_rule()
    {
        foreach (WebShopGoal goal in Default.Value.Goals)
        {
            double price = Default.Value.FindProduct(goal.Asin)!.Price;
            double[] candidates = Enumerable.Range(1, 99).Select(i => 10.0 * i).Where(p => p > price).Take(4).ToArray();
            Match text = PriceText().Match(goal.InstructionText);
            if (candidates.Length < 2)
            {
                Assert.Equal(1_000_000, goal.PriceUpper);
                Assert.False(text.Success);
                continue;
            }
            // The larger of two distinct candidates: never the first one.
            Assert.Contains(goal.PriceUpper, candidates[1..]);
            Assert.Equal(goal.PriceUpper, double.Parse(text.Groups[1].Value));
        }
    }

    [Fact]
    public void Price_ceiling_draw_covers_the_second_to_fourth_candidates()
    {
        var random = new WebShopRandom(3, "test");
        var seen = Enumerable.Range(0, 300).Select(_ => random.DrawPriceUpper(12.5).PriceUpper).ToHashSet();
        Assert.Equal([30.0, 40.0, 50.0], seen.Order());
        Assert.Equal((1_000_000.0, ""), random.DrawPriceUpper(985));
        Assert.Equal((990.0, ", and price lower than 990.00 dollars"), random.DrawPriceUpper(975));
    }

    [Fact]
    public void Neighbours_of_a_target_earn_partial_reward_and_the_bare_query_rarely_singles_it_out()
    {
        WebShopCatalog catalog = Default.Value;
        ILookup<string, WebShopProduct> byQuery = catalog.Products.ToLookup(p => p.Query);
        int withPartialNeighbour = 0, targetFirstForQuery = 0, targetInTopTenForInstruction = 0;
        foreach (WebShopGoal goal in catalog.Goals.Take(300))
        {
            WebShopProduct target = catalog.FindProduct(goal.Asin)!;
            bool partial = byQuery[goal.Query].Where(p => p.Asin != goal.Asin).Any(neighbour =>
            {
                double reward = WebShopReward.Compute(goal, neighbour, GoalSelection(goal, neighbour), neighbour.Price).Reward;
                return reward is > 0.3 and < 1.0;
            });
            withPartialNeighbour += partial ? 1 : 0;
            targetFirstForQuery += catalog.Search.Search(goal.Query, 1)[0].Asin == goal.Asin ? 1 : 0;
            targetInTopTenForInstruction += catalog.Search.Search(goal.InstructionText, 10).Any(p => p.Asin == goal.Asin) ? 1 : 0;
        }
        Assert.True(withPartialNeighbour > 270, $"{withPartialNeighbour} of 300 goals have a neighbour with partial reward");
        Assert.True(targetFirstForQuery < 60, $"the bare query puts the target first for {targetFirstForQuery} of 300 goals");
        Assert.True(targetInTopTenForInstruction > 60, $"the instruction finds the target in the top 10 for {targetInTopTenForInstruction} of 300 goals");
    }

    [Fact]
    public void Small_catalogs_keep_a_train_split_and_bad_options_are_rejected()
    {
        WebShopCatalog small = WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { ProductCount = 10, TestGoalCount = 200 });
        Assert.Equal(10, small.Products.Count);
        Assert.Equal(small.Goals.Count / 2, small.TestGoalIndices.Count);
        Assert.NotEmpty(small.TrainGoalIndices);
        Assert.Throws<ArgumentOutOfRangeException>(() => WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { ProductCount = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { TestGoalCount = -1 }));
    }

    private static string Fingerprint(WebShopCatalog catalog) => string.Join("\n",
        catalog.Products.Select(p => $"{p.Asin}|{p.Title}|{p.Query}|{p.Description}|{string.Join(";", p.BulletPoints)}|{string.Join(",", p.Pricing)}|{p.Price:R}|{string.Join(";", p.Options.Select(o => o.Name + "=" + string.Join(",", o.Values)))}|{string.Join(",", p.Attributes)}")
            .Concat(catalog.Goals.Select(g => $"{g.Index}|{g.Asin}|{g.InstructionText}|{string.Join(",", g.Attributes)}|{string.Join(",", g.GoalOptions)}|{g.PriceUpper}"))
            .Concat(catalog.TestGoalIndices.Select(i => i.ToString())));
}

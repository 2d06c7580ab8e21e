using System.Text.RegularExpressions;
using OnnxCoEvo.Agents.Environments.WebShop;
using OnnxCoEvo.Core;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.WebShopEngine;

public sealed partial class WebShopFileLoaderTests
{
    private const string Products = """
        [
          {"asin": "B000000001", "name": "Acme Lavender Shampoo", "full_description": "Gentle shampoo.",
           "small_description": ["Sulfate free", "Salon quality"], "pricing": "$12.99", "images": ["a.jpg"], "brand": "Acme",
           "category": "beauty", "query": "  Shampoo ", "product_category": "Beauty › Hair Care › Shampoos",
           "customization_options": {"Size": [{"value": " 8 fl oz", "image": null}, {"value": "16 FL OZ/Pack of 2", "image": "b.jpg"}], "Color": null}},
          {"asin": "B000000002", "name": "Zen Candle", "full_description": null, "small_description": "One bullet",
           "pricing": "$10.00 - $20.50", "category": "garden", "query": "candle", "product_category": "Home › Candles",
           "customization_options": null},
          {"asin": "nan", "name": "skipped", "category": "x", "query": "x", "product_category": "x"},
          {"asin": "B0000000011234", "name": "skipped, asin too long", "category": "x", "query": "x", "product_category": "x"},
          {"asin": "B000000001", "name": "skipped duplicate", "category": "x", "query": "x", "product_category": "x"},
          {"asin": "B000000003", "name": "Plain Mug", "full_description": "", "small_description": [], "pricing": "",
           "category": "kitchen", "query": "mug", "product_category": "Home › Kitchen › Mugs", "customization_options": {}}
        ]
        """;

    private const string Attributes = """
        {
          "B000000001": {"attributes": ["sulfate free", "long lasting"], "instruction": "i need a sulfate free shampoo", "instruction_attributes": ["sulfate free"]},
          "B000000002": {"attributes": ["soy wax"]},
          "B000000003": {"instruction": "a mug", "instruction_attributes": []}
        }
        """;

    private const string HumanGoals = """
        {
          "B000000001": [
            {"instruction": "I want lavender shampoo.", "instruction_attributes": ["lavender"], "instruction_options": ["16 fl oz"]},
            {"instruction": "skipped: no attributes", "instruction_attributes": [], "instruction_options": []}
          ],
          "B000000002": [{"instruction": "a soy candle", "instruction_attributes": ["soy wax"], "instruction_options": {"size": "large"}}],
          "B000000999": [{"instruction": "not a loaded product", "instruction_attributes": ["x"], "instruction_options": []}]
        }
        """;

    [GeneratedRegex(@", and price lower than (\d+)\.00 dollars$")]
    private static partial Regex PriceText();

    private static TempDirectory Directory(string products = Products, string attributes = Attributes, string? human = null,
        string productsName = WebShopFileLoader.SmallProductsFile, string attributesName = WebShopFileLoader.SmallAttributesFile)
    {
        var directory = new TempDirectory();
        directory.Write(productsName, products);
        directory.Write(attributesName, attributes);
        if (human is not null)
            directory.Write(WebShopFileLoader.HumanGoalsFile, human);
        return directory;
    }

    [Fact]
    public void Products_are_parsed_as_webshop_loads_them()
    {
        using TempDirectory directory = Directory();
        WebShopCatalog catalog = WebShopFileLoader.Load(directory.Path, seed: 1);
        Assert.Equal(["B000000001", "B000000002", "B000000003"], catalog.Products.Select(p => p.Asin));

        WebShopProduct shampoo = catalog.Products[0];
        Assert.Equal(("Acme Lavender Shampoo", "beauty", "shampoo", "Beauty › Hair Care › Shampoos"),
            (shampoo.Title, shampoo.Category, shampoo.Query, shampoo.ProductCategory));
        Assert.Equal("Gentle shampoo.", shampoo.Description);
        Assert.Equal(["Sulfate free", "Salon quality"], shampoo.BulletPoints);
        Assert.Equal([12.99], shampoo.Pricing);
        Assert.Equal(12.99, shampoo.Price);
        Assert.Equal("$12.99", shampoo.PriceTag);
        WebShopOptionGroup size = Assert.Single(shampoo.Options);
        Assert.Equal("size", size.Name);
        Assert.Equal(["8 fl oz", "16 fl oz | pack of 2"], size.Values);
        Assert.Equal(["sulfate free", "long lasting"], shampoo.Attributes);

        WebShopProduct candle = catalog.Products[1];
        Assert.Equal("", candle.Description);
        Assert.Equal(["One bullet"], candle.BulletPoints);
        Assert.Equal([10.0, 20.5], candle.Pricing);
        Assert.InRange(candle.Price, 10.0, 20.5);
        Assert.Equal("$10.0 to $20.5", candle.PriceTag);
        Assert.Empty(candle.Options);
        Assert.Equal(["soy wax"], candle.Attributes);

        WebShopProduct mug = catalog.Products[2];
        Assert.Equal([100.0], mug.Pricing);
        Assert.Equal(100.0, mug.Price);
        Assert.Empty(mug.BulletPoints);
        Assert.Equal([WebShopFileLoader.DummyAttribute], mug.Attributes);
        Assert.Equal(Path.GetFullPath(directory.Path), catalog.Source);
    }

    [Fact]
    public void Without_human_goals_each_option_combination_of_an_instructed_product_is_a_goal()
    {
        using TempDirectory directory = Directory();
        WebShopCatalog catalog = WebShopFileLoader.Load(directory.Path, seed: 1);
        // Only the shampoo has an instruction with attributes; its one option group has two values.
        Assert.Equal(2, catalog.Goals.Count);
        Assert.All(catalog.Goals, goal =>
        {
            Assert.Equal("B000000001", goal.Asin);
            Assert.Equal(["sulfate free"], goal.Attributes);
            Assert.Equal(0.5, goal.Weight); // the attribute is named by two goals
            Assert.Equal("Acme Lavender Shampoo", goal.Name);
            Match price = PriceText().Match(goal.InstructionText);
            Assert.True(price.Success, goal.InstructionText);
            Assert.Contains(goal.PriceUpper, new[] { 30.0, 40.0, 50.0 });
            Assert.Equal(goal.PriceUpper, double.Parse(price.Groups[1].Value));
        });
        Assert.Equal(["i need a sulfate free shampoo with size: 16 fl oz | pack of 2", "i need a sulfate free shampoo with size: 8 fl oz"],
            catalog.Goals.Select(goal => PriceText().Replace(goal.InstructionText, "")).Order());
        Assert.Equal([["16 fl oz | pack of 2"], ["8 fl oz"]], catalog.Goals.Select(goal => goal.GoalOptions.ToArray()).OrderBy(o => o[0]));
        Assert.Empty(catalog.TestGoalIndices); // min(500, 2 / 4)
        Assert.Equal([0], WebShopFileLoader.Load(directory.Path, 1, testGoalCount: 1).TestGoalIndices);
    }

    [Fact]
    public void Human_goals_take_the_instruction_without_dots_and_add_the_price_text()
    {
        using TempDirectory directory = Directory(human: HumanGoals);
        WebShopCatalog catalog = WebShopFileLoader.Load(directory.Path, seed: 3);
        Assert.Equal(2, catalog.Goals.Count);
        WebShopGoal shampoo = catalog.Goals.Single(goal => goal.Asin == "B000000001");
        Assert.StartsWith("I want lavender shampoo, and price lower than ", shampoo.InstructionText);
        Assert.Equal(["lavender"], shampoo.Attributes);
        Assert.Equal(["16 fl oz"], shampoo.GoalOptions);
        Assert.Equal(1.0, shampoo.Weight);
        WebShopGoal candle = catalog.Goals.Single(goal => goal.Asin == "B000000002");
        Assert.Equal(["large"], candle.GoalOptions);
        Assert.Equal("candle", candle.Query);
        Assert.Equal(candle.PriceUpper, double.Parse(PriceText().Match(candle.InstructionText).Groups[1].Value));
    }

    [Fact]
    public void The_seed_decides_range_prices_thresholds_and_goal_order()
    {
        using TempDirectory directory = Directory(human: HumanGoals);
        WebShopCatalog first = WebShopFileLoader.Load(directory.Path, seed: 5);
        WebShopCatalog again = WebShopFileLoader.Load(directory.Path, seed: 5);
        Assert.Equal(first.Products[1].Price, again.Products[1].Price);
        Assert.Equal(first.Goals.Select(g => g.InstructionText), again.Goals.Select(g => g.InstructionText));
        double[] prices = Enumerable.Range(0, 8).Select(seed => WebShopFileLoader.Load(directory.Path, (ulong)seed).Products[1].Price).ToArray();
        Assert.True(prices.Distinct().Count() > 1);
    }

    [Fact]
    public void The_full_variant_is_detected_when_the_small_one_is_absent()
    {
        using TempDirectory directory = Directory(productsName: WebShopFileLoader.FullProductsFile, attributesName: WebShopFileLoader.FullAttributesFile);
        Assert.Equal(3, WebShopFileLoader.Load(directory.Path).Products.Count);
    }

    [Fact]
    public void Missing_files_are_named()
    {
        using var empty = new TempDirectory();
        var none = Assert.Throws<FileNotFoundException>(() => WebShopFileLoader.Load(empty.Path));
        Assert.Contains(WebShopFileLoader.SmallProductsFile, none.Message);
        Assert.Contains(WebShopFileLoader.FullAttributesFile, none.Message);
        Assert.Contains(empty.Path, none.Message);

        empty.Write(WebShopFileLoader.SmallProductsFile, Products);
        var half = Assert.Throws<FileNotFoundException>(() => WebShopFileLoader.Load(empty.Path));
        Assert.Contains($"{WebShopFileLoader.SmallAttributesFile} is missing", half.Message);

        var nowhere = Assert.Throws<DirectoryNotFoundException>(() => WebShopFileLoader.Load(Path.Combine(empty.Path, "absent")));
        Assert.Contains(WebShopFileLoader.SmallProductsFile, nowhere.Message);
    }

    [Theory]
    [InlineData("""[{"asin": "B000000001", "name": 5, "category": "c", "query": "q", "product_category": "p"}]""", "$[0].name")]
    [InlineData("""[{"name": "n", "category": "c", "query": "q", "product_category": "p"}]""", "$[0]")]
    [InlineData("""[{"asin": "B000000001", "name": "n", "category": "c", "query": "q", "product_category": "p", "pricing": "$abc"}]""", "$[0].pricing")]
    [InlineData("""[{"asin": "B000000001", "name": "n", "category": "c", "query": "q", "product_category": "p", "pricing": "12.99"}]""", "$[0].pricing")]
    [InlineData("""[{"asin": "B000000001", "name": "n", "category": "c", "query": "q", "product_category": "p", "small_description": [1]}]""", "$[0].small_description")]
    [InlineData("""[{"asin": "B000000001", "name": "n", "category": "c", "query": "q", "product_category": "p", "customization_options": {"Size": [{"value": 3}]}}]""", "$[0].customization_options[\"Size\"][0].value")]
    [InlineData("""{"asin": "B000000001"}""", "$")]
    public void Bad_product_fields_are_reported_at_their_json_path(string products, string position)
    {
        using TempDirectory directory = Directory(products: products);
        var error = Assert.Throws<DataFormatException>(() => WebShopFileLoader.Load(directory.Path));
        Assert.Equal(directory.File(WebShopFileLoader.SmallProductsFile), error.FilePath);
        Assert.Equal(position, error.Position);
    }

    [Fact]
    public void Bad_attribute_and_goal_files_are_reported_with_file_and_path()
    {
        using TempDirectory badAttributes = Directory(attributes: """{"B000000001": {"attributes": "sulfate free"}}""");
        var attributeError = Assert.Throws<DataFormatException>(() => WebShopFileLoader.Load(badAttributes.Path));
        Assert.Equal(badAttributes.File(WebShopFileLoader.SmallAttributesFile), attributeError.FilePath);
        Assert.Equal("$[\"B000000001\"].attributes", attributeError.Position);

        using TempDirectory badGoals = Directory(human: """{"B000000002": [{"instruction": 7, "instruction_attributes": ["soy wax"]}]}""");
        var goalError = Assert.Throws<DataFormatException>(() => WebShopFileLoader.Load(badGoals.Path));
        Assert.Equal(badGoals.File(WebShopFileLoader.HumanGoalsFile), goalError.FilePath);
        Assert.Equal("$.B000000002[0].instruction", goalError.Position);

        using TempDirectory malformed = Directory(products: "[{\"asin\": ");
        var syntax = Assert.Throws<DataFormatException>(() => WebShopFileLoader.Load(malformed.Path));
        Assert.Equal(malformed.File(WebShopFileLoader.SmallProductsFile), syntax.FilePath);
        Assert.Contains("not valid JSON", syntax.Problem);
    }
}

using OnnxCoEvo.Agents.Environments.WebShop;

namespace OnnxCoEvo.Tests.Agents.WebShopEnv;

public sealed class WebShopPagesTests
{
    private const string Instruction = WebShopTestCatalog.ShampooInstruction;
    private const string Heading = "Instruction: [SEP] " + Instruction + " [SEP] Back to Search";

    [Fact]
    public void SearchPageIsWebShopsStartPage()
    {
        WebShopPage page = WebShopPages.Search(Instruction);
        Assert.Equal("WebShop [SEP] Instruction: [SEP] " + Instruction + " [SEP] Search", page.Text);
        Assert.True(page.HasSearchBar);
        Assert.Equal(["search"], page.Clickables);
    }

    [Fact]
    public void ResultsPageListsAsinTitlePriceTriplesWithRangePrices()
    {
        WebShopPage page = WebShopPages.Results(Instruction, [WebShopTestCatalog.Shampoo, WebShopTestCatalog.Conditioner], 1);
        Assert.Equal(Heading + " [SEP] Page 1 (Total results: 2) [SEP] B0SHAMP001 [SEP] Meadowleaf Sulfate Free Shampoo for Dry Hair [SEP] $12.99"
            + " [SEP] B0COND0002 [SEP] Meadowleaf Conditioner with Argan Oil [SEP] $9.5 to $14.0", page.Text);
        Assert.False(page.HasSearchBar);
        Assert.Equal(["back to search", "b0shamp001", "b0cond0002"], page.Clickables);
        Assert.Equal(new WebShopClickTarget(WebShopClickKind.Product, "B0SHAMP001"), page.Target("b0shamp001"));
    }

    [Theory]
    [InlineData(1, false, true, 10)]
    [InlineData(2, true, true, 10)]
    [InlineData(3, true, false, 3)]
    public void ResultsPagesShowTenProductsAndPagingButtonsOnlyWhereTheyLead(int page, bool previous, bool next, int shown)
    {
        WebShopProduct[] widgets = Enumerable.Range(1, WebShopTestCatalog.WidgetCount).Select(WebShopTestCatalog.Widget).ToArray();
        WebShopPage rendered = WebShopPages.Results(Instruction, widgets, page);
        string expectedStart = Heading + $" [SEP] Page {page} (Total results: 23)" + (previous ? " [SEP] < Prev" : "") + (next ? " [SEP] Next >" : "")
            + $" [SEP] {widgets[(page - 1) * 10].Asin} [SEP] ";
        Assert.StartsWith(expectedStart, rendered.Text);
        Assert.EndsWith($"{widgets[(page - 1) * 10 + shown - 1].Asin} [SEP] {widgets[(page - 1) * 10 + shown - 1].Title} [SEP] {widgets[(page - 1) * 10 + shown - 1].PriceTag}", rendered.Text);
        string[] buttons = [.. new[] { "back to search" }, .. previous ? ["< prev"] : Array.Empty<string>(), .. next ? ["next >"] : Array.Empty<string>()];
        Assert.Equal(buttons.Concat(widgets.Skip((page - 1) * 10).Take(shown).Select(w => w.Asin.ToLowerInvariant())), rendered.Clickables);
    }

    [Fact]
    public void ItemPageShowsOptionGroupsTitlePriceRatingAndButtons()
    {
        WebShopPage page = WebShopPages.Item(Instruction, WebShopTestCatalog.Shampoo);
        Assert.Equal(Heading + " [SEP] < Prev [SEP] size [SEP] 8 fl oz [SEP] 16 fl oz [SEP] scent [SEP] lavender [SEP] mint | eucalyptus"
            + " [SEP] Meadowleaf Sulfate Free Shampoo for Dry Hair [SEP] Price: $12.99 [SEP] Rating: N.A."
            + " [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now", page.Text);
        // WebShop's order: buttons first, then the radio options.
        Assert.Equal(["back to search", "< prev", "description", "features", "reviews", "buy now", "8 fl oz", "16 fl oz", "lavender", "mint | eucalyptus"], page.Clickables);
        Assert.Equal(new WebShopClickTarget(WebShopClickKind.Option, "16 fl oz", "size"), page.Target("16 fl oz"));
        Assert.Null(page.Target("next >"));
    }

    [Fact]
    public void SubPagesShowTheirTextsStripped()
    {
        WebShopProduct shampoo = WebShopTestCatalog.Shampoo;
        Assert.Equal(Heading + " [SEP] < Prev [SEP] A gentle daily shampoo with lavender oil.", WebShopPages.SubPage(Instruction, shampoo, WebShopPageKind.Description).Text);
        Assert.Equal(Heading + " [SEP] < Prev [SEP] Sulfate free formula [SEP] Made with natural oils", WebShopPages.SubPage(Instruction, shampoo, WebShopPageKind.Features).Text);
        Assert.Equal(Heading + " [SEP] < Prev [SEP] Leaves my hair soft. [SEP] Nice smell.", WebShopPages.SubPage(Instruction, shampoo, WebShopPageKind.Reviews).Text);
        WebShopPage empty = WebShopPages.SubPage(Instruction, WebShopTestCatalog.Conditioner, WebShopPageKind.Description);
        Assert.Equal(Heading + " [SEP] < Prev", empty.Text);
        Assert.Equal(["back to search", "< prev"], empty.Clickables);
        Assert.Throws<ArgumentException>(() => WebShopPages.SubPage(Instruction, shampoo, WebShopPageKind.Item));
    }

    [Fact]
    public void DonePageCarriesThankYouPurchaseAndScore()
    {
        var options = new Dictionary<string, string> { ["size"] = "16 fl oz", ["scent"] = "lavender" };
        WebShopPage page = WebShopPages.Done(WebShopTestCatalog.ShampooAsin, options, 1.0);
        Assert.Equal("Thank you for shopping with us! [SEP] Your code: [SEP] None [SEP] (Paste it in your MTurk interface.) [SEP] Purchased"
            + " [SEP] asin [SEP] B0SHAMP001 [SEP] options [SEP] {\"scent\": \"lavender\", \"size\": \"16 fl oz\"} [SEP] attrs [SEP] None"
            + " [SEP] category [SEP] None [SEP] query [SEP] None [SEP] product category [SEP] None [SEP] Target [SEP] asin [SEP] options"
            + " [SEP] attrs [SEP] price upper [SEP] instuction text [SEP] category [SEP] product category [SEP] query [SEP] Goal [SEP] None"
            + " [SEP] Reward [SEP] Your score (min 0.0, max 1.0) [SEP] 1.0 [SEP] Reward Details [SEP] None", page.Text);
        Assert.Empty(page.Clickables);
        Assert.False(page.HasSearchBar);
        Assert.EndsWith("[SEP] 0.6666666666666666 [SEP] Reward Details [SEP] None", WebShopPages.Done("B0X", options, 2.0 / 3).Text);
    }

    [Fact]
    public void OptionsJsonEscapesLikeFlaskTojson()
    {
        Assert.Equal("{}", WebShopPages.OptionsJson(new Dictionary<string, string>()));
        Assert.Equal("{\"color\": \"men\\u0027s \\u003cred\\u003e \\u0026 \\\"blue\\\" caf\\u00e9\"}",
            WebShopPages.OptionsJson(new Dictionary<string, string> { ["color"] = "men's <red> & \"blue\" café" }));
    }

    [Fact]
    public void ReaderRecoversPageKindsListingsAndItemTitle()
    {
        WebShopProduct[] widgets = Enumerable.Range(1, WebShopTestCatalog.WidgetCount).Select(WebShopTestCatalog.Widget).ToArray();
        WebShopPageView results = WebShopPageReader.Read(WebShopPages.Results(Instruction, widgets, 2).Text);
        Assert.Equal(WebShopPageKind.Results, results.Kind);
        Assert.Equal((2, 23, true, true), (results.PageNumber, results.TotalResults, results.HasPrevious, results.HasNext));
        Assert.Equal(widgets.Skip(10).Take(10).Select(w => new WebShopListing(w.Asin, w.Title, w.PriceTag)), results.Listings);
        Assert.Equal(Instruction, results.Instruction);

        WebShopPageView item = WebShopPageReader.Read(WebShopPages.Item(Instruction, WebShopTestCatalog.Shampoo).Text);
        Assert.Equal((WebShopPageKind.Item, WebShopTestCatalog.Shampoo.Title), (item.Kind, item.ItemTitle));
        Assert.Equal(WebShopPageKind.Search, WebShopPageReader.Read(WebShopPages.Search(Instruction).Text).Kind);
        Assert.Equal(WebShopPageKind.Description, WebShopPageReader.Read(WebShopPages.SubPage(Instruction, WebShopTestCatalog.Shampoo, WebShopPageKind.Reviews).Text).Kind);
        Assert.Equal(WebShopPageKind.Done, WebShopPageReader.Read(WebShopPages.Done("B0X", new Dictionary<string, string>(), 0).Text).Kind);
        Assert.False(WebShopPageReader.Read("Nothing happened.").IsKnown);
        Assert.Equal(9.5, new WebShopListing("B0X", "t", "$9.5 to $14.0").LowestPrice);
    }

    [Fact]
    public void ReaderStripsObservationPrefixAndTaskIntroduction()
    {
        string page = WebShopPages.Search(Instruction).Text;
        Assert.Equal(page, WebShopPageReader.StripPrefixes("Observation:\n" + page));
        Assert.Equal(page, WebShopPageReader.StripPrefixes("Now, it's your turn and here is the task.\n" + page));
        Assert.Equal(page, WebShopPageReader.StripPrefixes(page));
    }
}

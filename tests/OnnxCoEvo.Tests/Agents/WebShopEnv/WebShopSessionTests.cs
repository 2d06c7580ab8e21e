using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.WebShop;

namespace OnnxCoEvo.Tests.Agents.WebShopEnv;

public sealed class WebShopSessionTests
{
    private static readonly WebShopCatalog Catalog = WebShopTestCatalog.Create();
    private static readonly EnvironmentTask ShampooTask = new("webshop", 0, EnvironmentSplits.Train);
    private const string Instruction = WebShopTestCatalog.ShampooInstruction;

    private static async Task<WebShopSession> StartAsync()
    {
        var session = new WebShopSession(Catalog);
        await session.ResetAsync(ShampooTask);
        return session;
    }

    private static string ResultsText(string keywords, int page) =>
        WebShopPages.Results(Instruction, Catalog.Search.Search(keywords, 50), page).Text;

    [Fact]
    public async Task ResetShowsTheSearchPageOfTheTasksGoal()
    {
        await using var session = new WebShopSession(Catalog);
        string first = await session.ResetAsync(ShampooTask);
        Assert.Equal("WebShop [SEP] Instruction: [SEP] " + Instruction + " [SEP] Search", first);
        Assert.Equal(first, await session.ObservationAsync());
        Assert.True((await session.AvailableActionsAsync()).HasSearchBar);
        Assert.Equal(["search"], (await session.AvailableActionsAsync()).Commands);
        Assert.Same(Catalog.Goals[0], session.Goal);
        Assert.Equal(ShampooTask, session.Task);
    }

    [Fact]
    public async Task SearchShowsTheFirstResultsPageWithTheTargetOnTop()
    {
        await using WebShopSession session = await StartAsync();
        StepResult result = await session.StepAsync("search[sulfate free shampoo]");
        Assert.Equal((0.0, false), (result.Reward, result.Done));
        Assert.Equal(ResultsText("sulfate free shampoo", 1), result.Observation);
        Assert.StartsWith("Instruction: [SEP] " + Instruction + " [SEP] Back to Search [SEP] Page 1 (Total results: ", result.Observation);
        Assert.Contains("[SEP] B0SHAMP001 [SEP] Meadowleaf Sulfate Free Shampoo for Dry Hair [SEP] $12.99", result.Observation);
        ActionSpace actions = await session.AvailableActionsAsync();
        Assert.False(actions.HasSearchBar);
        Assert.Equal("back to search", actions.Commands[0]);
        Assert.Contains("b0shamp001", actions.Commands);
    }

    [Fact]
    public async Task NextAndPrevWalkTheResultsPagesAndStopAtTheEnds()
    {
        await using WebShopSession session = await StartAsync();
        string page1 = (await session.StepAsync("search[widget]")).Observation;
        Assert.Equal(ResultsText("widget", 1), page1);
        Assert.Contains("(Total results: 23) [SEP] Next > [SEP] ", page1);
        string page2 = (await session.StepAsync("click[Next >]")).Observation;
        Assert.Equal(ResultsText("widget", 2), page2);
        Assert.Contains("Page 2 (Total results: 23) [SEP] < Prev [SEP] Next > [SEP] ", page2);
        string page3 = (await session.StepAsync("click[next >]")).Observation;
        Assert.Equal(ResultsText("widget", 3), page3);
        Assert.DoesNotContain("Next >", page3);
        Assert.Equal(page3, (await session.StepAsync("click[Next >]")).Observation);
        Assert.Equal(page2, (await session.StepAsync("click[< Prev]")).Observation);
        Assert.Equal(page1, (await session.StepAsync("click[< Prev]")).Observation);
        Assert.Equal(page1, (await session.StepAsync("click[< Prev]")).Observation);
    }

    [Fact]
    public async Task PrevFromAnItemReturnsToTheResultsPageItCameFrom()
    {
        await using WebShopSession session = await StartAsync();
        await session.StepAsync("search[widget]");
        string page2 = (await session.StepAsync("click[Next >]")).Observation;
        string asin = WebShopPageReader.Read(page2).Listings[3].Asin;
        string item = (await session.StepAsync($"click[{asin}]")).Observation;
        Assert.Equal(WebShopPages.Item(Instruction, Catalog.FindProduct(asin)!).Text, item);
        Assert.Equal(WebShopPageKind.Item, session.Page!.Kind);
        Assert.Equal(page2, (await session.StepAsync("click[< Prev]")).Observation);
    }

    [Fact]
    public async Task OptionsAreSelectedOnePerGroupAndKeptAcrossSubPages()
    {
        await using WebShopSession session = await StartAsync();
        await session.StepAsync("search[sulfate free shampoo]");
        string item = (await session.StepAsync("click[B0SHAMP001]")).Observation;
        Assert.Equal(WebShopPages.Item(Instruction, WebShopTestCatalog.Shampoo).Text, item);
        Assert.Equal(item, (await session.StepAsync("click[8 fl oz]")).Observation);
        Assert.Equal(item, (await session.StepAsync("click[16 FL OZ]")).Observation);
        Assert.Equal(item, (await session.StepAsync("click[mint | eucalyptus]")).Observation);
        Assert.Equal(new Dictionary<string, string> { ["size"] = "16 fl oz", ["scent"] = "mint | eucalyptus" }, session.SelectedOptions);

        string features = (await session.StepAsync("click[Features]")).Observation;
        Assert.Equal(WebShopPages.SubPage(Instruction, WebShopTestCatalog.Shampoo, WebShopPageKind.Features).Text, features);
        Assert.Equal(["back to search", "< prev"], (await session.AvailableActionsAsync()).Commands);
        Assert.Equal(item, (await session.StepAsync("click[< Prev]")).Observation);
        Assert.Equal(2, session.SelectedOptions.Count);
        Assert.Equal(WebShopPages.SubPage(Instruction, WebShopTestCatalog.Shampoo, WebShopPageKind.Reviews).Text, (await session.StepAsync("click[Reviews]")).Observation);
        Assert.Equal(item, (await session.StepAsync("click[< prev]")).Observation);

        // Back on the results page WebShop starts the options over; Back to Search keeps the goal.
        await session.StepAsync("click[< Prev]");
        Assert.Empty(session.SelectedOptions);
        await session.StepAsync("click[B0SHAMP001]");
        await session.StepAsync("click[lavender]");
        string search = (await session.StepAsync("click[Back to Search]")).Observation;
        Assert.Equal("WebShop [SEP] Instruction: [SEP] " + Instruction + " [SEP] Search", search);
        Assert.Empty(session.SelectedOptions);
        Assert.True((await session.AvailableActionsAsync()).HasSearchBar);
    }

    [Theory]
    [InlineData("click[nothing here]")]
    [InlineData("click[search]")]
    [InlineData("click[]")]
    [InlineData("buy now")]
    [InlineData("Click[Buy Now]")]
    [InlineData("Search[shampoo]")]
    [InlineData("search[]")]
    [InlineData("click[Next >]")]
    [InlineData("")]
    public async Task InvalidActionsLeaveThePageAsItIs(string action)
    {
        await using WebShopSession session = await StartAsync();
        await session.StepAsync("search[sulfate free shampoo]");
        string item = (await session.StepAsync("click[b0shamp001]")).Observation;
        StepResult result = await session.StepAsync(action);
        Assert.Equal((item, 0.0, false), (result.Observation, result.Reward, result.Done));
        Assert.Empty(session.SelectedOptions);
        Assert.Empty(result.Info);
    }

    [Fact]
    public async Task SearchWorksFromAnyPageAndIgnoresCase()
    {
        await using WebShopSession session = await StartAsync();
        await session.StepAsync("search[sulfate free shampoo]");
        await session.StepAsync("click[B0SHAMP001]");
        await session.StepAsync("click[Description]");
        StepResult result = await session.StepAsync("search[WIDGET]");
        Assert.Equal(ResultsText("widget", 1), result.Observation);
        // Text after the closing bracket is ignored, as by WebShop's re.match.
        Assert.Equal(ResultsText("widget", 1), (await session.StepAsync("search[Widget] please")).Observation);
    }

    [Fact]
    public async Task ReplayedActionsGiveIdenticalObservations()
    {
        string[] actions = ["search[widget]", "click[Next >]", "click[B0WIDG0013]", "click[Features]", "click[< Prev]", "click[< Prev]",
                            "click[Back to Search]", "search[lavender shampoo 16 fl oz]", "click[B0SHAMP001]", "click[16 fl oz]", "click[Buy Now]"];
        async Task<List<string>> PlayAsync(WebShopSession session)
        {
            var seen = new List<string> { await session.ResetAsync(ShampooTask) };
            foreach (string action in actions)
            {
                StepResult result = await session.StepAsync(action);
                seen.Add($"{result.Observation}|{result.Reward}|{result.Done}");
            }
            return seen;
        }
        await using var first = new WebShopSession(Catalog);
        await using var second = new WebShopSession(new WebShopCatalog(Catalog.Products, Catalog.Goals, new HashSet<int> { 1 }, "copy"));
        List<string> once = await PlayAsync(first);
        Assert.Equal(once, await PlayAsync(second));
        Assert.Equal(once, await PlayAsync(first));
        Assert.EndsWith("|True", once[^1]);
    }

    [Fact]
    public async Task BuyNowEndsWithWebShopsRewardAndBreakdown()
    {
        await using WebShopSession session = await StartAsync();
        await session.StepAsync("search[sulfate free shampoo]");
        await session.StepAsync("click[B0SHAMP001]");
        await session.StepAsync("click[16 fl oz]");
        await session.StepAsync("click[lavender]");
        var chosen = new Dictionary<string, string>(session.SelectedOptions);
        StepResult result = await session.StepAsync("click[Buy Now]");
        WebShopRewardBreakdown expected = WebShopReward.Compute(Catalog.Goals[0], WebShopTestCatalog.Shampoo, chosen, 12.99);
        Assert.True(result.Done);
        Assert.Equal(1.0, result.Reward);
        Assert.Equal(expected.Reward, result.Reward);
        Assert.Equal(expected.ToInfo().Keys.Order(), result.Info.Keys.Order());
        Assert.Contains("r_type", result.Info.Keys);
        Assert.Equal(WebShopPages.Done(WebShopTestCatalog.ShampooAsin, chosen, 1.0).Text, result.Observation);
        Assert.Equal(result.Observation, await session.ObservationAsync());
        Assert.False((await session.AvailableActionsAsync()).HasSearchBar);
        Assert.Empty((await session.AvailableActionsAsync()).Commands);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await session.StepAsync("search[shampoo]"));

        // A reset starts over; buying without the scent loses part of the reward.
        await session.ResetAsync(ShampooTask);
        await session.StepAsync("search[sulfate free shampoo]");
        await session.StepAsync("click[B0SHAMP001]");
        await session.StepAsync("click[16 fl oz]");
        StepResult partial = await session.StepAsync("click[Buy Now]");
        Assert.True(partial.Done);
        Assert.InRange(partial.Reward, 0.01, 0.99);
    }

    [Fact]
    public async Task SteppingBeforeResetOrOutsideTheGoalsFails()
    {
        await using var session = new WebShopSession(Catalog);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await session.StepAsync("search[x]"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await session.ObservationAsync());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await session.ResetAsync(new EnvironmentTask("webshop", 7, "train")));
    }
}

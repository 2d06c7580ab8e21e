using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.WebShop;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Tests.Agents.WebShopEnv;

public sealed class WebShopSuiteTests
{
    private static readonly WebShopEnvironmentSuite Suite = new(WebShopTestCatalog.Create());

    [Fact]
    public void SuiteServesTheCatalogsSplitsAndTasks()
    {
        Assert.Equal("webshop", Suite.Name);
        Assert.Equal(AgentGymDialect.WebShop, Suite.Dialect);
        Assert.Equal(["train", "test"], Suite.Splits);
        Assert.Equal([new EnvironmentTask("webshop", 0, "train")], Suite.Tasks("train"));
        Assert.Equal([new EnvironmentTask("webshop", 1, "test")], Suite.Tasks("test"));
        Assert.Equal("test", Suite.Task(1).Split);
        Assert.Equal("webshop_0", Suite.Task(0).Id);
        Assert.Throws<ArgumentOutOfRangeException>(() => Suite.Task(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Suite.Task(-1));
        ArgumentException unknown = Assert.Throws<ArgumentException>(() => Suite.Tasks("dev"));
        Assert.Contains("train, test", unknown.Message);
        Assert.IsType<WebShopSession>(Suite.CreateSession());
    }

    [Fact]
    public void ExpertOptionsAreCheckedAgainstTheFailureModes()
    {
        Assert.Equal(["vague_search", "wrong_search", "wrong_item", "missing_option", "over_budget", "dithering"], Suite.ExpertFailureModes.Keys);
        Assert.All(Suite.ExpertFailureModes.Values, rate => Assert.InRange(rate, 0.0, 1.0));
        Assert.Equal("expert:webshop", Suite.CreateExpert(new ExpertOptions()).Name);
        ArgumentException unknown = Assert.Throws<ArgumentException>(() => Suite.CreateExpert(new ExpertOptions { FailureRates = new Dictionary<string, double> { ["early_submit"] = 0.5 } }));
        Assert.Contains("vague_search", unknown.Message);
        Assert.Throws<ArgumentException>(() => new WebShopExpert(Suite.Catalog, new Dictionary<string, double>(), 0));
    }

    [Fact]
    public void ProtocolFollowsEtosWebShopHarness()
    {
        ReActProtocol protocol = Suite.Protocol;
        Assert.Equal("webshop", protocol.Environment);
        Assert.Equal(10, protocol.MaxSteps);
        Assert.Equal("Observation:\n", protocol.ObservationPrefix);
        Assert.True(protocol.ZeroRewardOnTimeout);
        Assert.False(protocol.ShowAvailableActions);
        Assert.Contains("search[keywords]", protocol.Instruction);
        Assert.Contains("click[value]", protocol.Instruction);
        Assert.EndsWith("Thought: I think ...\nAction: click[something]", protocol.Instruction);
        Assert.Equal("Observation:\npage", protocol.FormatObservation("page", new ActionSpace(true, ["search"])));
    }

    [Fact]
    public void ExampleIsASuccessfulEpisodeInOurPageFormat()
    {
        IReadOnlyList<ChatMessage> example = Suite.Protocol.Example;
        Assert.True(example.Count >= 8 && example.Count % 2 == 0);
        for (int i = 0; i < example.Count; i++)
            Assert.Equal(i % 2 == 0 ? ChatRole.User : ChatRole.Assistant, example[i].Role);

        Assert.Equal(WebShopPageKind.Search, WebShopPageReader.Read(example[0].Content).Kind);
        WebShopPageKind?[] kinds = example.Where((_, i) => i % 2 == 0).Skip(1)
            .Select(m => { Assert.StartsWith("Observation:\n", m.Content); return WebShopPageReader.Read(WebShopPageReader.StripPrefixes(m.Content)).Kind; })
            .ToArray();
        Assert.Equal(WebShopPageKind.Results, kinds[0]);
        Assert.All(kinds.Skip(1), kind => Assert.Equal(WebShopPageKind.Item, kind));

        string[] actions = example.Where(m => m.Role == ChatRole.Assistant).Select(m => ReActParser.Parse(m.Content))
            .Select(step => { Assert.StartsWith("I think", step.Thought); return step.Action!; }).ToArray();
        Assert.StartsWith("search[", actions[0]);
        Assert.Equal("click[Buy Now]", actions[^1]);
        // The product clicked is listed on the results page, and each option clicked is on its item page.
        WebShopPageView results = WebShopPageReader.Read(WebShopPageReader.StripPrefixes(example[2].Content));
        Assert.Contains(results.Listings, l => $"click[{l.Asin}]" == actions[1]);
        foreach (string option in actions[2..^1])
            Assert.Contains(" [SEP] " + option["click[".Length..^1] + " [SEP] ", example[4].Content);
    }
}

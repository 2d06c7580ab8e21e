using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using static OnnxCoEvo.Tests.Agents.Recipes.Data.FakeTrajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Data;

public sealed class DecisionPracticeTests
{
    private static Trajectory Shop(string task, double reward) => Build(task, 1, reward) with
    {
        Turns =
        [
            ChatMessage.User("You are a customer in WebShop."),
            ChatMessage.Assistant("OK", loss: false),
            ChatMessage.User("WebShop [SEP] Instruction: [SEP] i want a red mug [SEP] Search"),
            ChatMessage.Assistant("Thought: I think I should search.\nAction: search[red mug]"),
            ChatMessage.User("Observation:\nPage 1 [SEP] Next > [SEP] B0A1N65E9H [SEP] Red Mug [SEP] $9.99"),
            ChatMessage.Assistant("Thought: I think B0A1N65E9H fits.\nAction: click[B0A1N65E9H]", loss: false),
            ChatMessage.User("Observation:\nRed Mug [SEP] color [SEP] red [SEP] Buy Now"),
            ChatMessage.Assistant("Thought: I think the color should be red.\nAction: click[red]"),
            ChatMessage.User("Observation:\nRed Mug [SEP] Buy Now"),
            ChatMessage.Assistant("Thought: I will buy it.\nAction: click[Buy Now]"),
        ],
    };

    [Fact]
    public void Each_id_click_of_a_success_becomes_a_sample_with_the_protocol_turns_and_its_page()
    {
        Trajectory success = Shop("webshop_7", 1.0);
        IReadOnlyList<Trajectory> samples = DecisionPractice.IdClicks([success, Shop("webshop_8", 0.75)]);

        Trajectory sample = Assert.Single(samples); // the failure's click may have chosen the wrong product
        Assert.Equal("webshop_7#step1", sample.TaskId);
        Assert.Equal([success.Turns[0], success.Turns[1], success.Turns[4]], sample.Turns.Take(3));
        // Trained even where the episode masked it (an EEF sample's loss flag): it is the expert's right choice.
        Assert.Equal(success.Turns[5] with { Loss = null }, sample.Turns[3]);
        Assert.True(sample.Turns[3].IsTrained);
        Assert.Equal(1, sample.Steps);
    }

    [Fact]
    public void Option_and_button_clicks_and_searches_are_not_id_clicks()
    {
        Trajectory noIdClick = Shop("webshop_9", 1.0) with
        {
            Turns = Shop("webshop_9", 1.0).Turns.Where((_, i) => i != 5).Take(7).ToList(),
        };
        Assert.Empty(DecisionPractice.IdClicks([noIdClick]));
    }
}

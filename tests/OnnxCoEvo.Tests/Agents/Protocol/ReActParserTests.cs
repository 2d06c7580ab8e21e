using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Tests.Agents.TestSupport;

namespace OnnxCoEvo.Tests.Agents.Protocol;

public sealed class ReActParserTests
{
    [Theory]
    [InlineData("Thought: I think I should search.\nAction: search[red mug]", "I think I should search.", "search[red mug]")]
    [InlineData("Thought:\nI think ...\n\nAction:\nclick[buy now]", "I think ...", "click[buy now]")]          // AgentGym's layout
    [InlineData("Action: go to fridge 1</s>", null, "go to fridge 1")]                                          // end marker dropped
    [InlineData("Thought: a\nAction: click[x]<|im_end|>", "a", "click[x]")]
    [InlineData("Thought: a\nAction: inc\nObservation: value 3", "a", "inc")]                                   // imagined observation cut
    [InlineData("Thought: Action: is a word\nAction: submit", "Action: is a word", "submit")]                   // the last Action: wins
    public void Parses_thought_and_action(string text, string? thought, string action)
    {
        ReActStep step = ReActParser.Parse(text);
        Assert.Equal(action, step.Action);
        Assert.Equal(thought, step.Thought);
        Assert.True(step.IsValid);
    }

    [Theory]
    [InlineData("Thought: I am not sure what to do.")]
    [InlineData("search[red mug]")]
    [InlineData("Thought: x\nAction:   \n")]
    [InlineData("Thought: x\nAction: </s>")]
    public void Turns_without_an_action_are_invalid(string text)
    {
        ReActStep step = ReActParser.Parse(text);
        Assert.False(step.IsValid);
        Assert.Null(step.Action);
    }

    [Fact]
    public void Format_round_trips_through_parse()
    {
        string text = ReActParser.Format("I think the second one fits.", "click[b0abc12345]");
        Assert.Equal("Thought: I think the second one fits.\nAction: click[b0abc12345]", text);
        Assert.Equal("click[b0abc12345]", ReActParser.Parse(text).Action);
    }

    [Fact]
    public void Conversation_starts_with_instruction_ok_and_first_observation_with_actions_listed()
    {
        var protocol = new CounterEnvironmentSuite().Protocol;
        IReadOnlyList<ChatMessage> start = protocol.StartConversation("value 0, target 3", new OnnxCoEvo.Agents.Environments.ActionSpace(false, ["inc", "dec"]));
        Assert.Equal(3, start.Count);
        Assert.Equal(protocol.Instruction, start[0].Content);
        Assert.Equal(ChatMessage.Assistant("OK", loss: false), start[1]);
        Assert.Equal("value 0, target 3\nAVAILABLE ACTIONS: inc,dec", start[2].Content);
        Assert.Equal("Observation: value 1\nAVAILABLE ACTIONS: inc", protocol.FormatObservation("value 1", new(false, ["inc"])));
        Assert.Equal("Observation: value 1", (protocol with { ShowAvailableActions = false }).FormatObservation("value 1", new(false, ["inc"])));
    }

    [Fact]
    public void Policy_view_inserts_the_example_and_introduces_the_task()
    {
        var protocol = new CounterEnvironmentSuite().Protocol;
        List<ChatMessage> turns = [.. protocol.StartConversation("value 0, target 2"), ChatMessage.Assistant("Thought: t\nAction: inc"), ChatMessage.User("Observation: value 1, target 2")];

        Assert.Same(turns, protocol.PolicyView(turns, includeExample: false));
        IReadOnlyList<ChatMessage> view = protocol.PolicyView(turns, includeExample: true);
        Assert.Equal(turns.Count + protocol.Example.Count, view.Count);
        Assert.Equal(turns[0], view[0]);
        Assert.Equal(turns[1], view[1]);
        Assert.Equal(protocol.Example, view.Skip(2).Take(protocol.Example.Count));
        Assert.Equal(ReActProtocol.TaskIntroduction + "value 0, target 2", view[2 + protocol.Example.Count].Content);
        Assert.Equal(turns[^1], view[^1]);
    }
}

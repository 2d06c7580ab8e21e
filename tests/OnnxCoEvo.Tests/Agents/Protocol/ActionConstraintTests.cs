using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.WebShop;
using OnnxCoEvo.Agents.Protocol;

namespace OnnxCoEvo.Tests.Agents.Protocol;

/// <summary>The ReAct action grammar of <see cref="ReActActionConstraint"/> and the choices WebShop and household give it.</summary>
public sealed class ActionConstraintTests
{
    private const string ResultsPage =
        "Observation:\nInstruction: [SEP] a red mug [SEP] Back to Search [SEP] Page 1 (Total results: 2) [SEP] Next > [SEP] " +
        "B0AB12CD39 [SEP] Red Ceramic Mug [SEP] $9.5 [SEP] B0ZZ77QQ01 [SEP] Blue Mug [SEP] $7.0";

    private static ReActActionConstraint Results() => new(ReActActionConstraint.WebShopChoices(
        new ActionSpace(false, ["back to search", "next >", "b0ab12cd39", "b0zz77qq01"]), ResultsPage));

    [Fact]
    public void The_thought_is_free_and_the_action_starts_with_the_space_of_the_trained_format()
    {
        ReActActionConstraint constraint = Results();
        Assert.Null(constraint.Continuations("Thought: I think the red one"));
        Assert.Equal([" click[Back to Search]", " click[Next >]", " click[B0AB12CD39]", " click[B0ZZ77QQ01]"],
            constraint.Continuations("Thought: x\nAction:"));
        Assert.Null(constraint.Continuations("Thought: x\nAction:\nclick[")); // a layout the grammar does not cover stays free
    }

    [Fact]
    public void Clicks_are_written_as_the_page_shows_them_and_narrow_as_the_id_is_typed()
    {
        ReActActionConstraint constraint = Results();
        Assert.Equal(["AB12CD39]", "ZZ77QQ01]"], constraint.Continuations("Action: click[B0"));
        Assert.Equal(["9]"], constraint.Continuations("Action: click[B0AB12CD3"));
        Assert.Equal([""], constraint.Continuations("Action: click[B0AB12CD39]"));
        Assert.Null(constraint.Continuations("Action: click[b0ab")); // lower case is not how the page writes it: no match, free
        Assert.Null(constraint.Continuations("Action: search[")); // no search bar on a results page
    }

    [Fact]
    public void Search_is_open_inside_its_brackets_and_the_search_button_is_not_a_click()
    {
        var constraint = new ReActActionConstraint(ReActActionConstraint.WebShopChoices(new ActionSpace(true, ["search"]),
            "WebShop [SEP] Instruction: [SEP] a red mug [SEP] Search"));
        Assert.Equal([" search["], constraint.Continuations("Thought: go\nAction:"));
        Assert.Null(constraint.Continuations("Thought: go\nAction: search[red m"));
        Assert.Equal([""], constraint.Continuations("Thought: go\nAction: search[red mug]"));
    }

    [Fact]
    public void A_command_that_prefixes_another_may_end_or_go_on()
    {
        var constraint = new ReActActionConstraint(ReActActionConstraint.CommandChoices(
            new ActionSpace(false, ["go to cabinet 1", "go to cabinet 10", "look"]), "Observation: You are in the middle of a room."));
        Assert.Equal(["0", ""], constraint.Continuations("Action: go to cabinet 1"));
        Assert.Equal([""], constraint.Continuations("Action: go to cabinet 10"));
        Assert.Equal([" cabinet 1", " cabinet 10"], constraint.Continuations("Action: go to"));
    }

    [Fact]
    public void The_built_in_protocols_carry_their_grammar_and_an_empty_one_is_refused()
    {
        Assert.NotNull(WebShopProtocol.Instance.ChoicesOf);
        Assert.NotNull(EnvironmentRegistry.Open("household").Protocol.ChoicesOf);
        Assert.Throws<ArgumentException>(() => new ReActActionConstraint(new ActionChoices([], [], "]", StringComparison.Ordinal)));
    }
}

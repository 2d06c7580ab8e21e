using OnnxCoEvo.Agents.Environments.Household;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.Household;

/// <summary>The rules and texts of one room, on a small hand-built kitchen with a desk lamp.</summary>
public sealed class HouseholdWorldTests
{
    private const string Nothing = "Nothing happened.";

    /// <summary>countertop 1 (apple 1, book 1, knife 1, desklamp 1), countertop 2 (empty), fridge 1 (egg 1), microwave 1, sinkbasin 1, cabinet 1 (empty).</summary>
    internal static HouseholdLayout Kitchen()
    {
        string[] names = ["cabinet 1", "countertop 1", "countertop 2", "fridge 1", "microwave 1", "sinkbasin 1"];
        PlacedReceptacle[] receptacles = names.Select(n => new PlacedReceptacle(n, HouseholdCatalog.Receptacles[n[..n.IndexOf(' ')]])).ToArray();
        PlacedObject[] objects =
        [
            new("apple 1", HouseholdCatalog.Objects["apple"], 1),
            new("book 1", HouseholdCatalog.Objects["book"], 1),
            new("desklamp 1", HouseholdCatalog.Objects["desklamp"], 1),
            new("egg 1", HouseholdCatalog.Objects["egg"], 3),
            new("knife 1", HouseholdCatalog.Objects["knife"], 1),
        ];
        return new HouseholdLayout(0, HouseholdCatalog.Rooms[0], receptacles, objects);
    }

    [Fact]
    public void Room_description_and_receptacle_texts_follow_alfworld_wording()
    {
        var world = new HouseholdWorld(Kitchen());
        Assert.Equal("You are in the middle of a room. Looking quickly around you, you see a cabinet 1, a countertop 1, a countertop 2, a fridge 1, a microwave 1, and a sinkbasin 1.", world.RoomDescription());
        Assert.Equal("On the countertop 1, you see a apple 1, a book 1, a desklamp 1, and a knife 1.", world.Step("go to countertop 1"));
        Assert.Equal("On the countertop 2, you see nothing.", world.Step("go to countertop 2"));
        Assert.Equal("The fridge 1 is closed.", world.Step("go to fridge 1"));
        Assert.Equal("You open the fridge 1. The fridge 1 is open. In it, you see a egg 1.", world.Step("open fridge 1"));
        Assert.Equal("You pick up the egg 1 from the fridge 1.", world.Step("take egg 1 from fridge 1"));
        Assert.Equal("You cool the egg 1 using the fridge 1.", world.Step("cool egg 1 with fridge 1"));
        Assert.Equal("You close the fridge 1.", world.Step("close fridge 1"));
        Assert.Equal("You are carrying: a egg 1.", world.Step("inventory"));
        Assert.Equal("This is a cool egg 1.", world.Step("examine egg 1"));
        Assert.Equal("You are facing the fridge 1. Next to it, you see nothing.", world.Step("look"));
        Assert.Equal("On the sinkbasin 1, you see nothing.", world.Step("go to sinkbasin 1"));
        Assert.Equal("You clean the egg 1 using the sinkbasin 1.", world.Step("clean egg 1 with sinkbasin 1"));
        Assert.Equal("The microwave 1 is closed.", world.Step("go to microwave 1"));
        Assert.Equal("You heat the egg 1 using the microwave 1.", world.Step("heat egg 1 with microwave 1"));
        Assert.Equal(ObjectState.Clean | ObjectState.Hot, world.StateOf(3));
        Assert.Equal("This is a clean and hot egg 1.", world.Step("examine egg 1"));
        Assert.Equal("On the countertop 2, you see nothing.", world.Step("go to countertop 2"));
        Assert.Equal("You put the egg 1 in/on the countertop 2.", world.Step("put egg 1 in/on countertop 2"));
        Assert.Equal("You are not carrying anything.", world.Step("inventory"));
        Assert.Equal("On the countertop 2, you see a egg 1.", world.Step("examine countertop 2"));
    }

    [Fact]
    public void Open_and_close_gate_what_can_be_taken_and_put()
    {
        var world = new HouseholdWorld(Kitchen());
        Assert.Equal(Nothing, world.Step("open fridge 1")); // not there yet
        world.Step("go to fridge 1");
        Assert.Equal(Nothing, world.Step("take egg 1 from fridge 1")); // closed
        Assert.Equal(Nothing, world.Step("close fridge 1")); // already closed
        world.Step("open fridge 1");
        Assert.True(world.IsOpen(3));
        Assert.Equal(Nothing, world.Step("open fridge 1")); // already open
        world.Step("take egg 1 from fridge 1");
        world.Step("close fridge 1");
        Assert.Equal(Nothing, world.Step("put egg 1 in fridge 1")); // closed again
        world.Step("go to countertop 1");
        Assert.Equal(Nothing, world.Step("open countertop 1")); // not openable
        Assert.Equal(Nothing, world.Step("take apple 1 from countertop 1")); // hands full
        Assert.Equal("You put the egg 1 in/on the countertop 1.", world.Step("put egg 1 on countertop 1"));
        Assert.Equal("You pick up the apple 1 from the countertop 1.", world.Step("Take  Apple 1 from countertop 1."));
        world.Step("go to cabinet 1");
        world.Step("open cabinet 1");
        Assert.Equal("You put the apple 1 in/on the cabinet 1.", world.Step("put apple 1 in cabinet 1"));
        Assert.Equal(0, world.LocationOf(0));
    }

    [Fact]
    public void Transformations_need_the_right_appliance_and_a_suitable_object()
    {
        var world = new HouseholdWorld(Kitchen());
        world.Step("go to countertop 1");
        world.Step("take book 1 from countertop 1");
        world.Step("go to microwave 1");
        Assert.Equal(Nothing, world.Step("heat book 1 with microwave 1")); // books are not heatable
        world.Step("put book 1 in/on microwave 1"); // closed: stays in hand
        Assert.Equal(1, world.Held);
        world.Step("go to countertop 1");
        world.Step("put book 1 in/on countertop 1");
        world.Step("take apple 1 from countertop 1");
        Assert.Equal(Nothing, world.Step("clean apple 1 with countertop 1"));
        Assert.Equal(Nothing, world.Step("clean apple 1 with sinkbasin 1")); // not at the sink
        world.Step("go to fridge 1");
        Assert.Equal(Nothing, world.Step("heat apple 1 with fridge 1"));
        world.Step("cool apple 1 with fridge 1");
        world.Step("go to microwave 1");
        world.Step("heat apple 1 with microwave 1");
        Assert.Equal(ObjectState.Hot, world.StateOf(0)); // heating undoes cooling
    }

    [Fact]
    public void The_lamp_toggles_where_it_stands_by_use_or_toggle()
    {
        var world = new HouseholdWorld(Kitchen());
        Assert.Equal(Nothing, world.Step("use desklamp 1"));
        world.Step("go to countertop 1");
        Assert.Equal(Nothing, world.Step("take desklamp 1 from countertop 1"));
        Assert.Equal("You turn on the desklamp 1.", world.Step("use desklamp 1"));
        Assert.True(world.IsLampOn(2));
        Assert.Equal("The desklamp 1 is turned on.", world.Step("examine desklamp 1"));
        Assert.Equal("You turn off the desklamp 1.", world.Step("toggle desklamp 1 countertop 1"));
        Assert.Equal(Nothing, world.Step("toggle desklamp 1 countertop 2"));
        Assert.Equal(2, world.LampAt(1));
        Assert.Equal(-1, world.LampAt(2));
    }

    [Theory]
    [InlineData("")]
    [InlineData("fly to the moon")]
    [InlineData("go to cabinet")]
    [InlineData("go to cabinet 9")]
    [InlineData("take apple 1")]
    [InlineData("take apple 1 from")]
    [InlineData("put")]
    [InlineData("examine apple 1")] // not visible from the middle of the room
    [InlineData("toggle desklamp")]
    public void Invalid_or_inadmissible_actions_answer_nothing_happened(string action)
    {
        var world = new HouseholdWorld(Kitchen());
        Assert.Equal(Nothing, world.Step(action));
        Assert.Equal(-1, world.Location);
        Assert.Equal(-1, world.Held);
    }

    [Fact]
    public void Admissible_commands_follow_the_state_and_each_one_does_something()
    {
        var world = new HouseholdWorld(Kitchen());
        Assert.Equal(["go to cabinet 1", "go to countertop 1", "go to countertop 2", "go to fridge 1", "go to microwave 1", "go to sinkbasin 1", "inventory", "look"], world.AdmissibleCommands());
        world.Step("go to fridge 1");
        Assert.Contains("open fridge 1", world.AdmissibleCommands());
        Assert.DoesNotContain("take egg 1 from fridge 1", world.AdmissibleCommands());
        Assert.DoesNotContain("go to fridge 1", world.AdmissibleCommands());
        world.Step("open fridge 1");
        Assert.Contains("take egg 1 from fridge 1", world.AdmissibleCommands());
        Assert.Contains("close fridge 1", world.AdmissibleCommands());
        world.Step("take egg 1 from fridge 1");
        Assert.Equal(
            ["go to cabinet 1", "go to countertop 1", "go to countertop 2", "go to microwave 1", "go to sinkbasin 1", "close fridge 1",
             "put egg 1 in/on fridge 1", "cool egg 1 with fridge 1", "examine fridge 1", "examine egg 1", "inventory", "look"],
            world.AdmissibleCommands());

        // Every admissible command of a few states changes something or answers with more than "Nothing happened.".
        string[][] prefixes = [[], ["go to countertop 1"], ["go to fridge 1", "open fridge 1", "take egg 1 from fridge 1"], ["go to countertop 1", "take apple 1 from countertop 1", "go to sinkbasin 1"]];
        foreach (string[] prefix in prefixes)
        {
            IReadOnlyList<string> commands = Replay(prefix).AdmissibleCommands();
            foreach (string command in commands)
                Assert.NotEqual(Nothing, Replay(prefix).Step(command));
        }
    }

    private static HouseholdWorld Replay(IEnumerable<string> actions)
    {
        var world = new HouseholdWorld(Kitchen());
        foreach (string action in actions)
            Assert.NotEqual(Nothing, world.Step(action));
        return world;
    }
}

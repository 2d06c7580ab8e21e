using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.Household;
using OnnxCoEvo.Core.Chat;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.Household;

public sealed class HouseholdSuiteTests
{
    internal static readonly HouseholdEnvironmentSuite Suite = new(new HouseholdOptions { Seed = 7 });

    [Fact]
    public void Splits_have_the_default_sizes_and_index_order()
    {
        Assert.Equal("household", Suite.Name);
        Assert.Equal(AgentGymDialect.AlfWorld, Suite.Dialect);
        IReadOnlyList<EnvironmentTask> train = Suite.Tasks("train"), seen = Suite.Tasks("test_seen"), unseen = Suite.Tasks("test_unseen");
        Assert.Equal((1200, 140, 134), (train.Count, seen.Count, unseen.Count));
        Assert.Equal(Enumerable.Range(0, 1474), train.Concat(seen).Concat(unseen).Select(t => t.Index));
        Assert.All(train, t => Assert.Equal("train", t.Split));
        Assert.All(seen, t => Assert.Equal("test_seen", t.Split));
        Assert.All(unseen, t => Assert.Equal("test_unseen", t.Split));
        Assert.Equal(unseen, Suite.Tasks("test"));
        Assert.Equal("household_1300", Suite.Task(1300).Id);
        Assert.Equal(seen[0], Suite.Task(1200));
        ArgumentException unknown = Assert.Throws<ArgumentException>(() => Suite.Tasks("dev"));
        Assert.Contains("test_unseen", unknown.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Suite.Task(1474));
        Assert.Throws<ArgumentOutOfRangeException>(() => Suite.Task(-1));
        Assert.Throws<ArgumentException>(() => new HouseholdEnvironmentSuite(new HouseholdOptions { TrainTasks = -1 }));
        Assert.Throws<ArgumentException>(() => Suite.Spec(new EnvironmentTask("webshop", 3, "train")));
    }

    [Fact]
    public void Seen_and_unseen_layouts_are_disjoint_and_unseen_has_a_room_train_never_shows()
    {
        var trainLayouts = Suite.Tasks("train").Select(t => Suite.Spec(t.Index).Layout).ToHashSet();
        var seenLayouts = Suite.Tasks("test_seen").Select(t => Suite.Spec(t.Index).Layout).ToHashSet();
        var unseenLayouts = Suite.Tasks("test_unseen").Select(t => Suite.Spec(t.Index).Layout).ToHashSet();
        Assert.All(trainLayouts.Concat(seenLayouts), l => Assert.Contains(l.Id, Suite.SeenLayoutIds));
        Assert.All(unseenLayouts, l => Assert.Contains(l.Id, Suite.UnseenLayoutIds));
        Assert.Empty(Suite.SeenLayoutIds.Intersect(Suite.UnseenLayoutIds));
        Assert.True(seenLayouts.Overlaps(trainLayouts), "test_seen should reuse train layouts");
        Assert.Contains(unseenLayouts, l => l.Room.Name == "studio");
        Assert.DoesNotContain(trainLayouts, l => l.Room.Name == "studio");
    }

    [Fact]
    public void Tasks_cover_all_six_types_with_alfworld_style_first_observations()
    {
        IReadOnlyList<HouseholdTaskSpec> specs = Suite.Tasks("train").Select(t => Suite.Spec(t.Index)).ToArray();
        Assert.Equal(Enum.GetValues<HouseholdTaskType>().ToHashSet(), specs.Select(s => s.Goal.Type).ToHashSet());
        foreach (HouseholdTaskSpec spec in specs)
        {
            string first = spec.FirstObservation(new HouseholdWorld(spec.Layout));
            Assert.StartsWith("You are in the middle of a room. Looking quickly around you, you see a ", first);
            Assert.EndsWith("\n\nYour task is to: " + spec.Description, first);
            Assert.DoesNotContain("Welcome", first);
            Assert.False(spec.Goal.IsSatisfiedBy(new HouseholdWorld(spec.Layout)), $"{spec.Task} holds at the start");
        }
        HouseholdGoal clean = HouseholdGoal.Create(HouseholdTaskType.Clean, "apple", "fridge");
        Assert.Equal("put a clean apple in fridge.", clean.Describe(0));
        Assert.Equal("clean some apple and put it in fridge.", clean.Describe(1));
        Assert.Equal("look at book under the desklamp.", HouseholdGoal.Create(HouseholdTaskType.Examine, "book", null).Describe(0));
        Assert.Equal("put two cd on shelf.", HouseholdGoal.Create(HouseholdTaskType.PutTwo, "cd", "shelf").Describe(0));
        Assert.Equal("put a hot potato on countertop.", HouseholdGoal.Create(HouseholdTaskType.Heat, "potato", "countertop").Describe(0));
    }

    [Fact]
    public void Tasks_and_layouts_are_deterministic_for_a_seed()
    {
        var again = new HouseholdEnvironmentSuite(new HouseholdOptions { Seed = 7 });
        var other = new HouseholdEnvironmentSuite(new HouseholdOptions { Seed = 8 });
        string Render(HouseholdEnvironmentSuite suite, int index) => suite.Spec(index).FirstObservation(new HouseholdWorld(suite.Spec(index).Layout));
        int[] probes = [0, 1, 17, 600, 1199, 1200, 1339, 1340, 1473];
        Assert.All(probes, i => Assert.Equal(Render(Suite, i), Render(again, i)));
        Assert.All(probes, i => Assert.Equal(Suite.Spec(i).Layout.Objects, again.Spec(i).Layout.Objects));
        Assert.Contains(probes, i => Render(Suite, i) != Render(other, i));
    }

    [Fact]
    public void Protocol_is_the_household_react_protocol_with_a_solved_example()
    {
        var protocol = Suite.Protocol;
        Assert.Equal("household", protocol.Environment);
        Assert.Equal("Observation: ", protocol.ObservationPrefix);
        Assert.Equal(40, protocol.MaxSteps);
        Assert.True(protocol.ZeroRewardOnTimeout);
        Assert.True(protocol.ShowAvailableActions);
        Assert.Contains("take {obj} from {recep}", protocol.Instruction);
        Assert.Contains("Thought: ", protocol.Instruction);
        Assert.Contains("Action: ", protocol.Instruction);
        Assert.Equal(ChatRole.User, protocol.Example[0].Role);
        Assert.Contains("Your task is to: put a keychain in drawer.", protocol.Example[0].Content);
        Assert.Equal(ChatRole.Assistant, protocol.Example[^1].Role);
        Assert.EndsWith("Action: put keychain 1 in/on drawer 1", protocol.Example[^1].Content);
        Assert.All(protocol.Example.Skip(1).Where(m => m.Role == ChatRole.User), m => Assert.StartsWith("Observation: ", m.Content));
        Assert.Contains(protocol.Example, m => m.Content == "Observation: You open the drawer 1. The drawer 1 is open. In it, you see nothing.");
    }
}

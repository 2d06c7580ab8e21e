using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.Household;
using OnnxCoEvo.Agents.Policies;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.Household;

public sealed class HouseholdSessionTests
{
    private static HouseholdEnvironmentSuite Suite => HouseholdSuiteTests.Suite;

    /// <summary>
    /// A solution written from the task's layout, independent of the expert: fetch objects from their starting
    /// receptacles (opening them), transform at the appliance, carry to the first receptacle of the target kind; examine
    /// carries the object to the lamp and uses it.
    /// </summary>
    private static List<string> Script(HouseholdTaskSpec spec)
    {
        HouseholdLayout layout = spec.Layout;
        HouseholdGoal goal = spec.Goal;
        var actions = new List<string>();
        var opened = new HashSet<int>();
        void Visit(int receptacle)
        {
            actions.Add("go to " + layout.Receptacles[receptacle].Name);
            if (layout.Receptacles[receptacle].Kind.Openable && opened.Add(receptacle))
                actions.Add("open " + layout.Receptacles[receptacle].Name);
        }
        int target = goal.TargetKind is null ? -1 : layout.Receptacles.Select((r, i) => (r, i)).First(p => p.r.Kind.Name == goal.TargetKind).i;
        foreach (PlacedObject obj in layout.Objects.Where(o => o.Kind.Name == goal.ObjectKind).Take(goal.Count))
        {
            Visit(obj.Receptacle);
            actions.Add($"take {obj.Name} from {layout.Receptacles[obj.Receptacle].Name}");
            if (goal.IsExamine)
            {
                PlacedObject lamp = layout.Objects.Single(o => o.Kind.Name == "desklamp");
                actions.Add("go to " + layout.Receptacles[lamp.Receptacle].Name);
                actions.Add("use " + lamp.Name);
                break;
            }
            if (HouseholdCatalog.ApplianceFor(goal.RequiredState) is { } applianceKind)
            {
                string appliance = layout.Receptacles.First(r => r.Kind.Name == applianceKind).Name;
                string verb = goal.Type.ToString().ToLowerInvariant();
                actions.Add("go to " + appliance);
                actions.Add($"{verb} {obj.Name} with {appliance}");
            }
            Visit(target);
            actions.Add($"put {obj.Name} in/on {layout.Receptacles[target].Name}");
        }
        return actions;
    }

    [Fact]
    public async Task Each_task_type_is_solved_by_a_scripted_sequence_with_reward_on_the_last_step_only()
    {
        foreach (HouseholdTaskType type in Enum.GetValues<HouseholdTaskType>())
        {
            foreach (EnvironmentTask task in Suite.Tasks("train").Where(t => Suite.Spec(t.Index).Goal.Type == type).Take(5))
            {
                HouseholdTaskSpec spec = Suite.Spec(task.Index);
                List<string> actions = Script(spec);
                Assert.True(actions.Count <= 40, $"{task}: {actions.Count} steps");
                await using IEnvironmentSession session = Suite.CreateSession();
                await session.ResetAsync(task);
                for (int i = 0; i < actions.Count; i++)
                {
                    StepResult result = await session.StepAsync(actions[i]);
                    Assert.NotEqual(HouseholdWorld.NothingHappened, result.Observation);
                    bool last = i == actions.Count - 1;
                    Assert.True(result.Done == last, $"{task} ({spec.Description}) step {i} '{actions[i]}' done={result.Done}");
                    Assert.Equal(last ? 1.0 : 0.0, result.Reward);
                }
                Assert.Empty((await session.AvailableActionsAsync()).Commands);
                await Assert.ThrowsAsync<InvalidOperationException>(async () => await session.StepAsync("look"));
            }
        }
    }

    [Fact]
    public async Task Transformation_tasks_are_not_won_without_the_transformation()
    {
        EnvironmentTask task = Suite.Tasks("train").First(t => Suite.Spec(t.Index).Goal.Type == HouseholdTaskType.Heat);
        List<string> actions = Script(Suite.Spec(task.Index)).Where(a => !a.StartsWith("heat ", StringComparison.Ordinal)).ToList();
        await using IEnvironmentSession session = Suite.CreateSession();
        await session.ResetAsync(task);
        foreach (string action in actions)
            Assert.False((await session.StepAsync(action)).Done);
    }

    [Fact]
    public async Task Invalid_actions_answer_nothing_happened_with_no_reward()
    {
        await using IEnvironmentSession session = Suite.CreateSession();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await session.StepAsync("look"));
        string first = await session.ResetAsync(Suite.Task(5));
        Assert.Equal(first, await session.ObservationAsync());
        foreach (string action in new[] { "dance", "go to moon 1", "take everything", "Action: look" })
        {
            StepResult result = await session.StepAsync(action);
            Assert.Equal(("Nothing happened.", 0.0, false), (result.Observation, result.Reward, result.Done));
            Assert.Equal("Nothing happened.", await session.ObservationAsync());
        }
        ActionSpace actions = await session.AvailableActionsAsync();
        Assert.False(actions.HasSearchBar);
        Assert.Equal(actions.Commands, (await session.AvailableActionsAsync()).Commands);
        Assert.All(actions.Commands.SkipLast(2), c => Assert.StartsWith("go to ", c));
    }

    [Fact]
    public async Task Replaying_the_same_actions_gives_the_same_observations()
    {
        await using IPolicy expert = Suite.CreateExpert(new ExpertOptions { Seed = 3 });
        foreach (int index in new[] { 2, 40, 1250, 1400 })
        {
            EnvironmentTask task = Suite.Task(index);
            HouseholdEpisode episode = await HouseholdEpisodeRunner.RunAsync(Suite, expert, task, episodeId: index);
            var replayed = new List<string>();
            await using IEnvironmentSession session = new HouseholdEnvironmentSuite(new HouseholdOptions { Seed = 7 }).CreateSession();
            Assert.Equal(episode.Conversation[2].Content.Split("\nAVAILABLE ACTIONS: ")[0], await session.ResetAsync(task));
            foreach (string action in episode.Actions)
                replayed.Add((await session.StepAsync(action)).Observation);
            Assert.Equal(episode.Observations, replayed);
        }
    }
}

using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Core.Trajectories;
using static OnnxCoEvo.Tests.Agents.Recipes.Data.FakeTrajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Data;

public sealed class RftPositivesTests
{
    [Fact]
    public void Keeps_only_reward_one_not_the_stored_success_flag()
    {
        Trajectory purchased = Build("t1", 3, 0.8) with { Success = true }; // ETO's "success" = any purchase
        Trajectory won = Build("t2", 3, 1.0);
        Assert.Equal([won], RftPositives.Select([purchased, won, Build("t3", 2, 0.0)]));
    }

    [Fact]
    public void Dedupes_identical_turns_per_task_and_caps_in_input_order()
    {
        Trajectory first = Build("t1", 3, 1.0, sample: 0);
        Trajectory same = Build("t1", 3, 1.0, sample: 1); // same turns, other metadata
        Trajectory longer = Build("t1", 4, 1.0, sample: 2);
        Trajectory longest = Build("t1", 5, 1.0, sample: 3);
        Trajectory otherTask = Build("t2", 3, 1.0); // same actions, other task: not a duplicate

        Assert.Equal([first, longer, longest, otherTask], RftPositives.Select([first, same, longer, longest, otherTask]));
        Assert.Equal([first, longer, otherTask], RftPositives.Select([first, same, longer, longest, otherTask], maxPerTask: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => RftPositives.Select([first], maxPerTask: 0));
    }
}

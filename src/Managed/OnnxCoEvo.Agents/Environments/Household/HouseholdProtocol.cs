using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>
/// The household ReAct protocol: our instruction (what the agent is, the action grammar, the response format), one
/// solved put task as the in-context example, "Observation: " before every environment answer, at most 40 steps, the
/// admissible commands appended to each observation (AgentGym's ALFWorld client shows them).
/// </summary>
public static class HouseholdProtocol
{
    public const int MaxSteps = 40;

    public const string Instruction =
        "You are a helpful assistant doing a household chore in a room. Each turn you get an observation of what " +
        "happened and the list of actions you can take now; you answer with one action. The room's receptacles and " +
        "objects are named by a kind and a number, such as \"countertop 2\" or \"apple 1\".\n" +
        "The actions are:\n" +
        "1. go to {recep}\n" +
        "2. open {recep}\n" +
        "3. close {recep}\n" +
        "4. take {obj} from {recep}\n" +
        "5. put {obj} in/on {recep}\n" +
        "6. clean {obj} with {recep}\n" +
        "7. heat {obj} with {recep}\n" +
        "8. cool {obj} with {recep}\n" +
        "9. use {lamp} (or toggle {lamp} {recep})\n" +
        "10. examine {obj} or examine {recep}\n" +
        "11. look\n" +
        "12. inventory\n" +
        "You can only act on the receptacle you are at, a closed receptacle must be opened before you take from it or " +
        "put into it, and you can carry one object at a time. The sinkbasin cleans, the microwave heats and the fridge " +
        "cools. An action that cannot be done answers \"Nothing happened.\"\n" +
        "Answer every turn in exactly this format:\n" +
        "Thought: <your reasoning about what to do next>\n" +
        "Action: <one action>";

    public static ReActProtocol Create() => new()
    {
        Environment = HouseholdEnvironmentSuite.EnvironmentName,
        Instruction = Instruction,
        Example = BuildExample(),
        ObservationPrefix = "Observation: ",
        MaxSteps = MaxSteps,
        ZeroRewardOnTimeout = true,
        ShowAvailableActions = true,
        ChoicesOf = ReActActionConstraint.CommandChoices,
    };

    /// <summary>
    /// The in-context example is played on a small fixed room by the real rules, so its observations are exactly what
    /// the environment would answer: a keychain is on the shelf and must go into a closed drawer.
    /// </summary>
    private static IReadOnlyList<ChatMessage> BuildExample()
    {
        string[] receptacleNames = ["bed 1", "desk 1", "drawer 1", "drawer 2", "garbagecan 1", "shelf 1", "sidetable 1"];
        PlacedReceptacle[] receptacles = receptacleNames
            .Select(name => new PlacedReceptacle(name, HouseholdCatalog.Receptacles[name[..name.IndexOf(' ')]]))
            .ToArray();
        PlacedObject[] objects =
        [
            new("book 1", HouseholdCatalog.Objects["book"], 6),
            new("cd 1", HouseholdCatalog.Objects["cd"], 3),
            new("desklamp 1", HouseholdCatalog.Objects[HouseholdCatalog.Lamp], 1),
            new("keychain 1", HouseholdCatalog.Objects["keychain"], 5),
            new("pen 1", HouseholdCatalog.Objects["pen"], 5),
        ];
        var world = new HouseholdWorld(new HouseholdLayout(-1, HouseholdCatalog.Rooms[2], receptacles, objects));
        HouseholdGoal goal = HouseholdGoal.Create(HouseholdTaskType.Put, "keychain", "drawer");
        (string Thought, string Action)[] turns =
        [
            ("I need a keychain and then a drawer to put it in. A keychain usually lies on a shelf, a desk or a sidetable. I will look at the shelf 1 first.", "go to shelf 1"),
            ("The keychain 1 is here. I take it.", "take keychain 1 from shelf 1"),
            ("Now I bring the keychain 1 to a drawer. I will try the drawer 1.", "go to drawer 1"),
            ("The drawer 1 is closed, so I open it first.", "open drawer 1"),
            ("The drawer 1 is open. I put the keychain 1 in it.", "put keychain 1 in/on drawer 1"),
        ];
        var messages = new List<ChatMessage> { ChatMessage.User(world.RoomDescription() + "\n\nYour task is to: " + goal.Describe(0)) };
        for (int i = 0; i < turns.Length; i++)
        {
            messages.Add(ChatMessage.Assistant(ReActParser.Format(turns[i].Thought, turns[i].Action)));
            string observation = world.Step(turns[i].Action);
            // The last turn solves the task; the example ends with that assistant turn, as ETO's do.
            if (i < turns.Length - 1)
                messages.Add(ChatMessage.User("Observation: " + observation));
            else if (!goal.IsSatisfiedBy(world))
                throw new InvalidOperationException("household: the in-context example does not solve its task");
        }
        return messages;
    }
}

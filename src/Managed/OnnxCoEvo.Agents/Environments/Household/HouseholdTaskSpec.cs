using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>One household task: the layout it happens in, its goal and its sentence ("put a clean apple in fridge.").</summary>
public sealed record HouseholdTaskSpec(EnvironmentTask Task, HouseholdLayout Layout, HouseholdGoal Goal, string Description)
{
    /// <summary>The episode's first observation: the room, a blank line, then "Your task is to: ...".</summary>
    public string FirstObservation(HouseholdWorld world) => world.RoomDescription() + "\n\nYour task is to: " + Description;
}

/// <summary>
/// Draws tasks. Each index gets its own random stream from (seed, index): a task type by ALFWorld-like weights, a
/// layout of its split's pool that can host that type, then an (object kind, target kind) pair the layout makes
/// solvable: the object exists (twice for put-two), can undergo the transformation, and no object of its kind starts in
/// a receptacle of the target kind (the goal never holds at the start); the target is never the transformation's own
/// appliance. Examine tasks need a desk lamp in the room.
/// </summary>
public static class HouseholdTaskGenerator
{
    private static readonly (HouseholdTaskType Type, double Weight)[] TypeWeights =
    [
        (HouseholdTaskType.Put, 0.22), (HouseholdTaskType.Clean, 0.18), (HouseholdTaskType.Heat, 0.14),
        (HouseholdTaskType.Cool, 0.16), (HouseholdTaskType.Examine, 0.12), (HouseholdTaskType.PutTwo, 0.18),
    ];

    public static HouseholdTaskSpec Generate(ulong seed, EnvironmentTask task, IReadOnlyList<LayoutChoices> pool)
    {
        var random = new Xoshiro256StarStar(DeterministicRandom.DeriveSeed(seed, "household/task", (ulong)task.Index));
        HouseholdTaskType type = DrawType(random.NextDouble());
        // A pool always hosts put tasks (every room has objects with homes); other types fall back to put when no layout hosts them.
        LayoutChoices[] hosts = pool.Where(l => l.For(type).Count > 0).ToArray();
        if (hosts.Length == 0)
        {
            type = HouseholdTaskType.Put;
            hosts = pool.Where(l => l.For(type).Count > 0).ToArray();
        }
        if (hosts.Length == 0)
            throw new InvalidOperationException($"household: no layout of the {task.Split} pool can host any task");
        LayoutChoices layout = hosts[HouseholdLayoutGenerator.Below(ref random, hosts.Length)];
        IReadOnlyList<HouseholdGoal> goals = layout.For(type);
        HouseholdGoal goal = goals[HouseholdLayoutGenerator.Below(ref random, goals.Count)];
        return new HouseholdTaskSpec(task, layout.Layout, goal, goal.Describe(HouseholdLayoutGenerator.Below(ref random, 2)));
    }

    private static HouseholdTaskType DrawType(double u)
    {
        foreach ((HouseholdTaskType type, double weight) in TypeWeights)
        {
            if (u < weight)
                return type;
            u -= weight;
        }
        return TypeWeights[^1].Type;
    }

    /// <summary>Every goal a layout can host, per task type, in catalog order.</summary>
    public sealed class LayoutChoices
    {
        private readonly Dictionary<HouseholdTaskType, List<HouseholdGoal>> _goals = [];

        public LayoutChoices(HouseholdLayout layout)
        {
            Layout = layout;
            foreach (HouseholdTaskType type in Enum.GetValues<HouseholdTaskType>())
                _goals[type] = Enumerate(layout, type).ToList();
        }

        public HouseholdLayout Layout { get; }

        public IReadOnlyList<HouseholdGoal> For(HouseholdTaskType type) => _goals[type];

        private static IEnumerable<HouseholdGoal> Enumerate(HouseholdLayout layout, HouseholdTaskType type)
        {
            ObjectState state = HouseholdGoal.StateOf(type);
            string? appliance = HouseholdCatalog.ApplianceFor(state);
            if (appliance is not null && !layout.HasReceptacleKind(appliance))
                yield break;
            if (type == HouseholdTaskType.Examine && !layout.HasLamp)
                yield break;
            int needed = type == HouseholdTaskType.PutTwo ? 2 : 1;
            foreach (string kindName in layout.Room.Objects)
            {
                ObjectKind kind = HouseholdCatalog.Objects[kindName];
                if (!kind.Has(ObjectTraits.Pickupable) || !kind.Has(HouseholdCatalog.TraitFor(state)) || layout.CountObjects(kindName) < needed)
                    continue;
                if (type == HouseholdTaskType.Examine)
                {
                    if (kind.Has(ObjectTraits.Examinable))
                        yield return HouseholdGoal.Create(type, kindName, null);
                    continue;
                }
                foreach (string target in kind.Places)
                {
                    if (target == appliance || !layout.HasReceptacleKind(target) || StartsIn(layout, kindName, target))
                        continue;
                    yield return HouseholdGoal.Create(type, kindName, target);
                }
            }
        }

        private static bool StartsIn(HouseholdLayout layout, string objectKind, string receptacleKind) =>
            layout.Objects.Any(o => o.Kind.Name == objectKind && layout.Receptacles[o.Receptacle].Kind.Name == receptacleKind);
    }
}

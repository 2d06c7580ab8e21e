namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>ALFWorld's six task types (pick_and_place, pick_clean_then_place, pick_heat_then_place, pick_cool_then_place, look_at_obj, pick_two_obj).</summary>
public enum HouseholdTaskType
{
    Put,
    Clean,
    Heat,
    Cool,
    Examine,
    PutTwo,
}

/// <summary>
/// A goal condition over a world. Placing goals (every type but examine): some receptacle of
/// <see cref="TargetKind"/> holds <see cref="Count"/> objects of <see cref="ObjectKind"/> that each carry
/// <see cref="RequiredState"/>. Examine: the agent holds an object of <see cref="ObjectKind"/> while standing where a
/// desk lamp is, turned on when <see cref="NeedsLampOn"/>. The expert also plans towards goals it wrongly believes in
/// (a look-alike object, a similar receptacle, a forgotten transformation), which are goals of the same shape.
/// </summary>
public sealed record HouseholdGoal(HouseholdTaskType Type, string ObjectKind, string? TargetKind, int Count, ObjectState RequiredState, bool NeedsLampOn)
{
    public bool IsExamine => Type == HouseholdTaskType.Examine;

    public static HouseholdGoal Create(HouseholdTaskType type, string objectKind, string? targetKind) => type switch
    {
        HouseholdTaskType.Examine => new(type, objectKind, null, 1, ObjectState.None, NeedsLampOn: true),
        HouseholdTaskType.PutTwo => new(type, objectKind, targetKind ?? throw new ArgumentNullException(nameof(targetKind)), 2, ObjectState.None, false),
        _ => new(type, objectKind, targetKind ?? throw new ArgumentNullException(nameof(targetKind)), 1, StateOf(type), false),
    };

    public static ObjectState StateOf(HouseholdTaskType type) => type switch
    {
        HouseholdTaskType.Clean => ObjectState.Clean,
        HouseholdTaskType.Heat => ObjectState.Hot,
        HouseholdTaskType.Cool => ObjectState.Cool,
        _ => ObjectState.None,
    };

    /// <summary>Does an object count towards this goal (right kind, required state)?</summary>
    public bool Accepts(HouseholdWorld world, int obj) =>
        world.Layout.Objects[obj].Kind.Name == ObjectKind && (world.StateOf(obj) & RequiredState) == RequiredState;

    public bool IsSatisfiedBy(HouseholdWorld world)
    {
        if (IsExamine)
        {
            int held = world.Held;
            int lamp = world.LampAt(world.Location);
            return held >= 0 && world.Layout.Objects[held].Kind.Name == ObjectKind && lamp >= 0 && (!NeedsLampOn || world.IsLampOn(lamp));
        }
        return BestTarget(world, out int placed) >= 0 && placed >= Count;
    }

    /// <summary>The receptacle of the target kind holding the most accepted objects (first in listing order on ties), -1 if the layout has none.</summary>
    public int BestTarget(HouseholdWorld world, out int placed)
    {
        int best = -1;
        placed = -1;
        for (int r = 0; r < world.Layout.Receptacles.Count; r++)
        {
            if (world.Layout.Receptacles[r].Kind.Name != TargetKind)
                continue;
            int count = 0;
            for (int o = 0; o < world.Layout.Objects.Count; o++)
                if (world.LocationOf(o) == r && Accepts(world, o))
                    count++;
            if (count > placed)
                (best, placed) = (r, count);
        }
        return best;
    }

    /// <summary>The task sentence after "Your task is to: ", in one of two phrasings per type (ALFWorld's templates vary the same way).</summary>
    public string Describe(int phrasing)
    {
        string p = TargetKind is null ? "" : HouseholdCatalog.Receptacles[TargetKind].Preposition;
        bool alternate = phrasing % 2 == 1;
        return Type switch
        {
            HouseholdTaskType.Put => alternate ? $"put some {ObjectKind} {p} {TargetKind}." : $"put a {ObjectKind} {p} {TargetKind}.",
            HouseholdTaskType.Clean => alternate ? $"clean some {ObjectKind} and put it {p} {TargetKind}." : $"put a clean {ObjectKind} {p} {TargetKind}.",
            HouseholdTaskType.Heat => alternate ? $"heat some {ObjectKind} and put it {p} {TargetKind}." : $"put a hot {ObjectKind} {p} {TargetKind}.",
            HouseholdTaskType.Cool => alternate ? $"cool some {ObjectKind} and put it {p} {TargetKind}." : $"put a cool {ObjectKind} {p} {TargetKind}.",
            HouseholdTaskType.Examine => alternate ? $"examine the {ObjectKind} with the {HouseholdCatalog.Lamp}." : $"look at {ObjectKind} under the {HouseholdCatalog.Lamp}.",
            _ => alternate ? $"find two {ObjectKind} and put them {p} {TargetKind}." : $"put two {ObjectKind} {p} {TargetKind}.",
        };
    }
}

using System.Text;

namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>
/// The mutable state of one room during an episode and the rules of every action. The agent starts in the middle of
/// the room with empty hands, carries at most one object, and acts on the receptacle it stands at: open/close it,
/// take from or put into it (openable ones must be open), use it as an appliance (sinkbasin cleans, microwave heats,
/// fridge cools, whatever their doors), or toggle a desk lamp standing on it. Anything else answers
/// <see cref="NothingHappened"/> and changes nothing. Texts follow ALFWorld's wording without the "You arrive at loc N."
/// prefix that ETO strips.
/// </summary>
public sealed class HouseholdWorld
{
    public const string NothingHappened = "Nothing happened.";
    private const int HeldLocation = -1;

    private readonly bool[] _open;
    private readonly int[] _objectLocation;
    private readonly ObjectState[] _objectState;
    private readonly bool[] _lampOn;

    public HouseholdWorld(HouseholdLayout layout)
    {
        Layout = layout;
        _open = new bool[layout.Receptacles.Count];
        _objectLocation = layout.Objects.Select(o => o.Receptacle).ToArray();
        _objectState = new ObjectState[layout.Objects.Count];
        _lampOn = new bool[layout.Objects.Count];
    }

    public HouseholdLayout Layout { get; }

    /// <summary>The receptacle the agent stands at, -1 in the middle of the room (the start).</summary>
    public int Location { get; private set; } = -1;

    /// <summary>The object in the agent's hands, -1 when they are empty.</summary>
    public int Held { get; private set; } = -1;

    public bool IsOpen(int receptacle) => _open[receptacle];

    /// <summary>Can the agent see into and use this receptacle: not openable, or open.</summary>
    public bool IsAccessible(int receptacle) => !Layout.Receptacles[receptacle].Kind.Openable || _open[receptacle];

    /// <summary>The receptacle an object is in, -1 while it is held.</summary>
    public int LocationOf(int obj) => _objectLocation[obj];

    public ObjectState StateOf(int obj) => _objectState[obj];

    public bool IsLampOn(int obj) => _lampOn[obj];

    /// <summary>The lamp standing on this receptacle, -1 if none (or in the middle of the room).</summary>
    public int LampAt(int receptacle)
    {
        if (receptacle < 0)
            return -1;
        for (int o = 0; o < _objectLocation.Length; o++)
            if (_objectLocation[o] == receptacle && Layout.Objects[o].Kind.Has(ObjectTraits.Lamp))
                return o;
        return -1;
    }

    /// <summary>"You are in the middle of a room. Looking quickly around you, you see a cabinet 1, ..., and a toaster 1."</summary>
    public string RoomDescription() =>
        "You are in the middle of a room. Looking quickly around you, you see " + List(Layout.Receptacles.Select(r => r.Name)) + ".";

    /// <summary>What the agent sees at a receptacle: closed, or its contents.</summary>
    public string DescribeReceptacle(int receptacle)
    {
        PlacedReceptacle r = Layout.Receptacles[receptacle];
        if (r.Kind.Openable)
            return _open[receptacle] ? $"The {r.Name} is open. In it, you see {Contents(receptacle)}." : $"The {r.Name} is closed.";
        return $"On the {r.Name}, you see {Contents(receptacle)}.";
    }

    /// <summary>Applies an action and returns the observation; an action that is not possible now changes nothing and returns <see cref="NothingHappened"/>.</summary>
    public string Step(string action)
    {
        ArgumentNullException.ThrowIfNull(action);
        string command = Normalize(action);
        return TryStep(command) ?? NothingHappened;
    }

    /// <summary>The commands possible now, in a fixed order: go to each other receptacle (listing order), then what can be done here, then examine/inventory/look.</summary>
    public IReadOnlyList<string> AdmissibleCommands()
    {
        var commands = new List<string>();
        for (int r = 0; r < Layout.Receptacles.Count; r++)
            if (r != Location)
                commands.Add("go to " + Layout.Receptacles[r].Name);
        if (Location >= 0)
        {
            PlacedReceptacle here = Layout.Receptacles[Location];
            if (here.Kind.Openable)
                commands.Add((_open[Location] ? "close " : "open ") + here.Name);
            if (IsAccessible(Location))
            {
                for (int o = 0; o < _objectLocation.Length; o++)
                    if (Held < 0 && _objectLocation[o] == Location && Layout.Objects[o].Kind.Has(ObjectTraits.Pickupable))
                        commands.Add($"take {Layout.Objects[o].Name} from {here.Name}");
                if (Held >= 0)
                    commands.Add($"put {Layout.Objects[Held].Name} in/on {here.Name}");
            }
            if (Held >= 0 && TransformationAt(Location, Held) is { } transformation)
                commands.Add($"{transformation.Verb} {Layout.Objects[Held].Name} with {here.Name}");
            int lamp = LampAt(Location);
            if (lamp >= 0)
                commands.Add("use " + Layout.Objects[lamp].Name);
            commands.Add("examine " + here.Name);
        }
        if (Held >= 0)
            commands.Add("examine " + Layout.Objects[Held].Name);
        commands.Add("inventory");
        commands.Add("look");
        return commands;
    }

    private string? TryStep(string command)
    {
        if (command == "look")
            return Location < 0 ? RoomDescription() : $"You are facing the {Layout.Receptacles[Location].Name}. Next to it, you see nothing.";
        if (command == "inventory")
            return Held < 0 ? "You are not carrying anything." : $"You are carrying: a {Layout.Objects[Held].Name}.";
        if (After(command, "go to ") is { } goTo)
            return GoTo(Layout.ReceptacleIndex(goTo));
        if (After(command, "open ") is { } open)
            return SetOpen(Layout.ReceptacleIndex(open), true);
        if (After(command, "close ") is { } close)
            return SetOpen(Layout.ReceptacleIndex(close), false);
        if (After(command, "take ") is { } take && Split(take, " from ") is { } takeParts)
            return Take(Layout.ObjectIndex(takeParts.First), Layout.ReceptacleIndex(takeParts.Second));
        if (After(command, "put ") is { } put && (Split(put, " in/on ") ?? Split(put, " in ") ?? Split(put, " on ")) is { } putParts)
            return Put(Layout.ObjectIndex(putParts.First), Layout.ReceptacleIndex(putParts.Second));
        foreach (Transformation transformation in Transformations)
            if (After(command, transformation.Verb + " ") is { } rest && Split(rest, " with ") is { } parts)
                return Transform(transformation, Layout.ObjectIndex(parts.First), Layout.ReceptacleIndex(parts.Second));
        if (After(command, "use ") is { } use)
            return Toggle(Layout.ObjectIndex(use), Location);
        if (After(command, "toggle ") is { } toggle && SplitAfterName(toggle) is { } toggleParts)
            return Toggle(Layout.ObjectIndex(toggleParts.First), Layout.ReceptacleIndex(toggleParts.Second));
        if (After(command, "examine ") is { } examine)
            return Examine(examine);
        return null;
    }

    private string? GoTo(int receptacle)
    {
        if (receptacle < 0 || receptacle == Location)
            return null;
        Location = receptacle;
        return DescribeReceptacle(receptacle);
    }

    private string? SetOpen(int receptacle, bool open)
    {
        if (receptacle < 0 || receptacle != Location || !Layout.Receptacles[receptacle].Kind.Openable || _open[receptacle] == open)
            return null;
        _open[receptacle] = open;
        string name = Layout.Receptacles[receptacle].Name;
        return open ? $"You open the {name}. The {name} is open. In it, you see {Contents(receptacle)}." : $"You close the {name}.";
    }

    private string? Take(int obj, int receptacle)
    {
        if (obj < 0 || receptacle < 0 || receptacle != Location || Held >= 0 || !IsAccessible(receptacle)
            || _objectLocation[obj] != receptacle || !Layout.Objects[obj].Kind.Has(ObjectTraits.Pickupable))
            return null;
        _objectLocation[obj] = HeldLocation;
        Held = obj;
        return $"You pick up the {Layout.Objects[obj].Name} from the {Layout.Receptacles[receptacle].Name}.";
    }

    private string? Put(int obj, int receptacle)
    {
        if (obj < 0 || obj != Held || receptacle < 0 || receptacle != Location || !IsAccessible(receptacle))
            return null;
        _objectLocation[obj] = receptacle;
        Held = -1;
        return $"You put the {Layout.Objects[obj].Name} in/on the {Layout.Receptacles[receptacle].Name}.";
    }

    private string? Transform(Transformation transformation, int obj, int appliance)
    {
        if (obj < 0 || obj != Held || appliance < 0 || appliance != Location || TransformationAt(appliance, obj) != transformation)
            return null;
        _objectState[obj] = (_objectState[obj] & ~transformation.Removes) | transformation.Adds;
        return $"You {transformation.Verb} the {Layout.Objects[obj].Name} using the {Layout.Receptacles[appliance].Name}.";
    }

    private string? Toggle(int lamp, int stand)
    {
        if (lamp < 0 || stand < 0 || stand != Location || _objectLocation[lamp] != stand || !Layout.Objects[lamp].Kind.Has(ObjectTraits.Lamp))
            return null;
        _lampOn[lamp] = !_lampOn[lamp];
        return $"You turn {(_lampOn[lamp] ? "on" : "off")} the {Layout.Objects[lamp].Name}.";
    }

    private string? Examine(string name)
    {
        int receptacle = Layout.ReceptacleIndex(name);
        if (receptacle >= 0)
            return receptacle == Location ? DescribeReceptacle(receptacle) : null;
        int obj = Layout.ObjectIndex(name);
        if (obj < 0 || !(obj == Held || (_objectLocation[obj] == Location && Location >= 0 && IsAccessible(Location))))
            return null;
        if (Layout.Objects[obj].Kind.Has(ObjectTraits.Lamp))
            return $"The {name} is turned {(_lampOn[obj] ? "on" : "off")}.";
        ObjectState state = _objectState[obj];
        string adjectives = state == ObjectState.None
            ? "normal"
            : string.Join(" and ", new[] { (ObjectState.Clean, "clean"), (ObjectState.Hot, "hot"), (ObjectState.Cool, "cool") }.Where(p => (state & p.Item1) != 0).Select(p => p.Item2));
        return $"This is a {adjectives} {name}.";
    }

    /// <summary>The transformation this receptacle applies to this object, if the receptacle is its appliance and the object allows it.</summary>
    private Transformation? TransformationAt(int receptacle, int obj)
    {
        string kind = Layout.Receptacles[receptacle].Kind.Name;
        foreach (Transformation transformation in Transformations)
            if (transformation.Appliance == kind && Layout.Objects[obj].Kind.Has(transformation.Trait))
                return transformation;
        return null;
    }

    private string Contents(int receptacle)
    {
        var names = new List<string>();
        for (int o = 0; o < _objectLocation.Length; o++)
            if (_objectLocation[o] == receptacle)
                names.Add(Layout.Objects[o].Name);
        return names.Count == 0 ? "nothing" : List(names);
    }

    /// <summary>"a x 1", "a x 1, and a y 2", "a x 1, a y 2, and a z 3" (ALFWorld writes "a" before every name).</summary>
    private static string List(IEnumerable<string> names)
    {
        string[] items = names.Select(n => "a " + n).ToArray();
        return items.Length switch
        {
            0 => "nothing",
            1 => items[0],
            _ => string.Join(", ", items[..^1]) + ", and " + items[^1],
        };
    }

    /// <summary>Lower case, trimmed, single spaces, a trailing period dropped: the same command written loosely means the same.</summary>
    internal static string Normalize(string action)
    {
        var builder = new StringBuilder(action.Length);
        bool space = false;
        foreach (char c in action.Trim().TrimEnd('.'))
        {
            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }
            if (space)
                builder.Append(' ');
            space = false;
            builder.Append(char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }

    private static string? After(string command, string verb) =>
        command.StartsWith(verb, StringComparison.Ordinal) && command.Length > verb.Length ? command[verb.Length..] : null;

    private static (string First, string Second)? Split(string text, string separator)
    {
        int at = text.IndexOf(separator, StringComparison.Ordinal);
        return at > 0 && at + separator.Length < text.Length ? (text[..at], text[(at + separator.Length)..]) : null;
    }

    /// <summary>"desklamp 1 desk 1" -> ("desklamp 1", "desk 1"): names are a kind and a number.</summary>
    private static (string First, string Second)? SplitAfterName(string text)
    {
        int first = text.IndexOf(' ');
        int second = first < 0 ? -1 : text.IndexOf(' ', first + 1);
        return second > 0 && second + 1 < text.Length ? (text[..second], text[(second + 1)..]) : null;
    }

    private sealed record Transformation(string Verb, string Appliance, ObjectTraits Trait, ObjectState Adds, ObjectState Removes);

    private static readonly Transformation[] Transformations =
    [
        new("clean", HouseholdCatalog.Sink, ObjectTraits.Cleanable, ObjectState.Clean, ObjectState.None),
        new("heat", HouseholdCatalog.Microwave, ObjectTraits.Heatable, ObjectState.Hot, ObjectState.Cool),
        new("cool", HouseholdCatalog.Fridge, ObjectTraits.Coolable, ObjectState.Cool, ObjectState.Hot),
    ];
}

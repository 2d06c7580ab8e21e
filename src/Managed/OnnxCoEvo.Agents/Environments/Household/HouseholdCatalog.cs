namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>What an object can undergo. A lamp is toggled in place and cannot be picked up.</summary>
[Flags]
public enum ObjectTraits
{
    None = 0,
    Pickupable = 1,
    Cleanable = 2,
    Heatable = 4,
    Coolable = 8,
    /// <summary>Small enough to be looked at under a lamp (examine tasks).</summary>
    Examinable = 16,
    Lamp = 32,
}

/// <summary>A kind of receptacle. Openable ones start closed and show their contents only when open; containers take "in" in task texts, the rest "on".</summary>
public sealed record ReceptacleKind(string Name, bool Openable, bool Container)
{
    public string Preposition => Container ? "in" : "on";
}

/// <summary>A kind of object: its traits, the receptacle kinds it is found on (and may be asked to go to), and the kind a careless agent mistakes it for.</summary>
public sealed record ObjectKind(string Name, ObjectTraits Traits, IReadOnlyList<string> Places, string? LookAlike)
{
    public bool Has(ObjectTraits trait) => (Traits & trait) == trait;
}

/// <summary>How many receptacles of a kind a room of some kind has (inclusive range).</summary>
public sealed record ReceptacleCount(string Kind, int Min, int Max);

/// <summary>
/// A kind of room: its receptacles, the object kinds found in it and where a desk lamp may stand (none: no examine
/// tasks). <see cref="OnlyUnseen"/> rooms appear only in unseen layouts, so test_unseen has a room variant train never shows.
/// </summary>
public sealed record RoomKind(string Name, IReadOnlyList<ReceptacleCount> Receptacles, IReadOnlyList<string> Objects, IReadOnlyList<string> LampPlaces, bool OnlyUnseen);

/// <summary>The fixed vocabulary of the household environment: receptacle, object and room kinds. Written for this project.</summary>
public static class HouseholdCatalog
{
    public const string Lamp = "desklamp";
    public const string Sink = "sinkbasin";
    public const string Microwave = "microwave";
    public const string Fridge = "fridge";

    private const ObjectTraits Food = ObjectTraits.Pickupable | ObjectTraits.Cleanable | ObjectTraits.Heatable | ObjectTraits.Coolable;
    private const ObjectTraits Dish = Food | ObjectTraits.Examinable;
    private const ObjectTraits Utensil = ObjectTraits.Pickupable | ObjectTraits.Cleanable;
    private const ObjectTraits Plain = ObjectTraits.Pickupable;
    private const ObjectTraits Small = ObjectTraits.Pickupable | ObjectTraits.Examinable;

    public static IReadOnlyDictionary<string, ReceptacleKind> Receptacles { get; } = new ReceptacleKind[]
    {
        new("armchair", false, false), new("bathtubbasin", false, true), new("bed", false, false), new("cabinet", true, true),
        new("coffeemachine", false, false), new("coffeetable", false, false), new("countertop", false, false), new("desk", false, false),
        new("diningtable", false, false), new("drawer", true, true), new("dresser", false, false), new(Fridge, true, true),
        new("garbagecan", false, true), new("handtowelholder", false, false), new("laundryhamper", false, true), new(Microwave, true, true),
        new("safe", true, true), new("shelf", false, false), new("sidetable", false, false), new(Sink, false, true), new("sofa", false, false),
        new("stoveburner", false, false), new("toaster", false, false), new("toilet", false, false), new("toiletpaperhanger", false, false),
        new("towelholder", false, false), new("tvstand", false, false),
    }.ToDictionary(kind => kind.Name, StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, ObjectKind> Objects { get; } = new ObjectKind[]
    {
        new("apple", Food, ["countertop", "diningtable", Fridge, "garbagecan"], "tomato"),
        new("tomato", Food, ["countertop", "diningtable", Fridge, Sink], "apple"),
        new("potato", Food, ["countertop", "diningtable", Fridge, "garbagecan"], "apple"),
        new("egg", Food, [Fridge, "countertop", "diningtable", "garbagecan"], "potato"),
        new("bread", ObjectTraits.Pickupable | ObjectTraits.Heatable | ObjectTraits.Coolable, ["countertop", "diningtable", Fridge, "cabinet"], "lettuce"),
        new("lettuce", ObjectTraits.Pickupable | ObjectTraits.Cleanable | ObjectTraits.Coolable, [Fridge, "countertop", "diningtable"], "bread"),
        new("mug", Dish, ["cabinet", "countertop", "coffeemachine", "shelf", Sink, "diningtable"], "cup"),
        new("cup", Dish, ["cabinet", "countertop", Fridge, "shelf", "diningtable"], "mug"),
        new("bowl", ObjectTraits.Pickupable | ObjectTraits.Cleanable | ObjectTraits.Coolable | ObjectTraits.Examinable, ["cabinet", "countertop", "shelf", Fridge, "diningtable"], "plate"),
        new("plate", ObjectTraits.Pickupable | ObjectTraits.Cleanable | ObjectTraits.Heatable | ObjectTraits.Coolable, ["cabinet", "countertop", "diningtable", "shelf", Fridge], "bowl"),
        new("pan", ObjectTraits.Pickupable | ObjectTraits.Cleanable | ObjectTraits.Coolable, ["stoveburner", "countertop", "cabinet"], "pot"),
        new("pot", ObjectTraits.Pickupable | ObjectTraits.Cleanable | ObjectTraits.Coolable, ["stoveburner", "countertop", "cabinet", "shelf"], "pan"),
        new("knife", Utensil, ["drawer", "countertop", "diningtable"], "butterknife"),
        new("butterknife", Utensil, ["drawer", "countertop", "diningtable"], "knife"),
        new("fork", Utensil, ["drawer", "countertop", "diningtable", Sink], "spoon"),
        new("spoon", Utensil, ["drawer", "countertop", "diningtable", Sink], "fork"),
        new("spatula", Utensil, ["drawer", "countertop", "diningtable"], "ladle"),
        new("ladle", Utensil, ["drawer", "countertop", "diningtable"], "spatula"),
        new("winebottle", ObjectTraits.Pickupable | ObjectTraits.Coolable, ["countertop", "cabinet", Fridge, "diningtable"], null),
        new("saltshaker", Plain, ["countertop", "cabinet", "shelf", "diningtable", "drawer"], "peppershaker"),
        new("peppershaker", Plain, ["countertop", "cabinet", "shelf", "diningtable", "drawer"], "saltshaker"),
        new("dishsponge", Utensil, [Sink, "countertop", "cabinet", "drawer"], "cloth"),
        new("book", Small, ["desk", "shelf", "sofa", "bed", "sidetable", "coffeetable", "drawer", "dresser"], "newspaper"),
        new("newspaper", Small, ["sofa", "coffeetable", "sidetable", "armchair", "garbagecan"], "book"),
        new("cd", Small, ["desk", "shelf", "drawer", "sidetable", "safe", "garbagecan"], "creditcard"),
        new("creditcard", Small, ["desk", "drawer", "sidetable", "dresser", "coffeetable", "shelf", "armchair"], "keychain"),
        new("keychain", Small, ["desk", "drawer", "sidetable", "dresser", "coffeetable", "safe", "shelf", "sofa"], "creditcard"),
        new("cellphone", Small, ["desk", "bed", "sidetable", "dresser", "drawer", "sofa"], "remotecontrol"),
        new("remotecontrol", Small, ["sofa", "coffeetable", "armchair", "tvstand", "sidetable", "dresser"], "cellphone"),
        new("pen", Small, ["desk", "drawer", "sidetable", "shelf", "dresser"], "pencil"),
        new("pencil", Small, ["desk", "drawer", "sidetable", "shelf", "dresser"], "pen"),
        new("pillow", Small, ["sofa", "armchair", "bed"], null),
        new("laptop", Small, ["desk", "bed", "sofa", "coffeetable"], null),
        new("alarmclock", Small, ["desk", "sidetable", "dresser", "shelf"], "watch"),
        new("watch", Small, ["desk", "sidetable", "dresser", "drawer", "coffeetable", "shelf", "safe"], "alarmclock"),
        new("statue", Small, ["shelf", "coffeetable", "sidetable", "dresser", "tvstand", "cabinet"], "vase"),
        new("vase", Small, ["shelf", "coffeetable", "sidetable", "tvstand", "cabinet", "dresser"], "statue"),
        new("box", Small, ["coffeetable", "sidetable", "shelf", "dresser", "cabinet", "sofa"], "tissuebox"),
        new("tissuebox", Small, ["coffeetable", "sidetable", "dresser", "shelf", "countertop", "toilet"], "box"),
        new("soapbar", Utensil, ["countertop", Sink, "bathtubbasin", "toilet", "cabinet", "shelf"], "soapbottle"),
        new("soapbottle", Plain, ["countertop", "cabinet", "shelf", "toilet"], "soapbar"),
        new("cloth", Utensil, ["countertop", "cabinet", "drawer", "bathtubbasin", "shelf"], "handtowel"),
        new("handtowel", Plain, ["handtowelholder", "countertop", "cabinet"], "towel"),
        new("towel", Plain, ["towelholder", "cabinet", "shelf"], "handtowel"),
        new("toiletpaper", Plain, ["toiletpaperhanger", "toilet", "cabinet", "countertop", "shelf", "garbagecan"], "tissuebox"),
        new("spraybottle", Plain, ["cabinet", "toilet", "countertop", "shelf"], "soapbottle"),
        new("candle", Plain, ["countertop", "cabinet", "toilet", "shelf", "drawer"], "spraybottle"),
        new(Lamp, ObjectTraits.Lamp, ["desk", "sidetable", "dresser"], null),
    }.ToDictionary(kind => kind.Name, StringComparer.Ordinal);

    /// <summary>Seen layouts cycle through the first four; unseen layouts cycle through all five, "studio" among them.</summary>
    public static IReadOnlyList<RoomKind> Rooms { get; } =
    [
        new("kitchen",
            [new("cabinet", 3, 8), new("countertop", 1, 3), new("drawer", 2, 4), new(Fridge, 1, 1), new(Microwave, 1, 1), new(Sink, 1, 1),
             new("stoveburner", 2, 4), new("toaster", 1, 1), new("coffeemachine", 1, 1), new("garbagecan", 1, 1), new("diningtable", 0, 1), new("shelf", 0, 2)],
            ["apple", "tomato", "potato", "egg", "bread", "lettuce", "mug", "cup", "bowl", "plate", "pan", "pot", "knife", "butterknife", "fork",
             "spoon", "spatula", "ladle", "winebottle", "saltshaker", "peppershaker", "dishsponge", "soapbottle"],
            [], OnlyUnseen: false),
        new("livingroom",
            [new("sofa", 1, 1), new("armchair", 0, 1), new("coffeetable", 1, 1), new("sidetable", 1, 2), new("tvstand", 0, 1), new("drawer", 1, 4),
             new("cabinet", 0, 3), new("shelf", 1, 3), new("garbagecan", 1, 1), new("dresser", 0, 1)],
            ["book", "newspaper", "cd", "creditcard", "keychain", "cellphone", "remotecontrol", "pillow", "laptop", "watch", "statue", "vase", "box",
             "tissuebox", "pen", "pencil"],
            ["sidetable", "dresser"], OnlyUnseen: false),
        new("bedroom",
            [new("bed", 1, 1), new("desk", 1, 1), new("dresser", 0, 1), new("drawer", 2, 5), new("shelf", 1, 4), new("sidetable", 1, 2),
             new("garbagecan", 1, 1), new("laundryhamper", 0, 1), new("safe", 0, 1)],
            ["book", "cd", "creditcard", "keychain", "cellphone", "pen", "pencil", "pillow", "laptop", "alarmclock", "watch", "box", "tissuebox",
             "statue", "vase"],
            ["desk", "sidetable"], OnlyUnseen: false),
        new("bathroom",
            [new(Sink, 1, 2), new("bathtubbasin", 0, 1), new("toilet", 1, 1), new("countertop", 1, 1), new("cabinet", 2, 4), new("drawer", 0, 3),
             new("towelholder", 1, 1), new("handtowelholder", 0, 1), new("toiletpaperhanger", 1, 1), new("garbagecan", 1, 1), new("shelf", 0, 2)],
            ["soapbar", "soapbottle", "cloth", "handtowel", "towel", "toiletpaper", "spraybottle", "candle", "tissuebox", "dishsponge"],
            [], OnlyUnseen: false),
        new("studio",
            [new(Fridge, 1, 1), new(Microwave, 1, 1), new(Sink, 1, 1), new("countertop", 1, 2), new("cabinet", 2, 4), new("drawer", 2, 3),
             new("desk", 1, 1), new("bed", 1, 1), new("sofa", 1, 1), new("shelf", 1, 2), new("garbagecan", 1, 1), new("sidetable", 0, 1),
             new("coffeetable", 0, 1)],
            ["apple", "tomato", "potato", "egg", "bread", "mug", "cup", "bowl", "plate", "knife", "fork", "spoon", "book", "cd", "keychain",
             "creditcard", "cellphone", "pen", "pencil", "remotecontrol", "pillow", "laptop", "watch"],
            ["desk", "sidetable"], OnlyUnseen: true),
    ];

    /// <summary>The receptacle kind whose appliance performs a transformation, or null when the state needs none.</summary>
    public static string? ApplianceFor(ObjectState state) => state switch
    {
        ObjectState.Clean => Sink,
        ObjectState.Hot => Microwave,
        ObjectState.Cool => Fridge,
        _ => null,
    };

    /// <summary>The trait an object needs to undergo a transformation.</summary>
    public static ObjectTraits TraitFor(ObjectState state) => state switch
    {
        ObjectState.Clean => ObjectTraits.Cleanable,
        ObjectState.Hot => ObjectTraits.Heatable,
        ObjectState.Cool => ObjectTraits.Coolable,
        _ => ObjectTraits.Pickupable,
    };
}

/// <summary>The states a transformation leaves on an object. Heating removes cool and cooling removes hot.</summary>
[Flags]
public enum ObjectState
{
    None = 0,
    Clean = 1,
    Hot = 2,
    Cool = 4,
}

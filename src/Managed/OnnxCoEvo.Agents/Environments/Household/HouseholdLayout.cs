using System.Globalization;
using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>A receptacle of a layout, e.g. "cabinet 3".</summary>
public sealed record PlacedReceptacle(string Name, ReceptacleKind Kind);

/// <summary>An object of a layout, e.g. "apple 1", and the index of the receptacle it starts in.</summary>
public sealed record PlacedObject(string Name, ObjectKind Kind, int Receptacle);

/// <summary>
/// One room: its receptacles (sorted by name, the order the room description lists them) and the objects placed in
/// them at the start (sorted by name, the order receptacle contents are listed in). Generated deterministically from
/// (seed, layout id); every episode on the layout starts from this state.
/// </summary>
public sealed class HouseholdLayout
{
    private readonly Dictionary<string, int> _receptacleIndex;
    private readonly Dictionary<string, int> _objectIndex;

    public HouseholdLayout(int id, RoomKind room, IReadOnlyList<PlacedReceptacle> receptacles, IReadOnlyList<PlacedObject> objects)
    {
        Id = id;
        Room = room;
        Receptacles = receptacles;
        Objects = objects;
        _receptacleIndex = receptacles.Select((r, i) => (r.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        _objectIndex = objects.Select((o, i) => (o.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
    }

    public int Id { get; }
    public RoomKind Room { get; }
    public IReadOnlyList<PlacedReceptacle> Receptacles { get; }
    public IReadOnlyList<PlacedObject> Objects { get; }

    /// <summary>Index of the receptacle with this name, or -1.</summary>
    public int ReceptacleIndex(string name) => _receptacleIndex.GetValueOrDefault(name, -1);

    /// <summary>Index of the object with this name, or -1.</summary>
    public int ObjectIndex(string name) => _objectIndex.GetValueOrDefault(name, -1);

    public bool HasReceptacleKind(string kind) => Receptacles.Any(r => r.Kind.Name == kind);

    public int CountObjects(string kind) => Objects.Count(o => o.Kind.Name == kind);

    public bool HasLamp => Objects.Any(o => o.Kind.Has(ObjectTraits.Lamp));

    public override string ToString() => $"layout {Id} ({Room.Name}, {Receptacles.Count} receptacles, {Objects.Count} objects)";
}

/// <summary>
/// Builds layouts. Seen layout ids are 0..seenCount-1 and use the rooms that are not <see cref="RoomKind.OnlyUnseen"/>
/// (id mod 4); unseen layout ids start at <see cref="UnseenLayoutBase"/> and cycle through every room kind, so the
/// two sets are disjoint and test_unseen includes a room kind train never shows.
/// </summary>
public static class HouseholdLayoutGenerator
{
    public const int UnseenLayoutBase = 10_000;

    /// <summary>Probability that an object kind of the room appears in a layout at all.</summary>
    private const double ObjectPresence = 0.75;

    public static bool IsUnseen(int layoutId) => layoutId >= UnseenLayoutBase;

    public static RoomKind RoomOf(int layoutId)
    {
        if (layoutId < 0)
            throw new ArgumentOutOfRangeException(nameof(layoutId), layoutId, "layout ids are non-negative");
        if (IsUnseen(layoutId))
            return HouseholdCatalog.Rooms[(layoutId - UnseenLayoutBase) % HouseholdCatalog.Rooms.Count];
        RoomKind[] seen = HouseholdCatalog.Rooms.Where(r => !r.OnlyUnseen).ToArray();
        return seen[layoutId % seen.Length];
    }

    public static HouseholdLayout Generate(ulong seed, int layoutId)
    {
        RoomKind room = RoomOf(layoutId);
        var random = new Xoshiro256StarStar(DeterministicRandom.DeriveSeed(seed, "household/layout", (ulong)layoutId));

        var receptacles = new List<PlacedReceptacle>();
        foreach (ReceptacleCount count in room.Receptacles)
        {
            int n = count.Min + Below(ref random, count.Max - count.Min + 1);
            ReceptacleKind kind = HouseholdCatalog.Receptacles[count.Kind];
            for (int i = 1; i <= n; i++)
                receptacles.Add(new PlacedReceptacle(Name(kind.Name, i), kind));
        }
        receptacles.Sort(CompareNames);
        var receptacleKinds = receptacles.Select(r => r.Kind.Name).ToHashSet(StringComparer.Ordinal);

        var objects = new List<PlacedObject>();
        foreach (string kindName in room.Objects)
        {
            ObjectKind kind = HouseholdCatalog.Objects[kindName];
            int[] homes = HomesOf(kind, receptacles, receptacleKinds);
            bool present = random.NextDouble() < ObjectPresence;
            double u = random.NextDouble();
            if (!present || homes.Length == 0)
                continue;
            int n = u < 0.5 ? 1 : u < 0.85 ? 2 : 3;
            for (int i = 1; i <= n; i++)
                objects.Add(new PlacedObject(Name(kind.Name, i), kind, homes[Below(ref random, homes.Length)]));
        }
        if (room.LampPlaces.Count > 0)
        {
            ObjectKind lamp = HouseholdCatalog.Objects[HouseholdCatalog.Lamp];
            int[] stands = receptacles.Select((r, i) => (r, i)).Where(p => room.LampPlaces.Contains(p.r.Kind.Name)).Select(p => p.i).ToArray();
            objects.Add(new PlacedObject(Name(lamp.Name, 1), lamp, stands[Below(ref random, stands.Length)]));
        }
        objects.Sort((a, b) => CompareNames(a.Name, b.Name));
        return new HouseholdLayout(layoutId, room, receptacles, objects);
    }

    private static int[] HomesOf(ObjectKind kind, List<PlacedReceptacle> receptacles, HashSet<string> present) =>
        kind.Places.Any(present.Contains)
            ? receptacles.Select((r, i) => (r, i)).Where(p => kind.Places.Contains(p.r.Kind.Name)).Select(p => p.i).ToArray()
            : [];

    private static string Name(string kind, int number) => string.Create(CultureInfo.InvariantCulture, $"{kind} {number}");

    private static int CompareNames(PlacedReceptacle a, PlacedReceptacle b) => CompareNames(a.Name, b.Name);

    /// <summary>Kind name first, then the number as a number ("cabinet 2" before "cabinet 10").</summary>
    internal static int CompareNames(string a, string b)
    {
        int cutA = a.LastIndexOf(' ');
        int cutB = b.LastIndexOf(' ');
        int byKind = string.CompareOrdinal(a[..cutA], b[..cutB]);
        return byKind != 0 ? byKind : int.Parse(a.AsSpan(cutA + 1), CultureInfo.InvariantCulture).CompareTo(int.Parse(b.AsSpan(cutB + 1), CultureInfo.InvariantCulture));
    }

    internal static int Below(ref Xoshiro256StarStar random, int bound) => (int)(random.NextUInt64() % (ulong)bound);
}

using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>
/// What the expert decided for one (task, sample) before acting: the failure modes that fired, the goal it believes in
/// (the task's own goal unless a mode changed it), whether it searches in a scrambled order, and the turns at which it
/// writes an invalid command.
/// </summary>
public sealed record HouseholdExpertDecisions(IReadOnlyList<string> Fired, HouseholdGoal Belief, IReadOnlyList<int> SearchOrder, IReadOnlyList<int> InvalidTurns)
{
    /// <summary>Does the expert search <see cref="SearchOrder"/> (receptacle indices) instead of going where the object is?</summary>
    public bool ScrambledSearch => SearchOrder.Count > 0;
}

/// <summary>
/// The scripted household expert. It rebuilds the task's world from the suite and keeps a shadow copy in step with the
/// episode: every turn it checks that the last observation is the one its copy predicted, and replays the
/// conversation's actions into a fresh copy when not (another policy acted, or the episode was restored). From the
/// current state it then acts towards the goal it believes in: find the object (it knows where objects are, as
/// ALFWorld's handcoded expert does), take it, clean/heat/cool it at the sinkbasin/microwave/fridge, carry it to the
/// target and put it (opening what is closed); examine: take the object to the desk lamp and turn the lamp on.
/// <para>Failure modes (rates from <see cref="HouseholdEnvironmentSuite.ExpertFailureModes"/>; each draw is a pure function of
/// (options seed, task index, sample)):
/// <c>wrong_receptacle_order</c> searches receptacles where the object never is before the likely ones, opening each,
/// which can use up the 40 steps; <c>forgotten_step</c> skips the clean/heat/cool step, the lamp, or the second object
/// of put-two, and then puts the object anyway; <c>wrong_receptacle</c> puts into a similar receptacle of another kind
/// (drawer for cabinet); <c>wrong_object</c> takes a look-alike (cup for mug) and completes the task with it;
/// <c>invalid_command</c> writes one or two malformed commands ("Nothing happened.") but otherwise succeeds. An expert
/// whose believed goal holds while the episode goes on looks around until the step limit.</para>
/// </summary>
public sealed class HouseholdExpert : IPolicy
{
    /// <summary>Receptacle kinds a careless agent confuses, most similar first.</summary>
    private static readonly Dictionary<string, string[]> SimilarReceptacles = new(StringComparer.Ordinal)
    {
        ["cabinet"] = ["drawer", "shelf", "safe"], ["drawer"] = ["cabinet", "safe", "dresser"], ["shelf"] = ["cabinet", "sidetable", "dresser"],
        ["countertop"] = ["diningtable", "shelf", "stoveburner"], ["diningtable"] = ["countertop", "coffeetable"],
        ["sidetable"] = ["desk", "dresser", "coffeetable"], ["desk"] = ["sidetable", "dresser"], ["dresser"] = ["sidetable", "desk", "shelf"],
        ["coffeetable"] = ["sidetable", "diningtable"], ["sofa"] = ["armchair", "bed"], ["armchair"] = ["sofa"], ["bed"] = ["sofa"],
        [HouseholdCatalog.Fridge] = ["cabinet", HouseholdCatalog.Microwave], [HouseholdCatalog.Microwave] = [HouseholdCatalog.Fridge, "cabinet"],
        ["garbagecan"] = ["laundryhamper", "drawer"], ["safe"] = ["drawer", "cabinet"], ["tvstand"] = ["shelf", "sidetable"],
        ["toilet"] = ["countertop"], ["towelholder"] = ["handtowelholder"], ["handtowelholder"] = ["towelholder"],
        ["toiletpaperhanger"] = ["towelholder", "toilet"], ["stoveburner"] = ["countertop"], ["coffeemachine"] = ["countertop"],
        [HouseholdCatalog.Sink] = ["bathtubbasin"], ["bathtubbasin"] = [HouseholdCatalog.Sink],
    };

    private readonly HouseholdEnvironmentSuite _suite;
    private readonly ulong _seed;
    private readonly IReadOnlyDictionary<string, double> _rates;
    private readonly Dictionary<long, Episode> _episodes = [];
    private readonly Lock _lock = new();

    public HouseholdExpert(HouseholdEnvironmentSuite suite, ExpertOptions options)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(options);
        _suite = suite;
        _seed = options.Seed;
        _rates = options.Resolve(HouseholdEnvironmentSuite.EnvironmentName, suite.ExpertFailureModes);
    }

    public string Name => "expert:household";

    public IReadOnlyDictionary<string, double> Rates => _rates;

    public ValueTask<IReadOnlyList<PolicyTurn>> ActAsync(IReadOnlyList<PolicyRequest> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var turns = new PolicyTurn[batch.Count];
        lock (_lock)
        {
            for (int i = 0; i < batch.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                turns[i] = new PolicyTurn(Act(batch[i]));
            }
        }
        return ValueTask.FromResult<IReadOnlyList<PolicyTurn>>(turns);
    }

    public void EndEpisode(long episodeId)
    {
        lock (_lock)
            _episodes.Remove(episodeId);
    }

    public ValueTask DisposeAsync()
    {
        lock (_lock)
            _episodes.Clear();
        return ValueTask.CompletedTask;
    }

    /// <summary>The decisions for one (task, sample): a pure function of the options seed, the task index and the sample.</summary>
    public HouseholdExpertDecisions Decide(EnvironmentTask task, int sample)
    {
        HouseholdTaskSpec spec = _suite.Spec(task);
        ulong key = ((ulong)(uint)task.Index << 32) | (uint)sample;
        var random = new Xoshiro256StarStar(DeterministicRandom.DeriveSeed(_seed, "household/expert/choices", key));
        var fired = new List<string>();
        HouseholdGoal goal = spec.Goal;
        HouseholdGoal belief = goal;
        var start = new HouseholdWorld(spec.Layout);

        if (Fires(HouseholdEnvironmentSuite.ForgottenStep, key))
        {
            HouseholdGoal? forgetful = goal.Type switch
            {
                HouseholdTaskType.Clean or HouseholdTaskType.Heat or HouseholdTaskType.Cool => belief with { Type = HouseholdTaskType.Put, RequiredState = ObjectState.None },
                HouseholdTaskType.Examine => belief with { NeedsLampOn = false },
                HouseholdTaskType.PutTwo => belief with { Count = 1 },
                _ => null,
            };
            Adopt(HouseholdEnvironmentSuite.ForgottenStep, forgetful);
        }
        if (Fires(HouseholdEnvironmentSuite.WrongObject, key) && HouseholdCatalog.Objects[goal.ObjectKind].LookAlike is { } lookAlike)
        {
            ObjectKind kind = HouseholdCatalog.Objects[lookAlike];
            bool usable = spec.Layout.CountObjects(lookAlike) >= belief.Count && kind.Has(HouseholdCatalog.TraitFor(belief.RequiredState))
                          && (!belief.IsExamine || kind.Has(ObjectTraits.Examinable));
            Adopt(HouseholdEnvironmentSuite.WrongObject, usable ? belief with { ObjectKind = lookAlike } : null);
        }
        if (Fires(HouseholdEnvironmentSuite.WrongReceptacle, key) && belief.TargetKind is { } target)
        {
            string? appliance = HouseholdCatalog.ApplianceFor(goal.RequiredState);
            string[] similar = SimilarReceptacles.GetValueOrDefault(target, [])
                .Where(kind => kind != appliance && spec.Layout.HasReceptacleKind(kind) && !(belief with { TargetKind = kind }).IsSatisfiedBy(start))
                .ToArray();
            Adopt(HouseholdEnvironmentSuite.WrongReceptacle, similar.Length > 0 ? belief with { TargetKind = similar[HouseholdLayoutGenerator.Below(ref random, similar.Length)] } : null);
        }
        int[] searchOrder = [];
        if (Fires(HouseholdEnvironmentSuite.WrongReceptacleOrder, key))
        {
            fired.Add(HouseholdEnvironmentSuite.WrongReceptacleOrder);
            searchOrder = ScrambledOrder(spec.Layout, HouseholdCatalog.Objects[belief.ObjectKind], ref random);
        }
        int[] invalidTurns = [];
        if (Fires(HouseholdEnvironmentSuite.InvalidCommand, key))
        {
            fired.Add(HouseholdEnvironmentSuite.InvalidCommand);
            // The first slip comes within the first three turns (every episode is at least that long), a second one half the time.
            int first = HouseholdLayoutGenerator.Below(ref random, 3);
            int second = 3 + HouseholdLayoutGenerator.Below(ref random, 10);
            invalidTurns = second < 8 ? [first, second] : [first];
        }
        return new HouseholdExpertDecisions(fired, belief, searchOrder, invalidTurns);

        // A mode changes the belief only where it applies and leaves a goal that does not already hold at the start.
        void Adopt(string mode, HouseholdGoal? changed)
        {
            if (changed is null || changed == belief || changed.IsSatisfiedBy(start))
                return;
            belief = changed;
            fired.Add(mode);
        }
    }

    private bool Fires(string mode, ulong key)
    {
        double rate = _rates[mode];
        if (rate <= 0)
            return false;
        double u = (DeterministicRandom.DeriveSeed(_seed, "household/expert/" + mode, key) >> 11) * (1.0 / (1UL << 53));
        return u < rate;
    }

    private string Act(PolicyRequest request)
    {
        HouseholdTaskSpec spec = _suite.Spec(request.Task);
        List<string?> actions = ActionsOf(request.Conversation);
        string lastObservation = request.Conversation.Count > 0 ? ObservationText(request.Conversation[^1].Content) : "";

        if (!_episodes.TryGetValue(request.EpisodeId, out Episode? episode) || episode.Spec != spec || episode.Sample != request.Sample)
        {
            episode = new Episode(spec, request.Sample, Decide(request.Task, request.Sample));
            _episodes[request.EpisodeId] = episode;
        }
        if (episode.Applied != actions.Count || episode.ExpectedObservation != lastObservation)
            episode.Resynchronise(actions);

        (string thought, string action) = NextStep(episode);
        if (episode.Decisions.InvalidTurns.Contains(actions.Count))
            action = Corrupt(action);
        episode.Apply(action);
        return ReActParser.Format(thought, action);
    }

    /// <summary>The actions of the assistant turns after the acknowledgement (null where a turn had no action and the environment was not stepped).</summary>
    private static List<string?> ActionsOf(IReadOnlyList<ChatMessage> conversation)
    {
        var actions = new List<string?>();
        for (int i = 3; i < conversation.Count; i++)
            if (conversation[i].Role == ChatRole.Assistant)
                actions.Add(ReActParser.Parse(conversation[i].Content).Action);
        return actions;
    }

    /// <summary>The environment's text inside a user turn: without "Observation: " and the appended action list.</summary>
    private static string ObservationText(string content)
    {
        const string prefix = "Observation: ";
        const string actionList = "\nAVAILABLE ACTIONS: ";
        string text = content.StartsWith(prefix, StringComparison.Ordinal) ? content[prefix.Length..] : content;
        int cut = text.IndexOf(actionList, StringComparison.Ordinal);
        return cut >= 0 ? text[..cut] : text;
    }

    /// <summary>A careless version of a command that the environment cannot accept: the name's number left out ("go to cabinet").</summary>
    private static string Corrupt(string action)
    {
        int cut = action.LastIndexOf(' ');
        return cut > 0 && char.IsAsciiDigit(action[^1]) ? action[..cut] : action + " around";
    }

    private static (string Thought, string Action) NextStep(Episode episode)
    {
        HouseholdWorld world = episode.World;
        HouseholdGoal belief = episode.Decisions.Belief;
        if (belief.IsSatisfiedBy(world))
            return ("I have done what the task asks. Let me look around to make sure.", "look");
        HouseholdLayout layout = world.Layout;
        int held = world.Held;
        bool holdsWanted = held >= 0 && layout.Objects[held].Kind.Name == belief.ObjectKind;

        if (belief.IsExamine)
        {
            if (!holdsWanted)
                return held >= 0 ? PutDown(world) : Acquire(episode, -1);
            int lamp = layout.Objects.Select((o, i) => (o, i)).First(p => p.o.Kind.Has(ObjectTraits.Lamp)).i;
            int stand = world.LocationOf(lamp);
            string heldName = layout.Objects[held].Name;
            if (world.Location != stand)
                return ($"I have the {heldName}. Now I need the {layout.Objects[lamp].Name}, which stands on the {layout.Receptacles[stand].Name}.", "go to " + layout.Receptacles[stand].Name);
            return ($"I am at the {layout.Objects[lamp].Name} with the {heldName}. I turn the lamp on to look at it.", "use " + layout.Objects[lamp].Name);
        }

        int target = episode.Target;
        string targetName = layout.Receptacles[target].Name;
        if (held < 0)
            return Acquire(episode, target);
        if (!holdsWanted)
            return PutDown(world);
        string objectName = layout.Objects[held].Name;
        ObjectState missing = belief.RequiredState & ~world.StateOf(held);
        if (missing != ObjectState.None)
        {
            string verb = missing switch { ObjectState.Clean => "clean", ObjectState.Hot => "heat", _ => "cool" };
            int appliance = First(layout, HouseholdCatalog.ApplianceFor(missing)!);
            string applianceName = layout.Receptacles[appliance].Name;
            return world.Location != appliance
                ? ($"Next I need to {verb} the {objectName}. The {applianceName} can do that, so I go there.", "go to " + applianceName)
                : ($"I am at the {applianceName}. I {verb} the {objectName} with it.", $"{verb} {objectName} with {applianceName}");
        }
        if (world.Location != target)
            return ($"Now I bring the {objectName} to the {targetName}.", "go to " + targetName);
        if (!world.IsAccessible(target))
            return ($"The {targetName} is closed. I open it first.", "open " + targetName);
        return ($"I put the {objectName} in/on the {targetName}.", $"put {objectName} in/on {targetName}");
    }

    /// <summary>Go to an object of the believed kind that is not already in the target, open its receptacle if needed, take it.</summary>
    private static (string Thought, string Action) Acquire(Episode episode, int target)
    {
        HouseholdWorld world = episode.World;
        HouseholdLayout layout = world.Layout;
        HouseholdGoal belief = episode.Decisions.Belief;
        string kind = belief.ObjectKind;
        // Any object of the kind that is not already counting towards the goal in the target.
        bool Wanted(int o) => layout.Objects[o].Kind.Name == kind && world.LocationOf(o) >= 0 && !(world.LocationOf(o) == target && belief.Accepts(world, o));
        string lead = belief.Count > 1 && target >= 0 && belief.BestTarget(world, out int placed) >= 0 && placed > 0
            ? $"One {kind} is in place; I need another one. "
            : "";

        int here = world.Location;
        if (here >= 0 && world.IsAccessible(here))
            for (int o = 0; o < layout.Objects.Count; o++)
                if (Wanted(o) && world.LocationOf(o) == here)
                    return ($"{lead}There is a {layout.Objects[o].Name} here. I take it.", $"take {layout.Objects[o].Name} from {layout.Receptacles[here].Name}");

        if (episode.Decisions.ScrambledSearch && episode.NextToSearch() is int next)
        {
            // A careless search: open each closed receptacle, close it again when the object is not inside, move on.
            if (here >= 0 && layout.Receptacles[here].Kind.Openable && episode.MarkLookedInto(here))
                return ($"The {layout.Receptacles[here].Name} is closed. I open it to look inside.", "open " + layout.Receptacles[here].Name);
            if (here >= 0 && world.IsOpen(here) && episode.MarkClosedAgain(here))
                return ($"There is no {kind} in the {layout.Receptacles[here].Name}. I close it again.", "close " + layout.Receptacles[here].Name);
            episode.MarkSearched(next);
            return ($"{lead}I have not found a {kind} yet. I will look in the {layout.Receptacles[next].Name}.", "go to " + layout.Receptacles[next].Name);
        }

        int chosen = -1;
        for (int o = 0; o < layout.Objects.Count; o++)
            if (Wanted(o) && (chosen < 0 || world.LocationOf(o) < world.LocationOf(chosen)))
                chosen = o;
        if (chosen < 0)
            return ($"I cannot find another {kind}. Let me look around.", "look");
        int receptacle = world.LocationOf(chosen);
        string receptacleName = layout.Receptacles[receptacle].Name;
        if (here != receptacle)
        {
            string chosenKind = layout.Receptacles[receptacle].Kind.Name;
            string[] places = [chosenKind, .. HouseholdCatalog.Objects[kind].Places.Where(p => p != chosenKind && layout.HasReceptacleKind(p)).Take(2)];
            string likely = places.Length == 1 ? places[0] : string.Join(", ", places[..^1]) + " or " + places[^1];
            return ($"{lead}I need a {kind}. It is likely in or on a {likely}. I will check the {receptacleName}.", "go to " + receptacleName);
        }
        return ($"The {receptacleName} is closed. I open it to look inside.", "open " + receptacleName);
    }

    /// <summary>Hands hold something the task does not need (only after another policy acted): put it down here, or at the first open surface.</summary>
    private static (string Thought, string Action) PutDown(HouseholdWorld world)
    {
        HouseholdLayout layout = world.Layout;
        string name = layout.Objects[world.Held].Name;
        if (world.Location >= 0 && world.IsAccessible(world.Location))
            return ($"I do not need the {name}. I put it down here.", $"put {name} in/on {layout.Receptacles[world.Location].Name}");
        int surface = Enumerable.Range(0, layout.Receptacles.Count).First(r => !layout.Receptacles[r].Kind.Openable);
        return ($"I do not need the {name}. I will put it down on the {layout.Receptacles[surface].Name}.", "go to " + layout.Receptacles[surface].Name);
    }

    /// <summary>Receptacles where the object kind is never found first, then the likely ones, each group shuffled.</summary>
    private static int[] ScrambledOrder(HouseholdLayout layout, ObjectKind kind, ref Xoshiro256StarStar random)
    {
        int[] unlikely = Shuffle(Enumerable.Range(0, layout.Receptacles.Count).Where(r => !kind.Places.Contains(layout.Receptacles[r].Kind.Name)).ToArray(), ref random);
        int[] likely = Shuffle(Enumerable.Range(0, layout.Receptacles.Count).Where(r => kind.Places.Contains(layout.Receptacles[r].Kind.Name)).ToArray(), ref random);
        return [.. unlikely, .. likely];
    }

    private static int[] Shuffle(int[] items, ref Xoshiro256StarStar random)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = HouseholdLayoutGenerator.Below(ref random, i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
        return items;
    }

    private static int First(HouseholdLayout layout, string kind)
    {
        for (int r = 0; r < layout.Receptacles.Count; r++)
            if (layout.Receptacles[r].Kind.Name == kind)
                return r;
        throw new InvalidOperationException($"household layout {layout.Id} has no {kind}");
    }

    /// <summary>One episode's shadow world and search progress.</summary>
    private sealed class Episode
    {
        private readonly HashSet<int> _searched = [];
        private readonly HashSet<int> _lookedInto = [];
        private readonly HashSet<int> _closedAgain = [];
        private int _target = -1;

        public Episode(HouseholdTaskSpec spec, int sample, HouseholdExpertDecisions decisions)
        {
            Spec = spec;
            Sample = sample;
            Decisions = decisions;
            World = new HouseholdWorld(spec.Layout);
            ExpectedObservation = spec.FirstObservation(World);
        }

        public HouseholdTaskSpec Spec { get; }
        public int Sample { get; }
        public HouseholdExpertDecisions Decisions { get; }
        public HouseholdWorld World { get; private set; }
        public int Applied { get; private set; }
        public string ExpectedObservation { get; private set; }

        /// <summary>The receptacle to fill: the one of the believed kind already holding the most, chosen once per world.</summary>
        public int Target => _target >= 0 ? _target : _target = Decisions.Belief.BestTarget(World, out _);

        public void Apply(string action)
        {
            ExpectedObservation = World.Step(action);
            Applied++;
        }

        /// <summary>Rebuilds the shadow world from the episode's actions (the environment is deterministic, so this is its state).</summary>
        public void Resynchronise(IReadOnlyList<string?> actions)
        {
            World = new HouseholdWorld(Spec.Layout);
            _searched.Clear();
            _lookedInto.Clear();
            _closedAgain.Clear();
            _target = -1;
            ExpectedObservation = Spec.FirstObservation(World);
            foreach (string? action in actions)
                if (action is not null)
                    ExpectedObservation = World.Step(action);
            Applied = actions.Count;
        }

        public int? NextToSearch()
        {
            foreach (int r in Decisions.SearchOrder)
                if (!_searched.Contains(r))
                    return r;
            return null;
        }

        public void MarkSearched(int receptacle) => _searched.Add(receptacle);

        /// <summary>True the first time the search looks into this receptacle.</summary>
        public bool MarkLookedInto(int receptacle) => !World.IsOpen(receptacle) && _lookedInto.Add(receptacle);

        /// <summary>True the first time the search closes this receptacle after looking into it.</summary>
        public bool MarkClosedAgain(int receptacle) => _lookedInto.Contains(receptacle) && _closedAgain.Add(receptacle);
    }
}

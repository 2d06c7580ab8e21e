using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;

namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>
/// Sizes and seed of the household suite. Layout pools: <see cref="SeenLayouts"/> layouts (ids 0..n-1) serve train and
/// test_seen; <see cref="UnseenLayouts"/> layouts (ids from <see cref="HouseholdLayoutGenerator.UnseenLayoutBase"/>)
/// serve test_unseen only.
/// </summary>
public sealed record HouseholdOptions
{
    public ulong Seed { get; init; }
    public int TrainTasks { get; init; } = 1200;
    public int TestSeenTasks { get; init; } = 140;
    public int TestUnseenTasks { get; init; } = 134;
    public int SeenLayouts { get; init; } = 80;
    public int UnseenLayouts { get; init; } = 10;
}

/// <summary>
/// The household environment: ALFWorld-like single-room tasks of six types (see <see cref="HouseholdTaskType"/>).
/// Task indices run over all splits in this order: train [0, TrainTasks), test_seen [TrainTasks, +TestSeenTasks),
/// test_unseen after that. "test" is test_unseen (ETO evaluates on the unseen split); its tasks keep Split
/// "test_unseen". Everything is generated up front from <see cref="HouseholdOptions.Seed"/>, so the suite is immutable
/// and thread-safe.
/// </summary>
public sealed class HouseholdEnvironmentSuite : IEnvironmentSuite
{
    public const string EnvironmentName = "household";

    public const string WrongReceptacleOrder = "wrong_receptacle_order";
    public const string ForgottenStep = "forgotten_step";
    public const string WrongReceptacle = "wrong_receptacle";
    public const string WrongObject = "wrong_object";
    public const string InvalidCommand = "invalid_command";

    private readonly HouseholdTaskSpec[] _specs;
    private readonly Dictionary<string, IReadOnlyList<EnvironmentTask>> _splitTasks;
    private readonly Dictionary<int, HouseholdLayout> _layouts = [];

    public HouseholdEnvironmentSuite(HouseholdOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        RequireNonNegative(options.TrainTasks, nameof(options.TrainTasks));
        RequireNonNegative(options.TestSeenTasks, nameof(options.TestSeenTasks));
        RequireNonNegative(options.TestUnseenTasks, nameof(options.TestUnseenTasks));
        RequirePositive(options.SeenLayouts, nameof(options.SeenLayouts));
        RequirePositive(options.UnseenLayouts, nameof(options.UnseenLayouts));
        if (options.SeenLayouts >= HouseholdLayoutGenerator.UnseenLayoutBase)
            throw new ArgumentException($"household SeenLayouts must be below {HouseholdLayoutGenerator.UnseenLayoutBase}, is {options.SeenLayouts}", nameof(options));
        Options = options;

        var seen = Enumerable.Range(0, options.SeenLayouts).Select(id => Choices(options.Seed, id)).ToArray();
        var unseen = Enumerable.Range(HouseholdLayoutGenerator.UnseenLayoutBase, options.UnseenLayouts).Select(id => Choices(options.Seed, id)).ToArray();
        SeenLayoutIds = seen.Select(c => c.Layout.Id).ToArray();
        UnseenLayoutIds = unseen.Select(c => c.Layout.Id).ToArray();

        int total = options.TrainTasks + options.TestSeenTasks + options.TestUnseenTasks;
        _specs = new HouseholdTaskSpec[total];
        for (int index = 0; index < total; index++)
        {
            var task = new EnvironmentTask(EnvironmentName, index, SplitOf(index));
            _specs[index] = HouseholdTaskGenerator.Generate(options.Seed, task, task.Split == EnvironmentSplits.TestUnseen ? unseen : seen);
        }
        _splitTasks = new Dictionary<string, IReadOnlyList<EnvironmentTask>>(StringComparer.Ordinal)
        {
            [EnvironmentSplits.Train] = SplitTasks(EnvironmentSplits.Train),
            [EnvironmentSplits.TestSeen] = SplitTasks(EnvironmentSplits.TestSeen),
            [EnvironmentSplits.TestUnseen] = SplitTasks(EnvironmentSplits.TestUnseen),
        };
        _splitTasks[EnvironmentSplits.Test] = _splitTasks[EnvironmentSplits.TestUnseen];
    }

    public HouseholdOptions Options { get; }

    public string Name => EnvironmentName;

    public ReActProtocol Protocol { get; } = HouseholdProtocol.Create();

    public AgentGymDialect Dialect => AgentGymDialect.AlfWorld;

    public IReadOnlyList<string> Splits { get; } =
        [EnvironmentSplits.Train, EnvironmentSplits.TestSeen, EnvironmentSplits.TestUnseen, EnvironmentSplits.Test];

    public IReadOnlyList<int> SeenLayoutIds { get; }

    public IReadOnlyList<int> UnseenLayoutIds { get; }

    /// <summary>Default failure rates of <see cref="HouseholdExpert"/>; see its summary for what each mode does.</summary>
    public IReadOnlyDictionary<string, double> ExpertFailureModes { get; } = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        [WrongReceptacleOrder] = 0.25,
        [ForgottenStep] = 0.22,
        [WrongReceptacle] = 0.17,
        [WrongObject] = 0.27,
        [InvalidCommand] = 0.15,
    };

    public IReadOnlyList<EnvironmentTask> Tasks(string split) =>
        _splitTasks.TryGetValue(split, out IReadOnlyList<EnvironmentTask>? tasks)
            ? tasks
            : throw new ArgumentException($"household has no split '{split}'; known: {string.Join(", ", Splits)}", nameof(split));

    public EnvironmentTask Task(int index) => Spec(index).Task;

    /// <summary>The layout, goal and sentence of a task index.</summary>
    public HouseholdTaskSpec Spec(int index) =>
        index >= 0 && index < _specs.Length
            ? _specs[index]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"household has tasks 0..{_specs.Length - 1}");

    /// <summary>The spec of a task given to a session or policy; a task of another environment or index is an <see cref="ArgumentException"/>.</summary>
    public HouseholdTaskSpec Spec(EnvironmentTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Environment != EnvironmentName)
            throw new ArgumentException($"household cannot run task {task.Id} of environment '{task.Environment}'", nameof(task));
        return Spec(task.Index);
    }

    public HouseholdLayout Layout(int layoutId) =>
        _layouts.TryGetValue(layoutId, out HouseholdLayout? layout)
            ? layout
            : throw new ArgumentOutOfRangeException(nameof(layoutId), layoutId, "household suite has no such layout");

    public IEnvironmentSession CreateSession() => new HouseholdSession(this);

    public IPolicy CreateExpert(ExpertOptions options) => new HouseholdExpert(this, options);

    private IReadOnlyList<EnvironmentTask> SplitTasks(string split) => _specs.Select(spec => spec.Task).Where(task => task.Split == split).ToArray().AsReadOnly();

    private string SplitOf(int index) =>
        index < Options.TrainTasks ? EnvironmentSplits.Train
        : index < Options.TrainTasks + Options.TestSeenTasks ? EnvironmentSplits.TestSeen
        : EnvironmentSplits.TestUnseen;

    private HouseholdTaskGenerator.LayoutChoices Choices(ulong seed, int layoutId)
    {
        var choices = new HouseholdTaskGenerator.LayoutChoices(HouseholdLayoutGenerator.Generate(seed, layoutId));
        _layouts[layoutId] = choices.Layout;
        return choices;
    }

    private static void RequireNonNegative(int value, string name)
    {
        if (value < 0)
            throw new ArgumentException($"household {name} must be >= 0, is {value}", name);
    }

    private static void RequirePositive(int value, string name)
    {
        if (value <= 0)
            throw new ArgumentException($"household {name} must be > 0, is {value}", name);
    }
}

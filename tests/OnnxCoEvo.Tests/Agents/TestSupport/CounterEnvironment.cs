using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Tests.Agents.TestSupport;

/// <summary>
/// A tiny deterministic environment for testing the machinery around environments (farm, replay, HTTP) without
/// depending on WebShop or household. Task i asks to raise a counter from 0 to target (i % 5) + 1 with "inc"/"dec"
/// and then "submit"; reward = 1 when the counter equals the target, else value/target (0 when below zero).
/// </summary>
public sealed class CounterEnvironmentSuite(int trainTasks = 20, int testTasks = 5, int maxSteps = 10) : IEnvironmentSuite
{
    public const string EnvironmentName = "counter";

    public string Name => EnvironmentName;

    public ReActProtocol Protocol { get; } = new()
    {
        Environment = EnvironmentName,
        Instruction = "Raise the counter to the target, then submit. Actions: inc, dec, submit.\nThought: ...\nAction: ...",
        Example = [ChatMessage.User("value 0, target 1"), ChatMessage.Assistant("Thought: one step.\nAction: inc"),
                   ChatMessage.User("Observation: value 1, target 1"), ChatMessage.Assistant("Thought: done.\nAction: submit")],
        ObservationPrefix = "Observation: ",
        MaxSteps = maxSteps,
        ShowAvailableActions = true,
    };

    public AgentGymDialect Dialect => AgentGymDialect.AlfWorld;

    public IReadOnlyList<string> Splits { get; } = [EnvironmentSplits.Train, EnvironmentSplits.Test];

    public IReadOnlyList<EnvironmentTask> Tasks(string split) => split switch
    {
        EnvironmentSplits.Test => Enumerable.Range(0, testTasks).Select(Task).ToArray(),
        EnvironmentSplits.Train => Enumerable.Range(testTasks, trainTasks).Select(Task).ToArray(),
        _ => throw new ArgumentException($"counter has no split '{split}'; known: train, test"),
    };

    public EnvironmentTask Task(int index) =>
        index >= 0 && index < trainTasks + testTasks
            ? new EnvironmentTask(EnvironmentName, index, index < testTasks ? EnvironmentSplits.Test : EnvironmentSplits.Train)
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"counter has tasks 0..{trainTasks + testTasks - 1}");

    public static int Target(int index) => index % 5 + 1;

    public IEnvironmentSession CreateSession() => new CounterSession();

    public IReadOnlyDictionary<string, double> ExpertFailureModes { get; } = new Dictionary<string, double> { ["early_submit"] = 0.4 };

    public IPolicy CreateExpert(ExpertOptions options) => new CounterExpert(options.Resolve(EnvironmentName, ExpertFailureModes)["early_submit"], options.Seed);

    private sealed class CounterSession : IEnvironmentSession
    {
        private int _value;
        private bool _done;
        private string _observation = "";

        public EnvironmentTask? Task { get; private set; }

        public ValueTask<string> ResetAsync(EnvironmentTask task, CancellationToken cancellationToken = default)
        {
            Task = task;
            _value = 0;
            _done = false;
            _observation = Describe();
            return ValueTask.FromResult(_observation);
        }

        public ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default)
        {
            if (Task is null) throw new InvalidOperationException("counter: step before reset");
            if (_done) throw new InvalidOperationException($"counter: task {Task.Id} has finished");
            double reward = 0;
            switch (action.Trim())
            {
                case "inc": _value++; _observation = Describe(); break;
                case "dec": _value--; _observation = Describe(); break;
                case "submit":
                    int target = Target(Task.Index);
                    reward = _value == target ? 1.0 : Math.Max(0, (double)_value / target);
                    _done = true;
                    _observation = $"submitted {_value}";
                    break;
                default: _observation = "Nothing happened."; break;
            }
            return ValueTask.FromResult(new StepResult(_observation, reward, _done));
        }

        public ValueTask<string> ObservationAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_observation);

        public ValueTask<ActionSpace> AvailableActionsAsync(CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new ActionSpace(false, _done ? [] : ["inc", "dec", "submit"]));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private string Describe() => $"value {_value}, target {Target(Task!.Index)}";
    }

    /// <summary>Counts up from the observation it sees; with probability earlySubmitRate per (seed, task, sample) it submits one short.</summary>
    private sealed class CounterExpert(double earlySubmitRate, ulong seed) : IPolicy
    {
        public string Name => "expert:counter";

        public ValueTask<IReadOnlyList<PolicyTurn>> ActAsync(IReadOnlyList<PolicyRequest> batch, CancellationToken cancellationToken = default)
        {
            var turns = new PolicyTurn[batch.Count];
            for (int i = 0; i < batch.Count; i++)
            {
                PolicyRequest request = batch[i];
                string last = request.Conversation[^1].Content;
                int value = int.Parse(last[(last.IndexOf("value ", StringComparison.Ordinal) + 6)..last.IndexOf(',')], System.Globalization.CultureInfo.InvariantCulture);
                int target = Target(request.Task.Index);
                bool early = new Random(unchecked((int)(seed * 1_000_003UL + (ulong)request.Task.Index * 7919UL + (ulong)request.Sample))).NextDouble() < earlySubmitRate;
                int stopAt = early ? target - 1 : target;
                turns[i] = value < stopAt
                    ? new PolicyTurn(ReActParser.Format("below the target.", "inc"))
                    : new PolicyTurn(ReActParser.Format("at the target.", "submit"));
            }
            return ValueTask.FromResult<IReadOnlyList<PolicyTurn>>(turns);
        }

        public void EndEpisode(long episodeId) { }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

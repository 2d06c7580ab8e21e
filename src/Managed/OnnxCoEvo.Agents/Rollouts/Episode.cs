using System.Diagnostics;
using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Rollouts;

/// <summary>
/// One live episode under the ReAct protocol: the session, the conversation in canonical trajectory form, and the
/// step/reward bookkeeping of the ETO harness (papers.md §1). Every assistant turn is one step; a turn with no
/// parseable action answers <see cref="ReActProtocol.InvalidFormatObservation"/> without touching the environment;
/// the episode ends when the environment says done or after <see cref="MaxSteps"/> steps, and a timeout zeroes the
/// reward when the protocol says so. The final observation is kept (it carries the environment's verdict).
/// </summary>
public sealed class Episode : IAsyncDisposable
{
    /// <summary>Metadata key of the rollout sample index (repeated rollouts of one task).</summary>
    public const string SampleKey = "sample";

    /// <summary>Metadata key of the environment's info at the last step (WebShop's reward breakdown).</summary>
    public const string InfoKey = "info";

    /// <summary>Metadata key of the number of steps restored by replay before the policy took over (EEF probes).</summary>
    public const string ReplayedStepsKey = "replayed_steps";

    private readonly List<ChatMessage> _turns;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private IReadOnlyDictionary<string, JsonElement> _lastInfo = StepResult.NoInfo;

    private Episode(long id, EnvironmentTask task, int sample, IEnvironmentSession session, ReActProtocol protocol, int maxSteps, List<ChatMessage> turns, int steps)
    {
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "max steps must be at least 1");
        Id = id;
        Task = task;
        Sample = sample;
        Session = session;
        Protocol = protocol;
        MaxSteps = maxSteps;
        _turns = turns;
        Steps = steps;
        ReplayedSteps = steps;
    }

    public long Id { get; }
    public EnvironmentTask Task { get; }
    public int Sample { get; }
    public IEnvironmentSession Session { get; }
    public ReActProtocol Protocol { get; }
    public int MaxSteps { get; }

    /// <summary>The conversation so far: instruction, "OK", first observation, then assistant/observation pairs.</summary>
    public IReadOnlyList<ChatMessage> Turns => _turns;

    public int Steps { get; private set; }

    /// <summary>Steps restored from a recording before the policy acted (0 for a fresh start).</summary>
    public int ReplayedSteps { get; }

    /// <summary>The reward of the last environment step (the episode reward once finished; 0 after a timeout when the protocol zeroes it).</summary>
    public double Reward { get; private set; }

    public bool IsFinished => EndReason is not null;

    /// <summary>Null while live; a <see cref="TrajectoryEndReason"/> value once finished.</summary>
    public string? EndReason { get; private set; }

    /// <summary>Wall time since the episode started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Resets the session to the task and builds the first three turns.</summary>
    public static async ValueTask<Episode> StartAsync(long id, EnvironmentTask task, int sample, IEnvironmentSession session,
        ReActProtocol protocol, int? maxSteps = null, CancellationToken cancellationToken = default)
    {
        string first = await session.ResetAsync(task, cancellationToken).ConfigureAwait(false);
        ActionSpace? actions = protocol.ShowAvailableActions ? await session.AvailableActionsAsync(cancellationToken).ConfigureAwait(false) : null;
        return new Episode(id, task, sample, session, protocol, maxSteps ?? protocol.MaxSteps, [.. protocol.StartConversation(first, actions)], 0);
    }

    /// <summary>An episode whose session was positioned by <see cref="EpisodeReplay"/>; the policy continues from <paramref name="turns"/>.</summary>
    internal static Episode Restored(long id, EnvironmentTask task, int sample, IEnvironmentSession session, ReActProtocol protocol,
        int? maxSteps, List<ChatMessage> turns, int steps, double reward) =>
        new(id, task, sample, session, protocol, maxSteps ?? protocol.MaxSteps, turns, steps) { Reward = reward };

    /// <summary>What the policy is asked for this episode's next turn.</summary>
    public PolicyRequest ToRequest() => new(Id, Task, _turns, Sample);

    /// <summary>The request with the environment's current action space, for policies that constrain their actions to it.</summary>
    public async ValueTask<PolicyRequest> ToRequestWithActionsAsync(CancellationToken cancellationToken = default) =>
        new(Id, Task, _turns, Sample, await Session.AvailableActionsAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>Takes the policy's turn: parse, step the environment (or answer the invalid-format observation), update the end state.</summary>
    public async ValueTask ApplyAsync(PolicyTurn turn, CancellationToken cancellationToken = default)
    {
        if (IsFinished)
            throw new InvalidOperationException($"episode {Id} ({Task.Id}) has finished ({EndReason})");
        _turns.Add(ChatMessage.Assistant(turn.Text));
        Steps++;
        ReActStep parsed = ReActParser.Parse(turn.Text);
        if (parsed.Action is null)
        {
            Reward = 0;
            _turns.Add(ChatMessage.User(ReActProtocol.InvalidFormatObservation));
        }
        else
        {
            StepResult result = await Session.StepAsync(parsed.Action, cancellationToken).ConfigureAwait(false);
            Reward = result.Reward;
            _lastInfo = result.Info;
            ActionSpace? actions = Protocol.ShowAvailableActions && !result.Done
                ? await Session.AvailableActionsAsync(cancellationToken).ConfigureAwait(false)
                : null;
            _turns.Add(ChatMessage.User(Protocol.FormatObservation(result.Observation, actions)));
            if (result.Done)
            {
                EndReason = TrajectoryEndReason.Done;
                return;
            }
        }
        if (Steps >= MaxSteps)
        {
            EndReason = TrajectoryEndReason.MaxSteps;
            if (Protocol.ZeroRewardOnTimeout)
                Reward = 0;
        }
    }

    /// <summary>Ends a live episode early (time limit, context limit, policy gave up). Reward 0 when the protocol zeroes timeouts.</summary>
    public void Stop(string endReason)
    {
        ArgumentException.ThrowIfNullOrEmpty(endReason);
        if (IsFinished)
            return;
        EndReason = endReason;
        if (Protocol.ZeroRewardOnTimeout)
            Reward = 0;
    }

    /// <summary>The finished episode as a canonical trajectory record.</summary>
    public Trajectory ToTrajectory(string policyName)
    {
        if (!IsFinished)
            throw new InvalidOperationException($"episode {Id} ({Task.Id}) is still running");
        var metadata = new Dictionary<string, JsonElement>(StringComparer.Ordinal)
        {
            [SampleKey] = TrajectoryMetadata.Value(Sample),
        };
        if (ReplayedSteps > 0)
            metadata[ReplayedStepsKey] = TrajectoryMetadata.Value(ReplayedSteps);
        if (_lastInfo.Count > 0)
            metadata[InfoKey] = JsonSerializer.SerializeToElement(_lastInfo);
        return new Trajectory
        {
            TaskId = Task.Id,
            Environment = Task.Environment,
            Split = Task.Split,
            Policy = policyName,
            Reward = Reward,
            Success = Trajectory.IsSuccessReward(Reward),
            Steps = Steps,
            EndReason = EndReason!,
            Metadata = metadata,
            Turns = _turns.ToArray(),
        };
    }

    public ValueTask DisposeAsync() => Session.DisposeAsync();
}

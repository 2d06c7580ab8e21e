using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Environments;

/// <summary>
/// Restores an environment to an intermediate state of a recorded trajectory by resetting it to the task and replaying
/// the recorded actions, checking every observation against the recording (EEF simulates the student from expert
/// states this way). Any difference is a <see cref="ReplayDivergenceException"/>: a silently different state would
/// turn into wrong training labels.
/// </summary>
public static class EpisodeReplay
{
    /// <summary>The number of steps in a recording (assistant turns after the "OK" reply).</summary>
    public static int CountSteps(Trajectory recorded) => RecordedSteps(recorded).Count;

    /// <summary>
    /// Resets <paramref name="session"/> to <paramref name="task"/>, replays the first <paramref name="steps"/> steps of
    /// <paramref name="recorded"/> and returns a live episode positioned there, whose conversation is the recording's prefix.
    /// </summary>
    public static async ValueTask<Episode> RestoreAsync(IEnvironmentSession session, ReActProtocol protocol, EnvironmentTask task,
        Trajectory recorded, int steps, long episodeId = 0, int sample = 0, int? maxSteps = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        if (recorded.TaskId != task.Id)
            throw new ArgumentException($"recording is of task '{recorded.TaskId}', not '{task.Id}'", nameof(recorded));
        IReadOnlyList<(string AssistantText, string Observation)> recordedSteps = RecordedSteps(recorded);
        if (steps < 0 || steps > recordedSteps.Count)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"the recording of {task.Id} has {recordedSteps.Count} steps");

        string first = await session.ResetAsync(task, cancellationToken).ConfigureAwait(false);
        ActionSpace? actions = protocol.ShowAvailableActions ? await session.AvailableActionsAsync(cancellationToken).ConfigureAwait(false) : null;
        List<ChatMessage> turns = [.. protocol.StartConversation(first, actions)];
        Check(task, 0, null, recorded.Turns[2].Content, turns[2].Content);

        double reward = 0;
        for (int k = 0; k < steps; k++)
        {
            (string assistantText, string expected) = recordedSteps[k];
            string? action = ReActParser.Parse(assistantText).Action;
            string actual;
            if (action is null)
            {
                actual = ReActProtocol.InvalidFormatObservation;
                reward = 0;
            }
            else
            {
                StepResult result = await session.StepAsync(action, cancellationToken).ConfigureAwait(false);
                reward = result.Reward;
                ActionSpace? next = protocol.ShowAvailableActions && !result.Done
                    ? await session.AvailableActionsAsync(cancellationToken).ConfigureAwait(false)
                    : null;
                actual = protocol.FormatObservation(result.Observation, next);
                if (result.Done && k < steps - 1)
                    throw new ReplayDivergenceException(task.Id, k + 1, action,
                        $"the environment finished at step {k + 1} but the recording goes on to step {steps}");
            }
            Check(task, k + 1, action, expected, actual);
            turns.Add(ChatMessage.Assistant(assistantText));
            turns.Add(ChatMessage.User(actual));
        }
        return Episode.Restored(episodeId, task, sample, session, protocol, maxSteps, turns, steps, reward);
    }

    /// <summary>(assistant text, observation turn) per step: turns 3, 5, 7... and the user turn after each.</summary>
    private static IReadOnlyList<(string, string)> RecordedSteps(Trajectory recorded)
    {
        IReadOnlyList<ChatMessage> turns = recorded.Turns;
        if (turns.Count < 3 || turns[0].Role != ChatRole.User || turns[1].Role != ChatRole.Assistant || turns[2].Role != ChatRole.User)
            throw new ArgumentException($"recording of {recorded.TaskId} does not start with instruction, reply and first observation", nameof(recorded));
        var steps = new List<(string, string)>();
        for (int i = 3; i < turns.Count; i += 2)
        {
            if (turns[i].Role != ChatRole.Assistant)
                throw new ArgumentException($"recording of {recorded.TaskId}: turn {i} should be an assistant turn, is {turns[i].Role}", nameof(recorded));
            if (i + 1 >= turns.Count)
                break; // a last action without its observation cannot be checked; it is not a replayable step
            if (turns[i + 1].Role != ChatRole.User)
                throw new ArgumentException($"recording of {recorded.TaskId}: turn {i + 1} should be an observation, is {turns[i + 1].Role}", nameof(recorded));
            steps.Add((turns[i].Content, turns[i + 1].Content));
        }
        return steps;
    }

    private static void Check(EnvironmentTask task, int step, string? action, string expected, string actual)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
            throw new ReplayDivergenceException(task.Id, step, action, ReplayDivergenceException.Describe(expected, actual));
    }
}

/// <summary>A replayed action did not reproduce the recorded observation: the environment, its seed or the recording differ.</summary>
public sealed class ReplayDivergenceException(string taskId, int step, string? action, string detail)
    : Exception($"replay of {taskId} diverged at step {step}{(action is null ? "" : $" (action '{action}')")}: {detail}")
{
    public string TaskId { get; } = taskId;

    /// <summary>0 for the first observation, k for the observation after the k-th action.</summary>
    public int Step { get; } = step;

    public string? Action { get; } = action;

    internal static string Describe(string expected, string actual)
    {
        int at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
            at++;
        return $"observations differ at character {at}: recorded \"{Excerpt(expected, at)}\", got \"{Excerpt(actual, at)}\"";
    }

    private static string Excerpt(string text, int at)
    {
        int start = Math.Max(0, at - 20);
        int end = Math.Min(text.Length, at + 40);
        string excerpt = text[start..end].ReplaceLineEndings("\\n");
        return (start > 0 ? "..." : "") + excerpt + (end < text.Length ? "..." : "");
    }
}

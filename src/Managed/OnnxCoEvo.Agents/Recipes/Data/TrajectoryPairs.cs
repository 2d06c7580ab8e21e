using System.Collections.ObjectModel;
using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

/// <summary>
/// Builds one DPO pair from two trajectories of the same task (ETO's construct_preference.py, papers.md §4.3, §8.5):
/// prompt = the first three turns (instruction, "OK", first observation), which must be the same on both sides;
/// chosen and rejected = the rest of each conversation, cut so that it ends on an assistant turn (a final observation
/// carries no action to train on), the rejected side truncated to the chosen side's actions plus
/// <c>rejectedExtraTurns</c>. Every continuation turn gets <see cref="ChatMessage.Loss"/> null: DPO sums the
/// log-probs of every assistant turn of the continuation (papers.md §3), so a mask inherited from an SFT recipe
/// (EEF's loss false on an expert action) must not silently drop a turn from the preference.
/// </summary>
public static class TrajectoryPairs
{
    /// <summary>Turns before the first action: instruction, "OK", first observation.</summary>
    public const int PromptTurns = 3;

    /// <summary>
    /// The pair, or null when either side took no action (nothing to prefer). Throws <see cref="ArgumentException"/>
    /// naming the task when the two are of different tasks, their prompts differ, or a conversation is not in the
    /// canonical alternating form.
    /// </summary>
    public static PreferencePair? TryBuild(string id, string source, Trajectory chosen, Trajectory rejected, int rejectedExtraTurns,
        IReadOnlyDictionary<string, JsonElement>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        ArgumentOutOfRangeException.ThrowIfNegative(rejectedExtraTurns);
        if (!string.Equals(chosen.TaskId, rejected.TaskId, StringComparison.Ordinal))
            throw new ArgumentException($"pair '{id}': chosen is of task '{chosen.TaskId}', rejected of task '{rejected.TaskId}'", nameof(rejected));
        CheckForm(chosen, nameof(chosen));
        CheckForm(rejected, nameof(rejected));
        for (int i = 0; i < PromptTurns; i++)
            if (!SameTurn(chosen.Turns[i], rejected.Turns[i]))
                throw new ArgumentException(
                    $"task '{chosen.TaskId}': the two trajectories of pair '{id}' have different prompts (turn {i} differs: policies '{chosen.Policy}' and '{rejected.Policy}')",
                    nameof(rejected));

        int chosenActions = CountActions(chosen.Turns);
        int rejectedActions = Math.Min(CountActions(rejected.Turns), chosenActions + rejectedExtraTurns);
        if (chosenActions == 0 || rejectedActions == 0)
            return null;
        var pair = new PreferencePair
        {
            Id = id,
            Prompt = chosen.Turns.Take(PromptTurns).ToArray(),
            Chosen = Continuation(chosen.Turns, chosenActions),
            Rejected = Continuation(rejected.Turns, rejectedActions),
            ChosenReward = chosen.Reward,
            RejectedReward = rejected.Reward,
            Source = source,
            Metadata = metadata ?? ReadOnlyDictionary<string, JsonElement>.Empty,
        };
        pair.EnsureValid();
        return pair;
    }

    /// <summary>Assistant turns after the prompt (the "OK" reply is not an action).</summary>
    public static int CountActions(IReadOnlyList<ChatMessage> turns) => turns.Count <= PromptTurns ? 0 : (turns.Count - PromptTurns + 1) / 2;

    /// <summary>Same speaker and text; loss flags do not make two turns different.</summary>
    public static bool SameTurn(ChatMessage a, ChatMessage b) => a.Role == b.Role && string.Equals(a.Content, b.Content, StringComparison.Ordinal);

    /// <summary>True when the first <paramref name="count"/> turns of both conversations are the same (see <see cref="SameTurn"/>).</summary>
    public static bool SamePrefix(IReadOnlyList<ChatMessage> a, IReadOnlyList<ChatMessage> b, int count)
    {
        if (a.Count < count || b.Count < count)
            return false;
        for (int i = 0; i < count; i++)
            if (!SameTurn(a[i], b[i]))
                return false;
        return true;
    }

    /// <summary>
    /// Throws unless <paramref name="trajectory"/> is instruction (user), reply (assistant), first observation (user),
    /// then alternating assistant action / user observation, ending on either.
    /// </summary>
    public static void CheckForm(Trajectory trajectory, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        IReadOnlyList<ChatMessage> turns = trajectory.Turns;
        if (turns.Count < PromptTurns || turns[0].Role != ChatRole.User || turns[1].Role != ChatRole.Assistant || turns[2].Role != ChatRole.User)
            throw new ArgumentException(
                $"trajectory of task '{trajectory.TaskId}' ({trajectory.Policy}) does not start with instruction, reply and first observation", parameterName);
        for (int i = PromptTurns; i < turns.Count; i++)
        {
            ChatRole expected = (i - PromptTurns) % 2 == 0 ? ChatRole.Assistant : ChatRole.User;
            if (turns[i].Role != expected)
                throw new ArgumentException(
                    $"trajectory of task '{trajectory.TaskId}' ({trajectory.Policy}): turn {i} should be {expected}, is {turns[i].Role}", parameterName);
        }
    }

    /// <summary>Non-finite rewards cannot be ordered; say which trajectory has one.</summary>
    public static void CheckReward(Trajectory trajectory, string parameterName)
    {
        if (!double.IsFinite(trajectory.Reward))
            throw new ArgumentException($"trajectory of task '{trajectory.TaskId}' ({trajectory.Policy}) has reward {trajectory.Reward}", parameterName);
    }

    /// <summary>The turns after the prompt up to and including the <paramref name="actions"/>-th assistant turn, all trained.</summary>
    private static ChatMessage[] Continuation(IReadOnlyList<ChatMessage> turns, int actions)
    {
        var continuation = new ChatMessage[2 * actions - 1];
        for (int i = 0; i < continuation.Length; i++)
        {
            ChatMessage turn = turns[PromptTurns + i];
            continuation[i] = turn.Loss is null ? turn : turn with { Loss = null };
        }
        return continuation;
    }
}

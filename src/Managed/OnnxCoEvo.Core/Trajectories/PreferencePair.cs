using System.Collections.ObjectModel;
using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// A DPO example: a shared prompt and two multi-turn continuations, the better one <see cref="Chosen"/>.
/// Rules (ETO <c>construct_preference.py</c>, TRL explicit-prompt form): the prompt ends with a user turn;
/// chosen and rejected each start and end with an assistant turn (observations in between are user turns).
/// </summary>
public sealed record PreferencePair
{
    public required string Id { get; init; }
    public required IReadOnlyList<ChatMessage> Prompt { get; init; }
    public required IReadOnlyList<ChatMessage> Chosen { get; init; }
    public required IReadOnlyList<ChatMessage> Rejected { get; init; }
    public double? ChosenReward { get; init; }
    public double? RejectedReward { get; init; }

    /// <summary>Where the pair came from: a recipe ("eto", "coevo") or an imported format ("eto-dpo", "trl-dpo").</summary>
    public string? Source { get; init; }

    public IReadOnlyDictionary<string, JsonElement> Metadata { get; init; } = ReadOnlyDictionary<string, JsonElement>.Empty;

    /// <summary>The first broken rule, or null when the pair is valid.</summary>
    public PreferencePairProblem? FindProblem()
    {
        if (Prompt.Count == 0)
            return new PreferencePairProblem(PreferencePairPart.Prompt, null, "prompt is empty");
        if (Prompt[^1].Role != ChatRole.User)
            return new PreferencePairProblem(PreferencePairPart.Prompt, Prompt.Count - 1,
                $"prompt must end with a user turn, it ends with {RoleName(Prompt[^1].Role)}");
        return FindContinuationProblem(PreferencePairPart.Chosen, Chosen)
            ?? FindContinuationProblem(PreferencePairPart.Rejected, Rejected)
            ?? FindRewardProblem();
    }

    public bool IsValid => FindProblem() is null;

    /// <summary>Throws <see cref="ArgumentException"/> naming the pair and the rule it breaks.</summary>
    public void EnsureValid()
    {
        if (FindProblem() is { } problem)
            throw new ArgumentException($"preference pair '{Id}': {problem}");
    }

    private static PreferencePairProblem? FindContinuationProblem(PreferencePairPart part, IReadOnlyList<ChatMessage> turns)
    {
        string name = PartName(part);
        if (turns.Count == 0)
            return new PreferencePairProblem(part, null, $"{name} is empty");
        if (turns[0].Role != ChatRole.Assistant)
            return new PreferencePairProblem(part, 0, $"{name} must start with an assistant turn, it starts with {RoleName(turns[0].Role)}");
        if (turns[^1].Role != ChatRole.Assistant)
            return new PreferencePairProblem(part, turns.Count - 1, $"{name} must end with an assistant turn, it ends with {RoleName(turns[^1].Role)}");
        return null;
    }

    private PreferencePairProblem? FindRewardProblem()
    {
        if (ChosenReward is double chosen && !double.IsFinite(chosen))
            return new PreferencePairProblem(PreferencePairPart.ChosenReward, null, "chosen_reward must be finite");
        if (RejectedReward is double rejected && !double.IsFinite(rejected))
            return new PreferencePairProblem(PreferencePairPart.RejectedReward, null, "rejected_reward must be finite");
        return null;
    }

    internal static string PartName(PreferencePairPart part) => part switch
    {
        PreferencePairPart.Prompt => "prompt",
        PreferencePairPart.Chosen => "chosen",
        PreferencePairPart.Rejected => "rejected",
        PreferencePairPart.ChosenReward => "chosen_reward",
        _ => "rejected_reward",
    };

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "a system turn",
        ChatRole.User => "a user turn",
        _ => "an assistant turn",
    };
}

public enum PreferencePairPart { Prompt, Chosen, Rejected, ChosenReward, RejectedReward }

/// <summary>A broken pair rule: which part, which turn (null for the part as a whole) and what is wrong.</summary>
public sealed record PreferencePairProblem(PreferencePairPart Part, int? TurnIndex, string Message)
{
    /// <summary>JSON path of the fault below the pair object, e.g. "$[3]" + ".chosen[4].from".</summary>
    public string PathBelow(string pairPath, string speakerKey) =>
        TurnIndex is int index
            ? $"{pairPath}.{PreferencePair.PartName(Part)}[{index}].{speakerKey}"
            : $"{pairPath}.{PreferencePair.PartName(Part)}";

    public override string ToString() => Message;
}

/// <summary>Preference pairs read from a file. With dropping enabled, pairs that break the rules land in <see cref="Dropped"/>.</summary>
public sealed record PreferencePairReadResult(
    IReadOnlyList<PreferencePair> Pairs,
    IReadOnlyList<DroppedPreferencePair> Dropped,
    JsonlTornTail? TornTail = null);

/// <summary>A pair left out on reading: its id, where it was ("$[3].chosen[4].from") and the rule it broke.</summary>
public sealed record DroppedPreferencePair(string Id, string Position, string Problem);

/// <summary>Shared by the pair readers: keep a valid pair, drop an invalid one (when asked) or throw with its path.</summary>
internal sealed class PreferencePairCollector(bool dropInvalidPairs)
{
    public List<PreferencePair> Pairs { get; } = [];
    public List<DroppedPreferencePair> Dropped { get; } = [];

    /// <param name="source">Where the pair was read; <paramref name="pairPath"/> is its object's JSON path ("$[3]", "$").</param>
    public void Add(PreferencePair pair, JsonSource source, string pairPath, string speakerKey)
    {
        if (pair.FindProblem() is not { } problem)
        {
            Pairs.Add(pair);
            return;
        }
        string position = source.Position(problem.PathBelow(pairPath, speakerKey));
        if (!dropInvalidPairs)
            throw new DataFormatException(source.FilePath, position, problem.Message);
        Dropped.Add(new DroppedPreferencePair(pair.Id, position, problem.Message));
    }

    public PreferencePairReadResult ToResult(JsonlTornTail? tornTail = null) => new(Pairs, Dropped, tornTail);
}

using System.Globalization;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

/// <summary>
/// The expert's id clicks (choosing a product from a results page: <c>click[B0A1N65E9H]</c>) as short samples: the
/// protocol's instruction and "OK", the page the choice was made on, and the expert's turn. In an agent episode this
/// one decision is ~10 trained tokens among ~1,300; alone it is ~1/3 the tokens and can be repeated for several epochs.
/// It is retrieval (find the listing that fits the instruction, copy the id written before it), the skill a small model
/// trained from scratch lacks longest. The page carries the instruction, so nothing the choice depends on is cut.
/// Only successful episodes are used: their clicks chose the right product.
/// </summary>
public static class DecisionPractice
{
    /// <summary>Turns before the first observation: the instruction and the agent's "OK".</summary>
    private const int ProtocolTurns = 2;

    public static IReadOnlyList<Trajectory> IdClicks(IEnumerable<Trajectory> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var samples = new List<Trajectory>();
        foreach (Trajectory episode in episodes.Where(e => e.MeetsSuccessRule))
        {
            IReadOnlyList<ChatMessage> turns = episode.Turns;
            for (int i = ProtocolTurns + 1; i < turns.Count; i++)
            {
                if (turns[i].Role != ChatRole.Assistant || turns[i - 1].Role != ChatRole.User || !ClicksAnId(turns[i].Content))
                    continue;
                samples.Add(episode with
                {
                    TaskId = $"{episode.TaskId}#step{((i - ProtocolTurns) / 2).ToString(CultureInfo.InvariantCulture)}",
                    Steps = 1,
                    Turns = [.. turns.Take(ProtocolTurns), turns[i - 1], turns[i] with { Loss = null }],
                });
            }
        }
        return samples;
    }

    private static bool ClicksAnId(string turn)
    {
        string? action = ReActParser.Parse(turn).Action;
        return action is not null && action.StartsWith("click[", StringComparison.Ordinal) && action.EndsWith(']')
               && CopyPretraining.IsId(action["click[".Length..^1]);
    }
}

using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

/// <summary>ETO pairing knobs. A "turn" is one assistant action with its observation.</summary>
public sealed record EtoPairingOptions
{
    /// <summary>The rejected side keeps at most the expert's turns plus this many (ETO: len(gold) + 10 messages = 5 turns).</summary>
    public int RejectedExtraTurns { get; init; } = 5;
}

/// <summary>ETO's pairs for one exploration round, with the counts the run logs.</summary>
public sealed record EtoPairingResult(IReadOnlyList<PreferencePair> Pairs, int AgentWins, int ExpertWins, int Ties, int MissingExpert)
{
    /// <summary>Decided comparisons that gave no pair because one side took no action at all (nothing to prefer).</summary>
    public int Unpairable { get; init; }
}

/// <summary>
/// ETO (construct_preference.py): per task, the agent's explored trajectory against the expert's, compared by the
/// expert's OWN reward (the agent may win, then it is chosen); ties dropped; the rejected side truncated to the chosen
/// side's length + <see cref="EtoPairingOptions.RejectedExtraTurns"/> turns; prompt = instruction + "OK" + first
/// observation; both continuations end on an assistant turn (see <see cref="TrajectoryPairs"/>).
/// <para>Choices where ETO is silent: several explored trajectories of one task each pair with the task's expert
/// (ETO explores once per task); their ids are "eto:&lt;task_id&gt;" for the first and "eto:&lt;task_id&gt;#k" for the
/// k-th further one, in input order. The truncation applies to whichever side is rejected, so when the agent wins the
/// expert is cut to the agent's length + 5. Two experts for one task are an error: the gold reward would be ambiguous.</para>
/// </summary>
public static class EtoPairBuilder
{
    public const string Source = "eto";

    public static EtoPairingResult Build(IReadOnlyList<Trajectory> experts, IReadOnlyList<Trajectory> explored, EtoPairingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(experts);
        ArgumentNullException.ThrowIfNull(explored);
        options ??= new EtoPairingOptions();
        if (options.RejectedExtraTurns < 0)
            throw new ArgumentException($"RejectedExtraTurns must be >= 0, is {options.RejectedExtraTurns}", nameof(options));

        var expertByTask = new Dictionary<string, Trajectory>(StringComparer.Ordinal);
        foreach (Trajectory expert in experts)
        {
            TrajectoryPairs.CheckReward(expert, nameof(experts));
            if (!expertByTask.TryAdd(expert.TaskId, expert))
                throw new ArgumentException($"two expert trajectories for task '{expert.TaskId}'", nameof(experts));
        }

        var pairs = new List<PreferencePair>();
        var seenPerTask = new Dictionary<string, int>(StringComparer.Ordinal);
        int agentWins = 0, expertWins = 0, ties = 0, missing = 0, unpairable = 0;
        foreach (Trajectory agent in explored)
        {
            TrajectoryPairs.CheckReward(agent, nameof(explored));
            if (!expertByTask.TryGetValue(agent.TaskId, out Trajectory? expert))
            {
                missing++;
                continue;
            }
            int occurrence = seenPerTask.GetValueOrDefault(agent.TaskId);
            seenPerTask[agent.TaskId] = occurrence + 1;
            if (agent.Reward == expert.Reward)
            {
                ties++;
                continue;
            }
            bool agentWon = agent.Reward > expert.Reward;
            string id = occurrence == 0 ? $"{Source}:{agent.TaskId}" : $"{Source}:{agent.TaskId}#{occurrence}";
            PreferencePair? pair = agentWon
                ? TrajectoryPairs.TryBuild(id, Source, agent, expert, options.RejectedExtraTurns)
                : TrajectoryPairs.TryBuild(id, Source, expert, agent, options.RejectedExtraTurns);
            if (pair is null)
            {
                unpairable++;
                continue;
            }
            if (agentWon) agentWins++;
            else expertWins++;
            pairs.Add(pair);
        }
        return new EtoPairingResult(pairs, agentWins, expertWins, ties, missing) { Unpairable = unpairable };
    }
}

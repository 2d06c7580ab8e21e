using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.Household;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Tests.Agents.Household;

/// <summary>One finished episode: reward, whether the environment said done, the steps taken and the conversation.</summary>
public sealed record HouseholdEpisode(EnvironmentTask Task, double Reward, bool Done, int Steps, IReadOnlyList<ChatMessage> Conversation)
{
    public bool Success => Reward == 1.0;

    /// <summary>The actions the policy wrote, in order.</summary>
    public IEnumerable<string> Actions =>
        Conversation.Skip(3).Where(m => m.Role == ChatRole.Assistant).Select(m => ReActParser.Parse(m.Content).Action ?? "");

    /// <summary>The environment's answers (prefix and action list removed), in order.</summary>
    public IEnumerable<string> Observations =>
        Conversation.Skip(3).Where(m => m.Role == ChatRole.User).Select(m => m.Content["Observation: ".Length..].Split("\nAVAILABLE ACTIONS: ")[0]);
}

/// <summary>
/// A private rollout loop for these tests (the shared farm is written elsewhere): reset, ask the policy, parse the
/// action, step, format the observation with the protocol and the admissible commands, until done or the step limit.
/// </summary>
public static class HouseholdEpisodeRunner
{
    public static async Task<HouseholdEpisode> RunAsync(IEnvironmentSuite suite, IPolicy policy, EnvironmentTask task, int sample = 0, long episodeId = 1)
    {
        ReActProtocol protocol = suite.Protocol;
        await using IEnvironmentSession session = suite.CreateSession();
        string first = await session.ResetAsync(task);
        var conversation = new List<ChatMessage>(protocol.StartConversation(first, await session.AvailableActionsAsync()));
        double reward = 0;
        bool done = false;
        int steps = 0;
        while (!done && steps < protocol.MaxSteps)
        {
            PolicyTurn turn = (await policy.ActAsync([new PolicyRequest(episodeId, task, conversation, sample)]))[0];
            conversation.Add(ChatMessage.Assistant(turn.Text));
            steps++;
            string? action = ReActParser.Parse(turn.Text).Action;
            if (action is null)
            {
                conversation.Add(ChatMessage.User(ReActProtocol.InvalidFormatObservation));
                continue;
            }
            StepResult result = await session.StepAsync(action);
            (reward, done) = (result.Reward, result.Done);
            conversation.Add(ChatMessage.User(protocol.FormatObservation(result.Observation, await session.AvailableActionsAsync())));
        }
        policy.EndEpisode(episodeId);
        if (!done && protocol.ZeroRewardOnTimeout)
            reward = 0;
        return new HouseholdEpisode(task, reward, done, steps, conversation);
    }

    public static async Task<IReadOnlyList<HouseholdEpisode>> RunAllAsync(IEnvironmentSuite suite, IPolicy policy, IEnumerable<EnvironmentTask> tasks, int sample = 0)
    {
        var episodes = new List<HouseholdEpisode>();
        long id = 0;
        foreach (EnvironmentTask task in tasks)
            episodes.Add(await RunAsync(suite, policy, task, sample, ++id));
        return episodes;
    }
}

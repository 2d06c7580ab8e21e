using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Tests.Agents.WebShopEnv;

/// <summary>One finished episode: the reward after the protocol's timeout rule, whether it ended by buying, the actions taken, the conversation.</summary>
internal sealed record WebShopEpisode(double Reward, bool Done, IReadOnlyList<string> Actions, IReadOnlyList<ChatMessage> Conversation, int RejectedActions)
{
    public bool Success => Reward >= 1.0;

    /// <summary>The asin the done page names as purchased, or null when the episode did not buy.</summary>
    public string? PurchasedAsin
    {
        get
        {
            if (!Done)
                return null;
            string[] parts = Conversation[^1].Content.Split(" [SEP] ");
            return parts[Array.IndexOf(parts, "asin") + 1];
        }
    }
}

/// <summary>A private ReAct loop for these tests (reset, ask, parse, step; reward 0 on timeout), kept apart from the rollout farm.</summary>
internal static class WebShopEpisodes
{
    public static async Task<WebShopEpisode> RunAsync(IEnvironmentSuite suite, IPolicy policy, EnvironmentTask task, long episodeId, int sample = 0)
    {
        ReActProtocol protocol = suite.Protocol;
        await using IEnvironmentSession session = suite.CreateSession();
        var conversation = new List<ChatMessage>(protocol.StartConversation(await session.ResetAsync(task)));
        var actions = new List<string>();
        int rejected = 0;
        double reward = 0;
        bool done = false;
        for (int step = 0; step < protocol.MaxSteps && !done; step++)
        {
            PolicyTurn turn = (await policy.ActAsync([new PolicyRequest(episodeId, task, conversation, sample)]))[0];
            conversation.Add(ChatMessage.Assistant(turn.Text));
            ReActStep parsed = ReActParser.Parse(turn.Text);
            if (parsed.Action is null)
            {
                conversation.Add(ChatMessage.User(ReActProtocol.InvalidFormatObservation));
                continue;
            }
            actions.Add(parsed.Action);
            if (!await IsAcceptedAsync(session, parsed.Action))
                rejected++;
            StepResult result = await session.StepAsync(parsed.Action);
            conversation.Add(ChatMessage.User(protocol.FormatObservation(result.Observation)));
            (reward, done) = (result.Reward, result.Done);
        }
        policy.EndEpisode(episodeId);
        return new WebShopEpisode(done || !protocol.ZeroRewardOnTimeout ? reward : 0, done, actions, conversation, rejected);
    }

    /// <summary>Whether the page takes the action: any search, or a click on one of its clickables.</summary>
    private static async Task<bool> IsAcceptedAsync(IEnvironmentSession session, string action)
    {
        if (action.StartsWith("search[", StringComparison.Ordinal) && action.EndsWith(']'))
            return true;
        if (!action.StartsWith("click[", StringComparison.Ordinal) || !action.EndsWith(']'))
            return false;
        string value = action["click[".Length..^1].ToLowerInvariant();
        return value != "search" && (await session.AvailableActionsAsync()).Commands.Contains(value);
    }

    public static async Task<List<WebShopEpisode>> RunAllAsync(IEnvironmentSuite suite, IPolicy policy, IEnumerable<EnvironmentTask> tasks, int sample = 0)
    {
        var episodes = new List<WebShopEpisode>();
        long id = 0;
        foreach (EnvironmentTask task in tasks)
            episodes.Add(await RunAsync(suite, policy, task, id++, sample));
        return episodes;
    }
}

using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Agents.Protocol;

/// <summary>
/// The ReAct protocol as the ETO harness runs it (reference: papers.md §1, environments.md §3.4): an instruction turn,
/// an "OK" reply, optionally one in-context example, then the task's first observation; every assistant turn is
/// <c>Thought: ...\nAction: ...</c>; every environment answer is a user turn prefixed with
/// <see cref="ObservationPrefix"/>. An episode ends when the environment says done or after <see cref="MaxSteps"/>
/// steps; on timeout the reward is 0 when <see cref="ZeroRewardOnTimeout"/> (WebShop, ALFWorld). Success is reward 1.0.
/// </summary>
public sealed record ReActProtocol
{
    /// <summary>What ETO answers when an assistant turn has no "Action:"; the step counts, reward 0, not done.</summary>
    public const string InvalidFormatObservation = "Observation: Invalid format. The input must contains 'Action: '";

    /// <summary>Put before the task's first observation when the in-context example precedes it.</summary>
    public const string TaskIntroduction = "Now, it's your turn and here is the task.\n";

    /// <summary>The assistant's first reply, after the instruction turn. Never trained on.</summary>
    public const string Acknowledgement = "OK";

    public required string Environment { get; init; }

    /// <summary>The first user turn: what the environment is, the action grammar, the response format.</summary>
    public required string Instruction { get; init; }

    /// <summary>One solved task as alternating user (observation) / assistant turns, starting with the task's first observation and ending with an assistant turn. Written by us.</summary>
    public required IReadOnlyList<ChatMessage> Example { get; init; }

    /// <summary>"Observation:\n" (WebShop, as ETO) or "Observation: " (household, as ALFWorld in ETO).</summary>
    public required string ObservationPrefix { get; init; }

    public required int MaxSteps { get; init; }

    public bool ZeroRewardOnTimeout { get; init; } = true;

    /// <summary>Append "\nAVAILABLE ACTIONS: a,b,c" to observations (AgentGym's ALFWorld client does; WebShop pages list their clickables inline).</summary>
    public bool ShowAvailableActions { get; init; }

    /// <summary>
    /// The environment's action grammar in one state (its action space and the observation that shows it), for
    /// constrained decoding (<see cref="ReActActionConstraint"/>); null: none.
    /// </summary>
    public Func<ActionSpace, string, ActionChoices>? ChoicesOf { get; init; }

    /// <summary>The first three turns of every episode: instruction, "OK" (loss false), first observation.</summary>
    public IReadOnlyList<ChatMessage> StartConversation(string firstObservation, ActionSpace? actions = null) =>
    [
        ChatMessage.User(Instruction),
        ChatMessage.Assistant(Acknowledgement, loss: false),
        ChatMessage.User(AppendActions(firstObservation, actions)),
    ];

    /// <summary>The user turn for an environment answer: prefix + observation (+ the action list when configured).</summary>
    public string FormatObservation(string observation, ActionSpace? actions = null) => ObservationPrefix + AppendActions(observation, actions);

    /// <summary>
    /// What a model sees: the canonical turns, with the in-context example inserted after "OK" and the task's first
    /// observation introduced by <see cref="TaskIntroduction"/> when <paramref name="includeExample"/>.
    /// </summary>
    public IReadOnlyList<ChatMessage> PolicyView(IReadOnlyList<ChatMessage> conversation, bool includeExample)
    {
        if (!includeExample || conversation.Count < 3)
            return conversation;
        var view = new List<ChatMessage>(conversation.Count + Example.Count);
        view.Add(conversation[0]);
        view.Add(conversation[1]);
        view.AddRange(Example);
        view.Add(conversation[2] with { Content = TaskIntroduction + conversation[2].Content });
        for (int i = 3; i < conversation.Count; i++)
            view.Add(conversation[i]);
        return view;
    }

    private string AppendActions(string observation, ActionSpace? actions) =>
        ShowAvailableActions && actions is not null
            ? observation + "\nAVAILABLE ACTIONS: " + string.Join(",", actions.Commands)
            : observation;
}

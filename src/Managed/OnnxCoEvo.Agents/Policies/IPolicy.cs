using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Agents.Policies;

/// <summary>
/// Produces the next assistant turn for a batch of live episodes: the rollout farm makes one call per turn across every
/// episode waiting for an action. Implementations: scripted experts (per environment), ONNX Runtime models, CUDA decode.
/// <para>A policy may keep per-episode state (an expert's plan, a model's KV cache) keyed by
/// <see cref="PolicyRequest.EpisodeId"/>; the farm calls <see cref="EndEpisode"/> when an episode ends so it can be freed.
/// Episode ids are unique within one policy's lifetime.</para>
/// </summary>
public interface IPolicy : IAsyncDisposable
{
    /// <summary>Recorded as <c>Trajectory.Policy</c>, e.g. "expert:webshop", "onnx:runs/tiny/onnx".</summary>
    string Name { get; }

    /// <summary>One turn per request, in request order.</summary>
    ValueTask<IReadOnlyList<PolicyTurn>> ActAsync(IReadOnlyList<PolicyRequest> batch, CancellationToken cancellationToken = default);

    /// <summary>True when the policy reads <see cref="PolicyRequest.Actions"/> (constrained decoding); the farm then asks the environment every turn.</summary>
    bool NeedsActionSpace => false;

    /// <summary>Forget everything kept for this episode. Unknown ids are ignored.</summary>
    void EndEpisode(long episodeId);
}

/// <summary>
/// One live episode asking for its next turn. <see cref="Conversation"/> is the episode so far in the canonical
/// trajectory form (instruction, "OK", first observation, then assistant/observation turns; no in-context example):
/// model policies build their prompt from it with <c>ReActProtocol.PolicyView</c>. <see cref="Sample"/> tells repeated
/// rollouts of one task apart (seeds sampling and expert decisions). <see cref="Actions"/> is what the environment accepts
/// now, given only to policies that ask for it (<see cref="IPolicy.NeedsActionSpace"/>).
/// </summary>
public sealed record PolicyRequest(long EpisodeId, EnvironmentTask Task, IReadOnlyList<ChatMessage> Conversation, int Sample = 0,
    ActionSpace? Actions = null);

/// <summary>
/// The assistant's text ("Thought: ...\nAction: ...") and the token counts behind it (0 for scripted policies).
/// <see cref="EndEpisode"/> set means the policy cannot go on (e.g. "context_limit": the conversation no longer fits
/// the model): the farm ends the episode with that reason and does not apply <see cref="Text"/>.
/// </summary>
public sealed record PolicyTurn(string Text, int PromptTokens = 0, int GeneratedTokens = 0, string? EndEpisode = null);

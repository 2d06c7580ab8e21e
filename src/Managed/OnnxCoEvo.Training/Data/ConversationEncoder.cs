using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Training.Data;

/// <summary>A preference pair as two token sequences: prompt + chosen and prompt + rejected, masked to the continuation.</summary>
public sealed record PreferenceSequences(string Id, TrainingSequence Chosen, TrainingSequence Rejected);

/// <summary>
/// Turns conversations into token ids + loss masks with the model's chat template. SFT trains every assistant turn
/// whose per-turn loss flag is not false (AgentGym's "loss", EEF's harmful-action masking). DPO scores only the
/// continuation: assistant turns inside the shared prompt (ETO's "OK" turn) are masked, and the log-prob sum runs over
/// every assistant turn of the multi-turn continuation, observations masked (ETO/IPR's train_dpo rule).
/// </summary>
public sealed class ConversationEncoder(IChatTemplate template)
{
    public IChatTemplate Template { get; } = template;

    public TrainingSequence Encode(IReadOnlyList<ChatMessage> turns)
    {
        RenderedConversation rendered = Template.Render(turns, addGenerationPrompt: false);
        return new TrainingSequence(rendered.TokenIds, rendered.AssistantMask);
    }

    public PreferenceSequences EncodePair(PreferencePair pair)
    {
        var prompt = pair.Prompt.Select(m => m.Role == ChatRole.Assistant ? m with { Loss = false } : m).ToList();
        return new PreferenceSequences(pair.Id, Encode([.. prompt, .. pair.Chosen]), Encode([.. prompt, .. pair.Rejected]));
    }
}

namespace OnnxCoEvo.Core.Chat;

/// <summary>A half-open range [Start, End) of token positions.</summary>
public readonly record struct TokenSpan(int Start, int End)
{
    public int Length => End - Start;
}

/// <summary>
/// A conversation rendered by a chat template. <see cref="AssistantMask"/>[i] is true where token i is trained on:
/// the content and closing end-of-turn token of assistant turns whose <see cref="ChatMessage.IsTrained"/> holds;
/// role headers, separators, system and user turns and assistant turns with Loss=false are false.
/// <see cref="TurnSpans"/>[k] covers message k of the input (a template-inserted default system turn belongs to no
/// span); tokens from <see cref="GenerationPromptStart"/> on are the generation prompt (none when it equals the length).
/// </summary>
public sealed record RenderedConversation(
    int[] TokenIds,
    bool[] AssistantMask,
    IReadOnlyList<TokenSpan> TurnSpans,
    int GenerationPromptStart,
    string Text)
{
    public int Length => TokenIds.Length;

    public int TrainedTokenCount => AssistantMask.Count(m => m);
}

using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Core.Chat;

/// <summary>
/// A chat format bound to a tokenizer: renders conversations to token ids with an exact training mask, names its
/// stop tokens for generation, and gives an equivalent Jinja template for tokenizer_config.json.
/// </summary>
public interface IChatTemplate
{
    /// <summary>"chatml", "llama3" or "plain".</summary>
    string Name { get; }

    BpeTokenizer Tokenizer { get; }

    /// <summary>The special tokens the format writes; the tokenizer has all of them (checked on creation).</summary>
    IReadOnlyList<string> SpecialTokens { get; }

    /// <summary>Ids that end an assistant turn in generation: the format's end-of-turn token, plus the tokenizer's EOS.</summary>
    IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>The end-of-turn token the model learns to emit after an assistant turn.</summary>
    string EndOfTurnToken { get; }

    /// <summary>
    /// A Jinja chat_template that renders the same text in transformers' apply_chat_template (best effort: plain string
    /// content and the three roles only; masks there need generation markers this template does not carry).
    /// </summary>
    string JinjaTemplate { get; }

    RenderedConversation Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt);
}

/// <summary>Options shared by the templates.</summary>
/// <param name="DefaultSystemPrompt">
/// Rendered as a system turn when the conversation does not start with one (Qwen2.5's chat template inserts
/// "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."); null inserts nothing.
/// </param>
/// <param name="SpecialTokensInContentAsText">
/// Encode special-token text inside message content as plain text (default), so an observation containing
/// "&lt;|im_end|&gt;" cannot end a turn. transformers parses them as tokens instead.
/// </param>
public sealed record ChatTemplateOptions(string? DefaultSystemPrompt = null, bool SpecialTokensInContentAsText = true)
{
    public static ChatTemplateOptions Default { get; } = new();
}

using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Core.Chat;

/// <summary>
/// The compact format of the toolkit's own tiny models (two tokens of overhead per user turn, three per assistant turn,
/// besides the newlines):
/// <code>
/// &lt;|bos|&gt;
/// &lt;|system|&gt;\n{content}\n
/// &lt;|user|&gt;\n{content}\n
/// &lt;|assistant|&gt;\n{content}&lt;|end|&gt;\n
/// </code>
/// Generation prompt <c>&lt;|assistant|&gt;\n</c>; the model stops with &lt;|end|&gt;. Trained: assistant content and
/// &lt;|end|&gt;. &lt;|pad|&gt; is in the tokenizer for batching but never rendered.
/// </summary>
public sealed class PlainChatTemplate(BpeTokenizer tokenizer, ChatTemplateOptions? options = null)
    : PieceChatTemplate(TemplateName, tokenizer, RequiredTokens, End, options)
{
    public const string TemplateName = "plain";
    public const string Pad = "<|pad|>";
    public const string Bos = "<|bos|>";
    public const string End = "<|end|>";
    public const string System = "<|system|>";
    public const string User = "<|user|>";
    public const string Assistant = "<|assistant|>";

    /// <summary>The special tokens the format writes (and that detection looks for in a tokenizer).</summary>
    public static IReadOnlyList<string> RequiredTokens { get; } = [Bos, System, User, Assistant, End];

    /// <summary>The tokenizer's special tokens in id order (pad = 0, bos = 1, end = 2, ...).</summary>
    public static IReadOnlyList<string> TokenizerSpecialTokens { get; } = [Pad, Bos, End, System, User, Assistant];

    public override string JinjaTemplate =>
        "{{- '<|bos|>' }}"
        + JinjaDefaultSystem(prompt => $"{System}\n{prompt}\n")
        + "{%- for message in messages %}{%- if message['role'] == 'assistant' %}{{- '<|assistant|>\\n' + message['content'] + '<|end|>\\n' }}"
        + "{%- else %}{{- '<|' + message['role'] + '|>\\n' + message['content'] + '\\n' }}{%- endif %}{%- endfor %}"
        + "{%- if add_generation_prompt %}{{- '<|assistant|>\\n' }}{%- endif %}";

    protected override void WriteStart(PieceWriter output) => output.Special(Bos);

    protected override void WriteTurn(PieceWriter output, ChatMessage message)
    {
        bool assistant = message.Role == ChatRole.Assistant;
        output.Special(message.Role switch { ChatRole.System => System, ChatRole.User => User, _ => Assistant });
        output.Text("\n");
        output.Content(message.Content, message.IsTrained);
        if (assistant) output.Special(End, message.IsTrained);
        output.Text("\n");
    }

    protected override void WriteGenerationPrompt(PieceWriter output)
    {
        output.Special(Assistant);
        output.Text("\n");
    }
}

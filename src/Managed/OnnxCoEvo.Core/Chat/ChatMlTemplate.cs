using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Core.Chat;

/// <summary>
/// ChatML as Qwen2.5 renders it without tools: <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c> per message,
/// generation prompt <c>&lt;|im_start|&gt;assistant\n</c>. Trained: content and &lt;|im_end|&gt;; the "\n" after it is not.
/// </summary>
public sealed class ChatMlTemplate(BpeTokenizer tokenizer, ChatTemplateOptions? options = null)
    : PieceChatTemplate(TemplateName, tokenizer, [ImStart, ImEnd], ImEnd, options)
{
    public const string TemplateName = "chatml";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";

    /// <summary>Qwen2.5's default system prompt, for <see cref="ChatTemplateOptions.DefaultSystemPrompt"/>.</summary>
    public const string QwenDefaultSystemPrompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

    public override string JinjaTemplate =>
        JinjaDefaultSystem(prompt => $"{ImStart}system\n{prompt}{ImEnd}\n")
        + "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}"
        + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    protected override void WriteTurn(PieceWriter output, ChatMessage message)
    {
        output.Special(ImStart);
        output.Text(RoleName(message.Role) + "\n");
        output.Content(message.Content, message.IsTrained);
        output.Special(ImEnd, message.IsTrained);
        output.Text("\n");
    }

    protected override void WriteGenerationPrompt(PieceWriter output)
    {
        output.Special(ImStart);
        output.Text("assistant\n");
    }
}

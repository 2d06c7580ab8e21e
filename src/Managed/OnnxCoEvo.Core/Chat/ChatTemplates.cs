using System.Text.RegularExpressions;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Core.Chat;

/// <summary>Finds a chat template by name, or from a tokenizer's Jinja chat_template.</summary>
public static partial class ChatTemplates
{
    public static IReadOnlyList<string> Names { get; } = [ChatMlTemplate.TemplateName, Llama3Template.TemplateName, PlainChatTemplate.TemplateName];

    /// <summary>The template called <paramref name="name"/> ("chatml", "llama3" or "plain"), bound to the tokenizer.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="InvalidOperationException">The tokenizer lacks a special token the template needs.</exception>
    public static IChatTemplate Create(string name, BpeTokenizer tokenizer, ChatTemplateOptions? options = null) => name switch
    {
        ChatMlTemplate.TemplateName => new ChatMlTemplate(tokenizer, options),
        Llama3Template.TemplateName => new Llama3Template(tokenizer, options),
        PlainChatTemplate.TemplateName => new PlainChatTemplate(tokenizer, options),
        _ => throw new ArgumentException($"unknown chat template '{name}' (known: {string.Join(", ", Names)})", nameof(name)),
    };

    /// <summary>
    /// The template a tokenizer's chat_template (from tokenizer_config.json) is written in: "&lt;|im_start|&gt;" means
    /// chatml, "&lt;|start_header_id|&gt;" llama3, otherwise plain when the tokenizer has the plain tokens.
    /// </summary>
    /// <exception cref="InvalidOperationException">None of these fits.</exception>
    public static string DetectName(string? chatTemplate, BpeTokenizer tokenizer)
    {
        if (chatTemplate is not null && chatTemplate.Contains(ChatMlTemplate.ImStart, StringComparison.Ordinal)) return ChatMlTemplate.TemplateName;
        if (chatTemplate is not null && chatTemplate.Contains(Llama3Template.StartHeader, StringComparison.Ordinal)) return Llama3Template.TemplateName;
        var missing = PlainChatTemplate.RequiredTokens.Where(t => !tokenizer.TryGetId(t, out _)).ToArray();
        if (missing.Length == 0) return PlainChatTemplate.TemplateName;
        throw new InvalidOperationException(
            (chatTemplate is null ? "the tokenizer has no chat_template" : "the chat_template is neither ChatML (<|im_start|>) nor Llama-3 (<|start_header_id|>)")
            + $", and the tokenizer lacks the plain template's token(s) {string.Join(" ", missing)}; name a template explicitly");
    }

    /// <summary>
    /// Detects the template from the tokenizer's own chat_template and binds it. Without explicit options, a ChatML
    /// template's hard-coded default system prompt (Qwen's "You are Qwen, ...") is carried over.
    /// </summary>
    public static IChatTemplate Detect(BpeTokenizer tokenizer, ChatTemplateOptions? options = null)
    {
        string name = DetectName(tokenizer.ChatTemplate, tokenizer);
        if (options is null && name == ChatMlTemplate.TemplateName && FindChatMlDefaultSystemPrompt(tokenizer.ChatTemplate!) is { } prompt)
            options = new ChatTemplateOptions(DefaultSystemPrompt: prompt);
        return Create(name, tokenizer, options);
    }

    /// <summary>
    /// The literal default system prompt of a ChatML Jinja template ('&lt;|im_start|&gt;system\n...&lt;|im_end|&gt;\n' as one
    /// string literal, as Qwen2 and Qwen2.5 write it), or null. Best effort: literals with escapes other than \n are skipped.
    /// </summary>
    public static string? FindChatMlDefaultSystemPrompt(string chatTemplate)
    {
        var match = ChatMlDefaultSystemRegex().Match(chatTemplate);
        return match.Success ? match.Groups["prompt"].Value.Replace(@"\n", "\n", StringComparison.Ordinal) : null;
    }

    [GeneratedRegex(@"'<\|im_start\|>system\\n(?<prompt>(?:[^'\\{}]|\\n)*)<\|im_end\|>\\n'", RegexOptions.CultureInvariant)]
    private static partial Regex ChatMlDefaultSystemRegex();
}

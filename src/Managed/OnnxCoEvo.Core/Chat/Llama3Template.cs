using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Core.Chat;

/// <summary>
/// Llama 3.0 Instruct: <c>&lt;|begin_of_text|&gt;</c>, then per message
/// <c>&lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content trimmed}&lt;|eot_id|&gt;</c>; generation prompt
/// <c>&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n</c>. Trained: content and &lt;|eot_id|&gt;.
/// (3.1/3.2 add a dated system header; not rendered here.)
/// </summary>
public sealed class Llama3Template(BpeTokenizer tokenizer, ChatTemplateOptions? options = null)
    : PieceChatTemplate(TemplateName, tokenizer, [BeginOfText, StartHeader, EndHeader, EndOfTurn], EndOfTurn, options)
{
    public const string TemplateName = "llama3";
    public const string BeginOfText = "<|begin_of_text|>";
    public const string StartHeader = "<|start_header_id|>";
    public const string EndHeader = "<|end_header_id|>";
    public const string EndOfTurn = "<|eot_id|>";

    // Jinja's trim is Python's str.strip(), whose whitespace includes U+001C..U+001F, unlike .NET's char.IsWhiteSpace.
    private static readonly char[] PythonWhitespace =
    [
        '\t', '\n', '\v', '\f', '\r', '\u001C', '\u001D', '\u001E', '\u001F', ' ', '\u0085', '\u00A0', '\u1680',
        '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200A',
        '\u2028', '\u2029', '\u202F', '\u205F', '\u3000',
    ];

    public override string JinjaTemplate =>
        "{{- '<|begin_of_text|>' }}"
        + JinjaDefaultSystem(prompt => $"{StartHeader}system{EndHeader}\n\n{prompt.Trim(PythonWhitespace)}{EndOfTurn}")
        + "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
        + "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

    protected override void WriteStart(PieceWriter output) => output.Special(BeginOfText);

    protected override void WriteTurn(PieceWriter output, ChatMessage message)
    {
        output.Special(StartHeader);
        output.Text(RoleName(message.Role));
        output.Special(EndHeader);
        output.Text("\n\n");
        output.Content(message.Content.Trim(PythonWhitespace), message.IsTrained);
        output.Special(EndOfTurn, message.IsTrained);
    }

    protected override void WriteGenerationPrompt(PieceWriter output)
    {
        output.Special(StartHeader);
        output.Text("assistant");
        output.Special(EndHeader);
        output.Text("\n\n");
    }
}

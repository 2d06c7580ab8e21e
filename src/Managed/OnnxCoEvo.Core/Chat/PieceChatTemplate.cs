using System.Text;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Core.Chat;

/// <summary>
/// Renders a conversation as a sequence of pieces (special tokens and text), tokenizing each piece on its own so
/// every token belongs to exactly one piece and the training mask is exact. Consequence: tokens never merge across
/// piece boundaries (header, content, end token). Where the regex pre-tokenizer already splits at those boundaries,
/// as at "\n" before content, the ids equal tokenizing the whole text; where it would not (content starting with
/// "\n" right after a header ending in "\n"), the ids can differ slightly from transformers' apply_chat_template,
/// while the text is the same.
/// </summary>
public abstract class PieceChatTemplate : IChatTemplate
{
    private readonly Dictionary<string, int> _specialIds = [];

    protected PieceChatTemplate(
        string name, BpeTokenizer tokenizer, IReadOnlyList<string> specialTokens, string endOfTurnToken, ChatTemplateOptions? options)
    {
        Name = name;
        Tokenizer = tokenizer;
        SpecialTokens = specialTokens;
        EndOfTurnToken = endOfTurnToken;
        Options = options ?? ChatTemplateOptions.Default;
        foreach (string token in specialTokens)
        {
            _specialIds[token] = tokenizer.TryGetId(token, out int id)
                ? id
                : throw new InvalidOperationException(
                    $"the tokenizer has no token '{token}', which chat template '{name}' needs (it needs {string.Join(" ", specialTokens)})");
        }
        var stops = new List<int> { _specialIds[endOfTurnToken] };
        if (tokenizer.EosTokenId is int eos && !stops.Contains(eos)) stops.Add(eos);
        StopTokenIds = stops;
    }

    public string Name { get; }
    public BpeTokenizer Tokenizer { get; }
    public IReadOnlyList<string> SpecialTokens { get; }
    public string EndOfTurnToken { get; }
    public IReadOnlyList<int> StopTokenIds { get; }
    public ChatTemplateOptions Options { get; }
    public abstract string JinjaTemplate { get; }

    public RenderedConversation Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var output = new PieceWriter(this);
        WriteStart(output);
        if (Options.DefaultSystemPrompt is { } defaultSystem && (messages.Count == 0 || messages[0].Role != ChatRole.System))
            WriteTurn(output, ChatMessage.System(defaultSystem));
        var spans = new TokenSpan[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            int start = output.Count;
            WriteTurn(output, messages[i]);
            spans[i] = new TokenSpan(start, output.Count);
        }
        int generationStart = output.Count;
        if (addGenerationPrompt) WriteGenerationPrompt(output);
        return output.Finish(spans, generationStart);
    }

    /// <summary>Writes what precedes the first turn (a BOS token).</summary>
    protected virtual void WriteStart(PieceWriter output) { }

    /// <summary>Writes one turn; assistant content and end token go with <c>trained: message.IsTrained</c>.</summary>
    protected abstract void WriteTurn(PieceWriter output, ChatMessage message);

    protected abstract void WriteGenerationPrompt(PieceWriter output);

    /// <summary>The role name as the chat formats spell it.</summary>
    protected static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    /// <summary>A Jinja single-quoted string literal of <paramref name="text"/>.</summary>
    protected static string JinjaLiteral(string text)
    {
        var sb = new StringBuilder("'");
        foreach (char c in text)
        {
            sb.Append(c switch
            {
                '\\' => @"\\",
                '\'' => @"\'",
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                _ => c.ToString(),
            });
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>
    /// Jinja that writes the default system turn (given as its rendered text, one string literal so that
    /// <see cref="ChatTemplates.FindChatMlDefaultSystemPrompt"/> finds it again) when the conversation has none.
    /// </summary>
    protected string JinjaDefaultSystem(Func<string, string> renderSystemTurn) =>
        Options.DefaultSystemPrompt is { } prompt
            ? "{%- if not messages or messages[0]['role'] != 'system' %}{{- " + JinjaLiteral(renderSystemTurn(prompt)) + " }}{%- endif %}"
            : "";

    /// <summary>Collects token ids, mask and text piece by piece.</summary>
    protected sealed class PieceWriter(PieceChatTemplate template)
    {
        private readonly List<int> _ids = [];
        private readonly List<bool> _mask = [];
        private readonly StringBuilder _text = new();

        public int Count => _ids.Count;

        public void Special(string token, bool trained = false)
        {
            _ids.Add(template._specialIds[token]);
            _mask.Add(trained);
            _text.Append(token);
        }

        /// <summary>Template text (role names, separators): special-token text in it is parsed as tokens.</summary>
        public void Text(string text, bool trained = false) => Append(text, trained, specialTokensAsText: false);

        /// <summary>Message content: special-token text in it is plain text unless the options say otherwise.</summary>
        public void Content(string text, bool trained) =>
            Append(text, trained, template.Options.SpecialTokensInContentAsText);

        private void Append(string text, bool trained, bool specialTokensAsText)
        {
            if (text.Length == 0) return;
            int before = _ids.Count;
            template.Tokenizer.EncodeTo(text, _ids, specialTokensAsText);
            for (int i = before; i < _ids.Count; i++) _mask.Add(trained);
            _text.Append(text);
        }

        public RenderedConversation Finish(TokenSpan[] spans, int generationStart) =>
            new([.. _ids], [.. _mask], spans, generationStart, _text.ToString());
    }
}

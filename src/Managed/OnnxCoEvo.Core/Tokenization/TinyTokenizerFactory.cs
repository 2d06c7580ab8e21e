using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>Which chat format's special tokens a tiny tokenizer carries.</summary>
public enum TinyTokenizerStyle
{
    /// <summary>The toolkit's own compact format (<see cref="PlainChatTemplate"/>).</summary>
    Plain,

    /// <summary>Qwen2-style ChatML tokens (for random-weight presets of Qwen shapes).</summary>
    ChatMl,

    /// <summary>Llama-3 tokens, with BOS prepended by the post-processor as Llama-3 does.</summary>
    Llama3,
}

/// <summary>
/// Builds the tokenizer of the project's tiny models: byte-level BPE trained on <see cref="TinyCorpus"/> with the
/// Llama-3 pre-tokenizer regex, special tokens first (ids 0..n-1), tokenizer_config naming BOS/EOS/PAD and the chat
/// template's Jinja. Deterministic; results are cached per (vocab size, style).
/// </summary>
public static class TinyTokenizerFactory
{
    public const int DefaultVocabSize = 1024;

    private static readonly ConcurrentDictionary<(int, TinyTokenizerStyle), Lazy<BpeTokenizer>> Cache = new();

    /// <summary>Tokenizers learned with an extra corpus, per corpus instance (held weakly): `model init` sizes the weights
    /// and then writes them, and both ask for the same tokenizer; training it twice would double the wait.</summary>
    private static readonly ConditionalWeakTable<IReadOnlyList<string>, ConcurrentDictionary<(int, TinyTokenizerStyle), Lazy<BpeTokenizer>>> CorpusCache = new();

    /// <param name="vocabSize">Total size including special tokens; at least 256 + the special tokens.</param>
    public static BpeTokenizer Create(int vocabSize = DefaultVocabSize, TinyTokenizerStyle style = TinyTokenizerStyle.Plain) =>
        Cache.GetOrAdd((vocabSize, style), key => new Lazy<BpeTokenizer>(() => Build(key.Item1, key.Item2, []))).Value;

    /// <summary>
    /// A tokenizer trained on <see cref="TinyCorpus"/> plus <paramref name="extraCorpus"/> (an environment's own pages
    /// and actions, say): its merges follow that text, so the same episodes take fewer tokens. Cached per corpus instance.
    /// </summary>
    public static BpeTokenizer Create(int vocabSize, TinyTokenizerStyle style, IReadOnlyList<string> extraCorpus) =>
        extraCorpus.Count == 0
            ? Create(vocabSize, style)
            : CorpusCache.GetOrCreateValue(extraCorpus)
                .GetOrAdd((vocabSize, style), key => new Lazy<BpeTokenizer>(() => Build(key.Item1, key.Item2, extraCorpus))).Value;

    /// <summary>The special tokens of a style, in id order.</summary>
    public static IReadOnlyList<string> SpecialTokens(TinyTokenizerStyle style) => style switch
    {
        TinyTokenizerStyle.Plain => PlainChatTemplate.TokenizerSpecialTokens,
        TinyTokenizerStyle.ChatMl => [EndOfText, ChatMlTemplate.ImStart, ChatMlTemplate.ImEnd],
        TinyTokenizerStyle.Llama3 =>
            [Llama3Template.BeginOfText, EndOfTextLlama, Llama3Template.StartHeader, Llama3Template.EndHeader, Llama3Template.EndOfTurn],
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, null),
    };

    private const string EndOfText = "<|endoftext|>";
    private const string EndOfTextLlama = "<|end_of_text|>";

    private static BpeTokenizer Build(int vocabSize, TinyTokenizerStyle style, IReadOnlyList<string> extraCorpus)
    {
        // Config names tokens only; the chat template's Jinja is filled in once the tokenizer exists.
        var (config, prepend) = style switch
        {
            TinyTokenizerStyle.Plain => (new TokenizerConfig(PlainChatTemplate.Bos, PlainChatTemplate.End, PlainChatTemplate.Pad), (string?)null),
            TinyTokenizerStyle.ChatMl => (new TokenizerConfig(null, ChatMlTemplate.ImEnd, EndOfText), null),
            // Llama-3 has no pad token; <|end_of_text|> serves, as is common.
            _ => (new TokenizerConfig(Llama3Template.BeginOfText, Llama3Template.EndOfTurn, EndOfTextLlama), Llama3Template.BeginOfText),
        };
        var tokenizer = BpeTrainer.Train(TinyCorpus.Texts.Concat(extraCorpus), new BpeTrainerOptions
        {
            VocabSize = vocabSize,
            SpecialTokens = SpecialTokens(style),
            PrependTokenOnEncode = prepend,
            Config = config,
        });
        string templateName = style switch
        {
            TinyTokenizerStyle.Plain => PlainChatTemplate.TemplateName,
            TinyTokenizerStyle.ChatMl => ChatMlTemplate.TemplateName,
            _ => Llama3Template.TemplateName,
        };
        string jinja = ChatTemplates.Create(templateName, tokenizer).JinjaTemplate;
        return tokenizer.WithConfig(config with { ChatTemplate = jinja });
    }
}

using System.Runtime.InteropServices;
using System.Text;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (GPT-2, Llama-3, Qwen2, SmolLM2 and the toolkit's own tiny models):
/// tokenizer.json plus, when present, the special tokens and chat template of tokenizer_config.json.
/// Encoding follows Hugging Face step by step: added tokens, normalizer, pre-tokenizer, byte mapping, BPE by merge
/// rank, optional post-processor. Immutable and thread-safe.
/// </summary>
public sealed class BpeTokenizer
{
    public const string FileName = "tokenizer.json";

    private readonly BpeModel _model;
    private readonly Dictionary<string, AddedToken> _addedByContent = [];
    private readonly Dictionary<int, AddedToken> _addedById = [];

    // Added tokens are matched in two passes, as Hugging Face does: non-normalized ones in the raw text, normalized
    // ones after the normalizer. Each pass has a matcher with and one without the special tokens.
    private readonly AddedTokenMatcher _rawAll, _rawPlain, _normalizedAll, _normalizedPlain;

    internal BpeTokenizer(
        BpeModel model,
        IReadOnlyList<AddedToken> addedTokens,
        TextNormalizer? normalizer,
        PreTokenizer preTokenizer,
        PostProcessor? postProcessor,
        ByteLevelDecoder? decoder,
        TokenizerConfig config)
    {
        _model = model;
        AddedTokens = addedTokens;
        foreach (var t in addedTokens)
        {
            _addedByContent.TryAdd(t.Content, t);
            _addedById[t.Id] = t;
        }
        Normalizer = normalizer;
        PreTokenizer = preTokenizer;
        PostProcessor = postProcessor;
        Decoder = decoder;
        Config = config;
        _rawAll = new AddedTokenMatcher(addedTokens.Where(t => !t.Normalized));
        _rawPlain = new AddedTokenMatcher(addedTokens.Where(t => !t.Normalized && !t.Special));
        _normalizedAll = new AddedTokenMatcher(addedTokens.Where(t => t.Normalized));
        _normalizedPlain = new AddedTokenMatcher(addedTokens.Where(t => t.Normalized && !t.Special));
        VocabSize = Math.Max(model.IdLimit, addedTokens.Count == 0 ? 0 : addedTokens.Max(t => t.Id) + 1);
    }

    public IReadOnlyList<AddedToken> AddedTokens { get; }
    public TextNormalizer? Normalizer { get; }
    public PreTokenizer PreTokenizer { get; }
    public PostProcessor? PostProcessor { get; }
    public ByteLevelDecoder? Decoder { get; }
    public TokenizerConfig Config { get; }

    /// <summary>The BPE vocabulary (byte-level spellings to ids); added tokens not in it are in <see cref="AddedTokens"/>.</summary>
    public IReadOnlyDictionary<string, int> Vocab => _model.Vocab;

    /// <summary>Merge rules in rank order, as token pairs.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => _model.MergeTokens;

    public bool IgnoreMerges => _model.IgnoreMerges;
    public string? UnknownToken => _model.UnknownId is int id ? _model.GetToken(id) : null;

    /// <summary>One more than the largest id of the vocabulary and the added tokens (the embedding rows needed).</summary>
    public int VocabSize { get; }

    public int? BosTokenId => IdOf(Config.BosToken);
    public int? EosTokenId => IdOf(Config.EosToken);
    public int? PadTokenId => IdOf(Config.PadToken);
    public string? ChatTemplate => Config.ChatTemplate;

    /// <summary>
    /// Loads a tokenizer from a model directory (tokenizer.json, and tokenizer_config.json if present) or from a
    /// tokenizer.json path (a tokenizer_config.json beside it is read too).
    /// </summary>
    /// <exception cref="DataFormatException">Either file is malformed or asks for something unsupported.</exception>
    public static BpeTokenizer Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"no {FileName} at '{path}'", file);
        string configFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, TokenizerConfig.FileName);
        var config = File.Exists(configFile) ? TokenizerConfig.Read(File.ReadAllBytes(configFile), configFile) : new TokenizerConfig();
        return TokenizerJson.Read(File.ReadAllBytes(file), file, config);
    }

    /// <summary>Parses tokenizer.json text; <paramref name="sourceName"/> names it in errors.</summary>
    public static BpeTokenizer FromJson(string tokenizerJson, TokenizerConfig? config = null, string sourceName = "<memory>") =>
        TokenizerJson.Read(Encoding.UTF8.GetBytes(tokenizerJson), sourceName, config ?? new TokenizerConfig());

    /// <summary>The tokenizer.json text (version 1.0, merges in the [["a","b"]] form).</summary>
    public string ToJson() => Encoding.UTF8.GetString(TokenizerJson.Write(this));

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="directory"/>, each atomically.</summary>
    public void Save(string directory)
    {
        byte[] tokenizerJson = TokenizerJson.Write(this);
        byte[] configJson = TokenizerConfig.Write(this);
        AtomicFile.WriteAllBytes(Path.Combine(directory, FileName), tokenizerJson);
        AtomicFile.WriteAllBytes(Path.Combine(directory, TokenizerConfig.FileName), configJson);
    }

    /// <summary>The same tokenizer with other special-token names or chat template.</summary>
    public BpeTokenizer WithConfig(TokenizerConfig config) =>
        new(_model, AddedTokens, Normalizer, PreTokenizer, PostProcessor, Decoder, config);

    /// <summary>
    /// Encodes text to ids. <paramref name="addSpecialTokens"/> applies the post-processor (Llama-3's BOS); note the
    /// default differs from Hugging Face's (true) because chat rendering encodes pieces and adds its own tokens.
    /// <paramref name="specialTokensAsText"/> encodes special tokens' text as ordinary text, for untrusted input
    /// (an environment observation must not be able to end a turn).
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = false, bool specialTokensAsText = false)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        EncodeTo(text, ids, specialTokensAsText);
        if (addSpecialTokens) PostProcessor?.Apply(ids);
        return ids.ToArray();
    }

    /// <summary>Appends the ids of <paramref name="text"/> (no post-processor).</summary>
    public void EncodeTo(string text, List<int> ids, bool specialTokensAsText = false)
    {
        var segments = new List<TextSegment>();
        (specialTokensAsText ? _rawPlain : _rawAll).Split(text.AsMemory(), segments);
        var normalizedMatcher = specialTokensAsText ? _normalizedPlain : _normalizedAll;
        var normalizedSegments = new List<TextSegment>();
        var pieces = new List<ReadOnlyMemory<char>>();
        foreach (var segment in segments)
        {
            if (segment.Token is not null)
            {
                ids.Add(segment.Token.Id);
                continue;
            }
            ReadOnlyMemory<char> segmentText = Normalizer is null ? segment.Text : Normalizer.Normalize(segment.Text.ToString()).AsMemory();
            normalizedSegments.Clear();
            normalizedMatcher.Split(segmentText, normalizedSegments);
            foreach (var part in normalizedSegments)
            {
                if (part.Token is not null)
                {
                    ids.Add(part.Token.Id);
                    continue;
                }
                pieces.Clear();
                PreTokenizer.Split(part.Text, pieces);
                foreach (var piece in pieces) _model.EncodePiece(piece.Span, ids);
            }
        }
    }

    /// <summary>The token strings of an encoding (byte-level spellings, e.g. "Ġworld"), for inspection.</summary>
    public string[] EncodeToTokens(string text, bool specialTokensAsText = false) =>
        Array.ConvertAll(Encode(text, false, specialTokensAsText), id => IdToToken(id)!);

    /// <summary>
    /// Decodes ids to text: byte-level inverse, then UTF-8 with U+FFFD for invalid or cut-off sequences. Ids that
    /// name no token are skipped (a model's embedding may be padded past the vocabulary), as in Hugging Face.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids) AppendTokenBytes(id, bytes, skipSpecialTokens);
        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>A decoder that turns ids into text incrementally, holding back incomplete UTF-8.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    internal void AppendTokenBytes(int id, List<byte> bytes, bool skipSpecialTokens)
    {
        if (_addedById.TryGetValue(id, out var added))
        {
            if (!(skipSpecialTokens && added.Special)) ByteLevelAlphabet.AppendTokenBytes(added.Content, bytes);
        }
        else if (_model.GetToken(id) is { } token)
        {
            ByteLevelAlphabet.AppendTokenBytes(token, bytes);
        }
    }

    /// <summary>The token (added token content, or byte-level spelling) of an id; null for an unused id.</summary>
    public string? IdToToken(int id) => _addedById.TryGetValue(id, out var added) ? added.Content : _model.GetToken(id);

    /// <summary>The id of an added token or vocabulary entry, looked up exactly (no encoding).</summary>
    public bool TryGetId(string token, out int id)
    {
        if (_addedByContent.TryGetValue(token, out var added))
        {
            id = added.Id;
            return true;
        }
        return _model.TryGetId(token, out id);
    }

    public int? TokenToId(string token) => TryGetId(token, out int id) ? id : null;

    /// <summary>True for ids of added tokens marked special.</summary>
    public bool IsSpecialToken(int id) => _addedById.TryGetValue(id, out var t) && t.Special;

    private int? IdOf(string? token) => token is not null && TryGetId(token, out int id) ? id : null;
}

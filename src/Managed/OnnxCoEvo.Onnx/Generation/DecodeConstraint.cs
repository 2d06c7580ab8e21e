using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// Limits what a turn may generate next, given its text so far: a grammar over the output, evaluated before every
/// sampled token. Used to keep an agent's action inside the environment's action space (ReAct clicks that name a
/// clickable, say), so that a small model's copy errors do not turn into no-op actions.
/// </summary>
public interface IDecodeConstraint
{
    /// <summary>
    /// What may follow <paramref name="text"/>: null when anything may (outside the constrained part); otherwise the
    /// allowed continuations. An empty string among them means the turn may end here; a list holding only "" ends it.
    /// </summary>
    IReadOnlyList<string>? Continuations(string text);

    /// <summary>How continuations compare with token text (WebShop matches clicks case-insensitively).</summary>
    StringComparison Comparison { get; }
}

/// <summary>
/// The token side of <see cref="IDecodeConstraint"/>: each token's text (decoded alone) in a dictionary, so that the
/// tokens allowed by a continuation are found by looking up its prefixes (at most the longest token's length of them)
/// instead of scanning the vocabulary. A token is allowed when its text is a non-empty prefix of some continuation; stop
/// tokens are allowed when a continuation is "". Special tokens and tokens that do not decode alone to whole characters
/// are never allowed inside the constraint.
/// </summary>
public sealed class DecodeConstraintMask
{
    private readonly string?[] _texts;
    private readonly Dictionary<string, int[]> _byText;
    private readonly Dictionary<string, int[]> _byTextFolded;
    private readonly int _longestText;
    private readonly List<int> _allowedIds = [];
    private bool[] _allowed;

    public DecodeConstraintMask(BpeTokenizer tokenizer, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _texts = new string?[vocabSize];
        _allowed = new bool[vocabSize];
        var exact = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var folded = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        int known = Math.Min(vocabSize, tokenizer.VocabSize);
        for (int id = 0; id < known; id++)
        {
            if (tokenizer.IsSpecialToken(id))
                continue;
            string text = tokenizer.Decode([id]);
            if (text.Length == 0 || text.Contains('\uFFFD', StringComparison.Ordinal))
                continue;
            _texts[id] = text;
            _longestText = Math.Max(_longestText, text.Length);
            Add(exact, text, id);
            Add(folded, text, id);
        }
        _byText = exact.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        _byTextFolded = folded.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.OrdinalIgnoreCase);

        static void Add(Dictionary<string, List<int>> index, string key, int id)
        {
            if (!index.TryGetValue(key, out List<int>? ids)) index[key] = ids = [];
            ids.Add(id);
        }
    }

    /// <summary>The text of a token decoded alone, or null when it can never be allowed.</summary>
    public string? TokenText(int id) => (uint)id < (uint)_texts.Length ? _texts[id] : null;

    /// <summary>
    /// Sets every logit that is not allowed by <paramref name="continuations"/> to -infinity. Returns false (and leaves
    /// the row as it was) when nothing would be allowed, so that the caller can fall back to free generation.
    /// Not thread-safe (one scratch set per mask; the generator that owns it is single-threaded too).
    /// </summary>
    public bool Apply(Span<float> logits, IReadOnlyList<string> continuations, StringComparison comparison, IReadOnlyList<int> stopTokenIds)
    {
        ArgumentNullException.ThrowIfNull(continuations);
        bool ignoreCase = comparison is StringComparison.OrdinalIgnoreCase or StringComparison.InvariantCultureIgnoreCase
            or StringComparison.CurrentCultureIgnoreCase;
        var lookup = (ignoreCase ? _byTextFolded : _byText).GetAlternateLookup<ReadOnlySpan<char>>();
        if (_allowed.Length < logits.Length)
            _allowed = new bool[logits.Length];
        _allowedIds.Clear();
        bool mayEnd = false;
        foreach (string continuation in continuations)
        {
            if (continuation.Length == 0)
            {
                mayEnd = true;
                continue;
            }
            for (int length = 1; length <= Math.Min(continuation.Length, _longestText); length++)
            {
                if (!lookup.TryGetValue(continuation.AsSpan(0, length), out int[]? ids))
                    continue;
                foreach (int id in ids)
                    if ((uint)id < (uint)logits.Length && !_allowed[id])
                        Allow(id);
            }
        }
        if (mayEnd)
            foreach (int id in stopTokenIds)
                if ((uint)id < (uint)logits.Length && !_allowed[id])
                    Allow(id);
        if (_allowedIds.Count == 0)
            return false;
        for (int id = 0; id < logits.Length; id++)
            if (!_allowed[id])
                logits[id] = float.NegativeInfinity;
        foreach (int id in _allowedIds)
            _allowed[id] = false;
        return true;

        void Allow(int id)
        {
            _allowed[id] = true;
            _allowedIds.Add(id);
        }
    }
}

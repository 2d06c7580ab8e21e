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
/// The token side of <see cref="IDecodeConstraint"/>: each token's text (decoded alone), indexed by its first
/// character, so that masking a row of logits looks only at tokens that can start a continuation. A token is allowed
/// when its text is a non-empty prefix of some continuation; stop tokens are allowed when a continuation is "".
/// Special tokens and tokens that do not decode alone to whole characters are never allowed inside the constraint.
/// </summary>
public sealed class DecodeConstraintMask
{
    private readonly string?[] _texts;
    private readonly Dictionary<char, int[]> _byFirstChar;
    private readonly Dictionary<char, int[]> _byFirstCharFolded;

    public DecodeConstraintMask(BpeTokenizer tokenizer, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _texts = new string?[vocabSize];
        var exact = new Dictionary<char, List<int>>();
        var folded = new Dictionary<char, List<int>>();
        int known = Math.Min(vocabSize, tokenizer.VocabSize);
        for (int id = 0; id < known; id++)
        {
            if (tokenizer.IsSpecialToken(id))
                continue;
            string text = tokenizer.Decode([id]);
            if (text.Length == 0 || text.Contains('\uFFFD', StringComparison.Ordinal))
                continue;
            _texts[id] = text;
            Add(exact, text[0], id);
            Add(folded, char.ToLowerInvariant(text[0]), id);
        }
        _byFirstChar = exact.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        _byFirstCharFolded = folded.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

        static void Add(Dictionary<char, List<int>> index, char key, int id)
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
    /// </summary>
    public bool Apply(Span<float> logits, IReadOnlyList<string> continuations, StringComparison comparison, IReadOnlyList<int> stopTokenIds)
    {
        ArgumentNullException.ThrowIfNull(continuations);
        bool ignoreCase = comparison is StringComparison.OrdinalIgnoreCase or StringComparison.InvariantCultureIgnoreCase
            or StringComparison.CurrentCultureIgnoreCase;
        Dictionary<char, int[]> index = ignoreCase ? _byFirstCharFolded : _byFirstChar;
        var allowed = new HashSet<int>();
        bool mayEnd = false;
        foreach (string continuation in continuations)
        {
            if (continuation.Length == 0)
            {
                mayEnd = true;
                continue;
            }
            char first = ignoreCase ? char.ToLowerInvariant(continuation[0]) : continuation[0];
            if (!index.TryGetValue(first, out int[]? candidates))
                continue;
            foreach (int id in candidates)
            {
                if (!allowed.Contains(id) && continuation.StartsWith(_texts[id]!, comparison))
                    allowed.Add(id);
            }
        }
        if (mayEnd)
            foreach (int id in stopTokenIds)
                if ((uint)id < (uint)logits.Length) allowed.Add(id);
        if (allowed.Count == 0)
            return false;
        for (int id = 0; id < logits.Length; id++)
            if (!allowed.Contains(id))
                logits[id] = float.NegativeInfinity;
        return true;
    }
}

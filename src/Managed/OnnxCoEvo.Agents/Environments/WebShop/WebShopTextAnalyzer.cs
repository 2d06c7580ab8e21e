using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The analysis WebShop's search index applies to documents and queries, after Pyserini's default English analyzer
/// (Lucene StandardTokenizer, possessive filter, lower-case, Lucene's English stop words, Porter stemmer), simplified:
/// tokens are runs of letters and digits (letters and digits together form one token, "12oz", "4k"); '.' or an
/// apostrophe between two letters and '.' or ',' between two digits stay inside the token ("l'eau", "d.o.n", "6.76",
/// "1,000"); a trailing possessive "'s" is dropped; everything else separates tokens. Unlike Lucene's tokenizer
/// (Unicode word-break rules) there is no special handling of e-mail addresses, URLs or scripts without spaces.
/// </summary>
public static class WebShopTextAnalyzer
{
    /// <summary>Lucene's <c>EnglishAnalyzer.ENGLISH_STOP_WORDS_SET</c>.</summary>
    public static FrozenSet<string> StopWords { get; } = FrozenSet.ToFrozenSet(
    [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
        "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    ], StringComparer.Ordinal);

    /// <summary>The index terms of <paramref name="text"/>, in order, repeats kept.</summary>
    public static List<string> Analyze(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var terms = new List<string>();
        ReadOnlySpan<char> span = text;
        int i = 0;
        while (i < span.Length)
        {
            if (!char.IsLetterOrDigit(span[i]))
            {
                i++;
                continue;
            }
            int start = i;
            while (i < span.Length)
            {
                if (char.IsLetterOrDigit(span[i]))
                    i++;
                else if (i + 1 < span.Length && IsJoiner(span[i - 1], span[i], span[i + 1]))
                    i += 2;
                else
                    break;
            }
            string? term = Normalize(span[start..i]);
            if (term is not null)
                terms.Add(term);
        }
        return terms;
    }

    private static bool IsJoiner(char before, char joiner, char after) => joiner switch
    {
        '.' => (char.IsLetter(before) && char.IsLetter(after)) || (char.IsDigit(before) && char.IsDigit(after)),
        '\'' or '\u2019' => char.IsLetter(before) && char.IsLetter(after),
        ',' => char.IsDigit(before) && char.IsDigit(after),
        _ => false,
    };

    // Raw lower-case token -> term (null for a stop word). Product text repeats a small vocabulary, so analysis mostly
    // hits this cache and allocates nothing per token; it stops growing at a bound so odd queries cannot fill memory.
    private const int TermCacheLimit = 200_000;
    private static readonly ConcurrentDictionary<string, string?> TermCache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string?>.AlternateLookup<ReadOnlySpan<char>> TermCacheBySpan =
        TermCache.GetAlternateLookup<ReadOnlySpan<char>>();
    private static int _termCacheCount;

    private static string? Normalize(ReadOnlySpan<char> token)
    {
        if (token.Length > 2 && token[^1] is 's' or 'S' && token[^2] is '\'' or '\u2019')
            token = token[..^2];
        Span<char> lower = token.Length <= 64 ? stackalloc char[token.Length] : new char[token.Length];
        token.ToLowerInvariant(lower);
        if (TermCacheBySpan.TryGetValue(lower, out string? cached))
            return cached;
        string key = lower.ToString();
        string? term = StopWords.Contains(key) ? null : PorterStemmer.Stem(key);
        if (Volatile.Read(ref _termCacheCount) < TermCacheLimit && TermCache.TryAdd(key, term))
            Interlocked.Increment(ref _termCacheCount);
        return term;
    }
}

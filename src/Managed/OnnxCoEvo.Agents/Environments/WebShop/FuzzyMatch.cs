using System.Text;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The fuzzy string scores WebShop's reward uses, with the semantics of thefuzz (0.20+, a wrapper over rapidfuzz):
/// <see cref="TokenSetRatio"/> = int(round(rapidfuzz.fuzz.token_set_ratio(full_process(a), full_process(b)))).
/// </summary>
/// <remarks>
/// Differences from the Python libraries, all outside product text in practice: "alphanumeric" is .NET's
/// <see cref="char.IsLetterOrDigit(char)"/> on UTF-16 code units (Python's <c>isalnum</c> also admits a few numeric
/// categories such as superscripts, and rapidfuzz looks at whole code points), and lower-casing is
/// <see cref="char.ToLowerInvariant(char)"/>. WebShop itself pins thefuzz 0.19 (fuzzywuzzy's difflib matcher), whose
/// scores may differ by a point or so near the threshold; this port follows the rapidfuzz (Indel) definition.
/// </remarks>
public static class FuzzyMatch
{
    /// <summary>
    /// thefuzz's <c>full_process(s, force_ascii=True)</c>: characters U+0080..U+00FF are deleted (thefuzz's "ascii
    /// dammit" table; later code points stay), every other non-alphanumeric character becomes a space, letters are
    /// lower-cased, and the result is trimmed.
    /// </summary>
    public static string FullProcess(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is >= '\u0080' and <= '\u00FF')
                continue;
            builder.Append(char.IsLetterOrDigit(c) ? char.ToLowerInvariant(c) : ' ');
        }
        return builder.ToString().Trim(' ');
    }

    /// <summary>thefuzz's <c>fuzz.token_set_ratio(a, b)</c>: both strings go through <see cref="FullProcess"/>, the score is rounded half to even.</summary>
    public static int TokenSetRatio(string a, string b) =>
        (int)Math.Round(RawTokenSetRatio(FullProcess(a), FullProcess(b)), MidpointRounding.ToEven);

    /// <summary>
    /// rapidfuzz's <c>fuzz.token_set_ratio</c> on already processed strings (0..100, unrounded). Tokens are split on
    /// spaces, de-duplicated and sorted ordinally into sets A and B. 0 when either is empty; 100 when they share a token
    /// and one set contains the other; otherwise, with <c>sect</c> = the shared tokens joined by spaces and <c>ab</c>,
    /// <c>ba</c> the joined differences, the best of ratio(sect+" "+ab, sect+" "+ba), ratio(sect, sect+" "+ab) and
    /// ratio(sect, sect+" "+ba) (only the first when nothing is shared; no separator space when sect is empty).
    /// </summary>
    public static double RawTokenSetRatio(string processedA, string processedB)
    {
        string[] tokensA = SortedTokenSet(processedA);
        string[] tokensB = SortedTokenSet(processedB);
        if (tokensA.Length == 0 || tokensB.Length == 0)
            return 0;

        var sharedTokens = new List<string>();
        var onlyA = new List<string>();
        var onlyB = new List<string>();
        int i = 0, j = 0;
        while (i < tokensA.Length || j < tokensB.Length)
        {
            int order = i == tokensA.Length ? 1 : j == tokensB.Length ? -1 : string.CompareOrdinal(tokensA[i], tokensB[j]);
            if (order == 0)
            {
                sharedTokens.Add(tokensA[i++]);
                j++;
            }
            else if (order < 0)
                onlyA.Add(tokensA[i++]);
            else
                onlyB.Add(tokensB[j++]);
        }
        if (sharedTokens.Count > 0 && (onlyA.Count == 0 || onlyB.Count == 0))
            return 100;

        string differenceA = string.Join(' ', onlyA);
        string differenceB = string.Join(' ', onlyB);
        int sharedLength = sharedTokens.Count == 0 ? 0 : string.Join(' ', sharedTokens).Length;
        int separator = sharedLength > 0 ? 1 : 0;
        int sharedPlusA = sharedLength + separator + differenceA.Length;
        int sharedPlusB = sharedLength + separator + differenceB.Length;

        // The shared prefix of sect+ab and sect+ba costs nothing, so their Indel distance is that of ab and ba.
        double best = NormalizedSimilarity(IndelDistance(differenceA, differenceB), sharedPlusA + sharedPlusB);
        if (sharedLength == 0)
            return best;
        // sect against sect+" "+ab differs only by the appended part.
        double shortA = NormalizedSimilarity(separator + differenceA.Length, sharedLength + sharedPlusA);
        double shortB = NormalizedSimilarity(separator + differenceB.Length, sharedLength + sharedPlusB);
        return Math.Max(best, Math.Max(shortA, shortB));
    }

    /// <summary>rapidfuzz's <c>fuzz.ratio</c> (unrounded): 100 − 100·Indel(a, b)/(|a| + |b|); 100 for two empty strings.</summary>
    public static double Ratio(ReadOnlySpan<char> a, ReadOnlySpan<char> b) =>
        NormalizedSimilarity(IndelDistance(a, b), a.Length + b.Length);

    /// <summary>Insert/delete-only edit distance: |a| + |b| − 2·LCS(a, b).</summary>
    public static int IndelDistance(ReadOnlySpan<char> a, ReadOnlySpan<char> b) =>
        a.Length + b.Length - 2 * LongestCommonSubsequence(a, b);

    /// <summary>Length of the longest common subsequence, by the row-at-a-time dynamic programme (strings here are short).</summary>
    public static int LongestCommonSubsequence(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.Length == 0 || b.Length == 0)
            return 0;
        if (b.Length > a.Length)
        {
            ReadOnlySpan<char> swap = a;
            a = b;
            b = swap;
        }
        Span<int> row = b.Length < 256 ? stackalloc int[b.Length + 1] : new int[b.Length + 1];
        row.Clear();
        foreach (char ca in a)
        {
            int diagonal = 0;
            for (int k = 1; k <= b.Length; k++)
            {
                int above = row[k];
                row[k] = ca == b[k - 1] ? diagonal + 1 : Math.Max(above, row[k - 1]);
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    // rapidfuzz's norm_distance<100>: the same operations in the same order, so halves round as Python sees them.
    private static double NormalizedSimilarity(int distance, int lengthSum) =>
        lengthSum > 0 ? 100 - 100.0 * distance / lengthSum : 100;

    private static string[] SortedTokenSet(string processed)
    {
        string[] tokens = processed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Array.Sort(tokens, StringComparer.Ordinal);
        int unique = 0;
        for (int k = 0; k < tokens.Length; k++)
            if (unique == 0 || tokens[k] != tokens[unique - 1])
                tokens[unique++] = tokens[k];
        return tokens[..unique];
    }
}

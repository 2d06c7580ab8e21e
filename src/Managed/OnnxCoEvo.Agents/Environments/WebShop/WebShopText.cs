namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>Word-level helpers the scripted expert judges pages with: lower-case words and overlap scores.</summary>
public static class WebShopText
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "with", "by", "at", "from", "is", "it", "that", "this",
        "i", "im", "am", "me", "my", "we", "you", "need", "want", "looking", "look", "find", "buy", "get", "some", "please",
        "would", "like", "price", "lower", "than", "dollars", "less", "under", "which", "has", "have", "be", "are",
    };

    /// <summary>Lower-case runs of letters, digits, '.' and '\'' (so "6.76", "men's" stay whole); edge dots are trimmed.</summary>
    public static string[] Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool inWord = i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '.' or '\'');
            if (inWord && start < 0)
                start = i;
            else if (!inWord && start >= 0)
            {
                string word = text[start..i].Trim('.', '\'').ToLowerInvariant();
                if (word.Length > 0)
                    words.Add(word);
                start = -1;
            }
        }
        return [.. words];
    }

    public static bool IsStopWord(string word) => StopWords.Contains(word);

    /// <summary>The distinct content words of a text.</summary>
    public static HashSet<string> ContentWords(string text) =>
        new(Words(text).Where(w => !IsStopWord(w)), StringComparer.Ordinal);

    /// <summary>How many of <paramref name="wanted"/>'s words the text contains.</summary>
    public static int Overlap(string text, IReadOnlySet<string> wanted) =>
        ContentWords(text).Count(wanted.Contains);

    /// <summary>Jaccard similarity of two texts' content words (0 when both are empty).</summary>
    public static double Similarity(string left, string right)
    {
        HashSet<string> a = ContentWords(left);
        HashSet<string> b = ContentWords(right);
        int shared = a.Count(b.Contains);
        int union = a.Count + b.Count - shared;
        return union == 0 ? 0 : (double)shared / union;
    }
}

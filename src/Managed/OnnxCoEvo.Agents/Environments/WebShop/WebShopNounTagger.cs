using System.Collections.Frozen;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The nouns of a product title for the reward's title_score, standing in for spaCy. WebShop keeps the lower-cased text
/// of every token spaCy (en_core_web_sm/lg) tags NOUN or PROPN; spaCy is not available here, so this tagger is
/// deterministic, context-free and rule-based:
/// <list type="number">
/// <item>The title is lower-cased and split into tokens at every character that is not a letter, digit, '.' or
/// apostrophe (spaCy splits hyphens, slashes, brackets and commas off as separate tokens); '.' and apostrophes are
/// trimmed from the token ends and a possessive "'s" is removed.</item>
/// <item>A token is a noun unless: it has no letter (numbers, punctuation); it starts with a digit (measures and model
/// numbers such as "12oz", "4k", "2pcs"); it is in the closed-class lists below (determiners, pronouns, prepositions,
/// conjunctions, auxiliaries, adverbs, number words, units of measure); it is a listed common adjective (including
/// colours); or it has an adjective suffix (-able, -ible, -ful, -less, -ous, -ish at 6+ letters, -ed at 5+ letters
/// except -eed), bar a few nouns with those endings ("vegetable", "table", ...).</item>
/// </list>
/// How it may differ from spaCy: spaCy uses context (a word can be a NOUN in one title and a VERB or ADJ in another)
/// and, in Title Case text, tags many adjectives and brand words as PROPN, which this tagger counts as nouns only when
/// they are not in the adjective list; spaCy tags some numbers with units ("4K") as nouns and units such as "oz" as
/// nouns, which are dropped here; -ing words are always nouns here. title_score, and through it r_type, can therefore
/// differ from WebShop's for some title pairs; r_type of the target itself is unaffected (its nouns match its own).
/// </summary>
public static class WebShopNounTagger
{
    private static readonly FrozenSet<string> NotNouns = FrozenSet.ToFrozenSet(
    [
        // determiners and quantifiers
        "a", "an", "the", "this", "that", "these", "those", "each", "every", "all", "any", "some", "no", "both", "either",
        "neither", "another", "other", "such", "much", "many", "more", "most", "few", "several", "own",
        // pronouns
        "i", "me", "my", "mine", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "it", "its", "we", "us",
        "our", "ours", "they", "them", "their", "theirs", "myself", "yourself", "itself", "themselves", "who", "whom",
        "whose", "which", "what",
        // prepositions
        "about", "above", "across", "after", "against", "along", "among", "around", "as", "at", "before", "behind",
        "below", "beneath", "beside", "besides", "between", "beyond", "by", "down", "during", "except", "for", "from",
        "in", "inside", "into", "like", "near", "of", "off", "on", "onto", "out", "outside", "over", "per", "plus",
        "since", "through", "throughout", "to", "toward", "towards", "under", "underneath", "until", "up", "upon", "via",
        "with", "within", "without", "x",
        // conjunctions
        "and", "or", "but", "nor", "so", "yet", "if", "because", "while", "whereas", "than", "then", "n",
        // auxiliaries, negation and adverbs
        "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do", "does", "did", "can",
        "could", "will", "would", "shall", "should", "may", "might", "must", "not", "very", "too", "also", "just",
        "only", "even", "well", "really", "ideal", "perfect",
        // number words
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "single",
        "double", "triple", "twin",
        // units of measure and counts
        "oz", "ounce", "ounces", "fl", "ml", "l", "liter", "liters", "litre", "litres", "lb", "lbs", "pound", "pounds",
        "g", "kg", "gram", "grams", "mg", "inch", "inches", "ft", "feet", "foot", "cm", "mm", "m", "yd", "qt", "gal",
        "gallon", "gallons", "ct", "pcs", "pc", "pk", "count", "pack", "packs", "piece", "pieces", "mah", "w", "v",
        // common adjectives of product titles
        "new", "best", "great", "good", "premium", "professional", "natural", "organic", "original", "classic", "modern",
        "vintage", "small", "large", "big", "mini", "long", "short", "tall", "high", "low", "soft", "hard", "light",
        "heavy", "dark", "bright", "fresh", "pure", "extra", "super", "ultra", "real", "true", "easy", "quick", "fast",
        "slow", "hot", "cold", "warm", "cool", "dry", "wet", "clean", "clear", "free", "full", "half", "multi", "non",
        "anti", "pro", "deluxe", "compact", "wireless", "waterproof", "lightweight", "durable", "comfortable",
        "universal", "unisex", "casual", "formal", "slim", "thin", "thick", "wide", "narrow", "flat", "round", "square",
        "straight", "sweet", "spicy", "sour", "salty", "savory", "crunchy", "creamy", "smooth", "rich", "healthy",
        "vegan", "gentle", "daily", "sensitive", "luxury", "elegant", "cute", "smart", "digital", "electric", "solid",
        "black", "white", "red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "gray", "grey", "beige",
        "navy", "silver", "gold", "golden", "ivory", "teal", "khaki", "tan", "multicolor",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> NounsWithAdjectiveEndings = FrozenSet.ToFrozenSet(
        ["vegetable", "vegetables", "table", "tables", "timetable", "cable", "cables", "turntable", "constable"],
        StringComparer.Ordinal);

    /// <summary>The noun tokens of <paramref name="title"/>, lower-cased, in order, repeats kept (WebShop divides by the list's length).</summary>
    public static IReadOnlyList<string> Nouns(string title)
    {
        ArgumentNullException.ThrowIfNull(title);
        var nouns = new List<string>();
        ReadOnlySpan<char> text = title;
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && IsTokenChar(text[i]))
                continue;
            if (i > start && NounOrNull(text[start..i]) is { } noun)
                nouns.Add(noun);
            start = i + 1;
        }
        return nouns;
    }

    /// <summary>Whether the lower-cased token counts as a noun (see the class summary for the rules).</summary>
    public static bool IsNoun(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length == 0 || char.IsDigit(token[0]) || !token.Any(char.IsLetter) || NotNouns.Contains(token))
            return false;
        if (NounsWithAdjectiveEndings.Contains(token))
            return true;
        bool adjectiveSuffix = token.Length >= 6
            && (token.EndsWith("able", StringComparison.Ordinal) || token.EndsWith("ible", StringComparison.Ordinal)
                || token.EndsWith("ful", StringComparison.Ordinal) || token.EndsWith("less", StringComparison.Ordinal)
                || token.EndsWith("ous", StringComparison.Ordinal) || token.EndsWith("ish", StringComparison.Ordinal));
        bool participle = token.Length >= 5 && token.EndsWith("ed", StringComparison.Ordinal) && !token.EndsWith("eed", StringComparison.Ordinal);
        return !adjectiveSuffix && !participle;
    }

    private static bool IsTokenChar(char c) => char.IsLetterOrDigit(c) || c is '.' or '\'' or '\u2019';

    private static string? NounOrNull(ReadOnlySpan<char> raw)
    {
        ReadOnlySpan<char> trimmed = raw.Trim(".'\u2019");
        if (trimmed.EndsWith("'s", StringComparison.OrdinalIgnoreCase) || trimmed.EndsWith("\u2019s", StringComparison.OrdinalIgnoreCase))
            trimmed = trimmed[..^2];
        if (trimmed.IsEmpty)
            return null;
        string token = trimmed.ToString().ToLowerInvariant();
        return IsNoun(token) ? token : null;
    }
}

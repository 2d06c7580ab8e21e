using System.Globalization;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// Hand-written matchers for the three known pre-tokenizer regexes, about twice as fast as the regex engine on these
/// backtracking patterns and free of the surrogate stand-ins the regex path needs. Each reproduces the regex's leftmost-alternative semantics over code
/// points (a supplementary character is one letter, number or other, as in Oniguruma); tests check them against the
/// regexes on generated text.
/// </summary>
internal static class PreTokenizerScanner
{
    public enum Pattern { Gpt2, Llama3, Qwen2 }

    private enum CharClass : byte { Other, Letter, Number, Space }

    private static readonly CharClass[] AsciiClasses = BuildAsciiClasses();

    public static Pattern? Recognize(string regexPattern) => regexPattern switch
    {
        PreTokenizerPatterns.Gpt2 => Pattern.Gpt2,
        PreTokenizerPatterns.Llama3 => Pattern.Llama3,
        PreTokenizerPatterns.Qwen2 => Pattern.Qwen2,
        _ => null,
    };

    /// <summary>Appends the pieces of <paramref name="piece"/> (these patterns match every character, so no gaps).</summary>
    public static void Split(Pattern pattern, ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output)
    {
        ReadOnlySpan<char> s = piece.Span;
        int i = 0;
        while (i < s.Length)
        {
            int end = pattern == Pattern.Gpt2 ? MatchGpt2(s, i) : MatchLlama3(s, i, maxDigits: pattern == Pattern.Llama3 ? 3 : 1);
            output.Add(piece[i..end]);
            i = end;
        }
    }

    // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    private static int MatchLlama3(ReadOnlySpan<char> s, int i, int maxDigits)
    {
        char c = s[i];
        if (c == '\'' && Contraction(s, i, ignoreCase: true) is int contractionEnd) return contractionEnd;
        var cls = ClassAt(s, i, out int width);
        if (cls == CharClass.Letter) return Run(s, i, CharClass.Letter, int.MaxValue);
        if (cls != CharClass.Number && c != '\r' && c != '\n' && i + width < s.Length && ClassAt(s, i + width, out _) == CharClass.Letter)
            return Run(s, i + width, CharClass.Letter, int.MaxValue);
        if (cls == CharClass.Number) return Run(s, i, CharClass.Number, maxDigits);
        int start = c == ' ' && i + 1 < s.Length && ClassAt(s, i + 1, out _) == CharClass.Other ? i + 1 : i;
        if (ClassAt(s, start, out _) == CharClass.Other)
        {
            int end = Run(s, start, CharClass.Other, int.MaxValue);
            while (end < s.Length && s[end] is '\r' or '\n') end++;
            return end;
        }
        // Whitespace at i. \s*[\r\n]+ backtracks to the last line break of the run and takes it with what precedes it.
        int runEnd = Run(s, i, CharClass.Space, int.MaxValue);
        int lastBreak = s[i..runEnd].LastIndexOfAny('\r', '\n');
        if (lastBreak >= 0) return i + lastBreak + 1;
        return SpacesNotBeforeWord(s, i, runEnd);
    }

    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    private static int MatchGpt2(ReadOnlySpan<char> s, int i)
    {
        char c = s[i];
        if (c == '\'' && Contraction(s, i, ignoreCase: false) is int contractionEnd) return contractionEnd;
        if (c == ' ' && i + 1 < s.Length && ClassAt(s, i + 1, out _) is var next and not CharClass.Space)
            return Run(s, i + 1, next, int.MaxValue);
        var cls = ClassAt(s, i, out _);
        if (cls != CharClass.Space) return Run(s, i, cls, int.MaxValue);
        return SpacesNotBeforeWord(s, i, Run(s, i, CharClass.Space, int.MaxValue));
    }

    // \s+(?!\S)|\s+ on the whitespace run [i, runEnd): before a non-space the last space is left for the next piece.
    private static int SpacesNotBeforeWord(ReadOnlySpan<char> s, int i, int runEnd) =>
        runEnd == s.Length || runEnd - i < 2 ? runEnd : runEnd - 1;

    private static int? Contraction(ReadOnlySpan<char> s, int i, bool ignoreCase)
    {
        if (i + 1 >= s.Length) return null;
        char a = Fold(s[i + 1], ignoreCase);
        if (a is 's' or 't' or 'm' or 'd') return i + 2;
        if (i + 2 >= s.Length) return null;
        char b = Fold(s[i + 2], ignoreCase);
        return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? i + 3 : null;
    }

    // .NET's (?i) equates these letters only with their ASCII case partners.
    private static char Fold(char c, bool ignoreCase) => ignoreCase && c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;

    /// <summary>End of the run of <paramref name="cls"/> starting at <paramref name="i"/>, at most <paramref name="maxCodePoints"/> long.</summary>
    private static int Run(ReadOnlySpan<char> s, int i, CharClass cls, int maxCodePoints)
    {
        int count = 0;
        while (i < s.Length && count < maxCodePoints && ClassAt(s, i, out int width) == cls)
        {
            i += width;
            count++;
        }
        return i;
    }

    private static CharClass ClassAt(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        width = 1;
        if (c < 128) return AsciiClasses[c];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return FromCategory(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, s[i + 1])));
        }
        return char.IsWhiteSpace(c) ? CharClass.Space : FromCategory(char.GetUnicodeCategory(c));
    }

    private static CharClass FromCategory(UnicodeCategory category) => category switch
    {
        <= UnicodeCategory.OtherLetter => CharClass.Letter, // Lu Ll Lt Lm Lo
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
        _ => CharClass.Other,
    };

    private static CharClass[] BuildAsciiClasses()
    {
        var table = new CharClass[128];
        for (int c = 0; c < 128; c++)
        {
            table[c] = char.IsWhiteSpace((char)c) ? CharClass.Space
                : char.IsAsciiLetter((char)c) ? CharClass.Letter
                : char.IsAsciiDigit((char)c) ? CharClass.Number
                : CharClass.Other;
        }
        return table;
    }
}

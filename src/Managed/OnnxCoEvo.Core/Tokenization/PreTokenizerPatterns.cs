using System.Text.RegularExpressions;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// The pre-tokenizer regexes of the byte-level BPE families, as their tokenizer.json files spell them, and
/// compiled .NET equivalents. .NET's \s is Unicode White_Space (U+001C..U+001F are not spaces), \p{L} and \p{N}
/// are the Unicode categories, and backtracking into "\s+(?!\S)" behaves as in Oniguruma: before a word the
/// last space is left to join it (" x"), trailing spaces at the end of the text stay one piece.
/// </summary>
public static partial class PreTokenizerPatterns
{
    /// <summary>GPT-2's pattern (ByteLevel with use_regex true).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama-3's pattern: case-insensitive contractions, digits in groups of at most three.</summary>
    public const string Llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's pattern: Llama-3's with every digit on its own.</summary>
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Gpt2, RegexOptions.CultureInvariant)]
    public static partial Regex Gpt2Regex();

    [GeneratedRegex(Llama3, RegexOptions.CultureInvariant)]
    public static partial Regex Llama3Regex();

    [GeneratedRegex(Qwen2, RegexOptions.CultureInvariant)]
    public static partial Regex Qwen2Regex();

    /// <summary>The compiled regex for a pattern: the prebuilt one for the three known patterns, else a new one.</summary>
    /// <exception cref="ArgumentException">The pattern is not valid .NET regex syntax.</exception>
    public static Regex Compile(string pattern) => pattern switch
    {
        Gpt2 => Gpt2Regex(),
        Llama3 => Llama3Regex(),
        Qwen2 => Qwen2Regex(),
        _ => new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled),
    };

    /// <summary>
    /// Splits text as a Split pre-tokenizer (Isolated) with this pattern does: matches and the stretches between them.
    /// The three known patterns use fast hand-written scanners with the same results as <see cref="SplitWithRegex"/>.
    /// </summary>
    public static string[] Split(string pattern, string text)
    {
        var pieces = new List<ReadOnlyMemory<char>>();
        new RegexSplitPreTokenizer(pattern).Split(text.AsMemory(), pieces);
        return pieces.Select(p => p.ToString()).ToArray();
    }

    /// <summary>
    /// The reference split through the regex engine, with code-point semantics: a supplementary-plane character is
    /// one letter, number or other character, as in Oniguruma (which Hugging Face uses), not two surrogates.
    /// </summary>
    public static string[] SplitWithRegex(Regex regex, string text)
    {
        var pieces = new List<ReadOnlyMemory<char>>();
        RegexSplitting.SplitIsolated(regex, text.AsMemory(), pieces);
        return pieces.Select(p => p.ToString()).ToArray();
    }
}

using System.Text;
using System.Text.RegularExpressions;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

public class PreTokenizerPatternTests
{
    public static TheoryData<string, string[]> Gpt2Cases => new()
    {
        { "I'm here, it's 12345 dollars!!", ["I", "'m", " here", ",", " it", "'s", " 12345", " dollars", "!!"] },
        { "I'M", ["I", "'", "M"] },                               // contractions are case-sensitive in GPT-2
        { "hello   world  ", ["hello", "  ", " world", "  "] },   // the last space before a word joins it; trailing spaces stay together
        { "a\n\nb", ["a", "\n", "\n", "b"] },
        { "héllo wörld 你好", ["héllo", " wörld", " 你好"] },
        { "😀abc", ["😀", "abc"] },
        { "", [] },
    };

    public static TheoryData<string, string[]> Llama3Cases => new()
    {
        { "I'M 12345 dollars", ["I", "'M", " ", "123", "45", " dollars"] }, // case-insensitive contractions, digit groups of 3
        { "don't", ["don", "'t"] },
        { "x.\n\ny", ["x", ".\n\n", "y"] },                 // punctuation takes the newlines after it
        { "a \n b", ["a", " \n", " b"] },                   // whitespace up to the last newline is one piece
        { "a\n\n  b", ["a", "\n\n", " ", " b"] },
        { "hi   there  ", ["hi", "  ", " there", "  "] },
        { "price: $12.99", ["price", ":", " $", "12", ".", "99"] },
        { "Größe 42cm", ["Größe", " ", "42", "cm"] },
        { "(hello)", ["(hello", ")"] },                     // one non-letter may lead a word
        { "😀abc", ["😀abc"] },                              // an emoji is one code point, not two surrogates
        { "𠀀𠀁 a", ["𠀀𠀁", " a"] },                          // supplementary CJK letters are letters
        { "a\t\tb", ["a", "\t", "\tb"] },
    };

    public static TheoryData<string, string[]> Qwen2Cases => new()
    {
        { "12345", ["1", "2", "3", "4", "5"] },
        { "abc123 it's", ["abc", "1", "2", "3", " it", "'s"] },
        { "x.\n\ny", ["x", ".\n\n", "y"] },
    };

    [Theory]
    [MemberData(nameof(Gpt2Cases))]
    public void Gpt2_pattern_splits(string text, string[] expected)
    {
        Assert.Equal(expected, PreTokenizerPatterns.Split(PreTokenizerPatterns.Gpt2, text));
        Assert.Equal(expected, PreTokenizerPatterns.SplitWithRegex(PreTokenizerPatterns.Gpt2Regex(), text));
    }

    [Theory]
    [MemberData(nameof(Llama3Cases))]
    public void Llama3_pattern_splits(string text, string[] expected)
    {
        Assert.Equal(expected, PreTokenizerPatterns.Split(PreTokenizerPatterns.Llama3, text));
        Assert.Equal(expected, PreTokenizerPatterns.SplitWithRegex(PreTokenizerPatterns.Llama3Regex(), text));
    }

    [Theory]
    [MemberData(nameof(Qwen2Cases))]
    public void Qwen2_pattern_splits(string text, string[] expected)
    {
        Assert.Equal(expected, PreTokenizerPatterns.Split(PreTokenizerPatterns.Qwen2, text));
        Assert.Equal(expected, PreTokenizerPatterns.SplitWithRegex(PreTokenizerPatterns.Qwen2Regex(), text));
    }

    [Fact]
    public void Fast_scanners_agree_with_the_regexes_on_generated_text()
    {
        string[] palette =
        [
            "a", "Z", "é", "ж", "中", "1", "٣", "½", " ", "  ", "\t", "\n", "\r", "\u00A0", "\u3000", "'", "s", "S", "t", "R",
            "E", "v", "m", "L", "d", "!", ".", "$", "😀", "𠀀", "𝟘", "\u0301", "_", "\uD800", "\u001C", "\u0085", "[SEP]",
        ];
        var random = new Random(12345);
        foreach (var (pattern, regex) in new[]
        {
            (PreTokenizerPatterns.Gpt2, PreTokenizerPatterns.Gpt2Regex()),
            (PreTokenizerPatterns.Llama3, PreTokenizerPatterns.Llama3Regex()),
            (PreTokenizerPatterns.Qwen2, PreTokenizerPatterns.Qwen2Regex()),
        })
        {
            for (int k = 0; k < 3000; k++)
            {
                var sb = new StringBuilder();
                int length = random.Next(0, 14);
                for (int i = 0; i < length; i++) sb.Append(palette[random.Next(palette.Length)]);
                string text = sb.ToString();
                Assert.Equal(PreTokenizerPatterns.SplitWithRegex(regex, text), PreTokenizerPatterns.Split(pattern, text));
            }
        }
    }

    [Fact]
    public void Dotnet_regex_whitespace_is_char_IsWhiteSpace()
    {
        // The scanners classify with char.IsWhiteSpace; the regexes use \s. They must agree on every BMP character.
        var space = new Regex(@"^\s$", RegexOptions.CultureInvariant);
        for (int c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;
            Assert.True(space.IsMatch(((char)c).ToString()) == char.IsWhiteSpace((char)c), $"U+{c:X4}");
        }
        Assert.False(char.IsWhiteSpace('\u001C')); // Unicode White_Space, not Python's isspace
    }

    [Theory]
    [InlineData("\U0001D400", "Lu")] // MATHEMATICAL BOLD CAPITAL A
    [InlineData("\U0001D41A", "Ll")]
    [InlineData("\U00020000", "Lo")]
    [InlineData("\U0001D7D8", "Nd")] // MATHEMATICAL DOUBLE-STRUCK DIGIT ZERO
    [InlineData("\U00010140", "Nl")]
    [InlineData("\U00010107", "No")]
    [InlineData("\U0001D167", "Mn")]
    [InlineData("\U0001D6C1", "Sm")]
    [InlineData("\U0001F600", "So")]
    [InlineData("\U000F0000", "Co")]
    public void Regex_path_sees_a_supplementary_character_as_one_of_its_category(string character, string category)
    {
        var regex = new Regex($@"\p{{{category}}}+");
        Assert.Equal(["-", character + character, "-"], PreTokenizerPatterns.SplitWithRegex(regex, "-" + character + character + "-"));
    }

    [Fact]
    public void Unknown_patterns_go_through_the_regex_engine_with_gaps_kept()
    {
        // Isolated: matches and the stretches between them are all pieces.
        Assert.Equal(["ab", ",", "cd", ",", ",", "e"], PreTokenizerPatterns.Split(",", "ab,cd,,e"));
        Assert.Equal(["a", "12", "b", "3"], PreTokenizerPatterns.Split(@"\d+", "a12b3"));
    }
}

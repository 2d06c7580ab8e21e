using OnnxCoEvo.Agents.Environments.WebShop;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.WebShopEngine;

public sealed class FuzzyMatchTests
{
    [Theory]
    [InlineData("  Hello, World! ", "hello  world")]
    [InlineData("Caf\u00e9 Ol\u00e9-Blend!", "caf ol blend")]
    [InlineData("6.76 FL OZ (Pack of 1)", "6 76 fl oz  pack of 1")]
    [InlineData("!!!", "")]
    public void FullProcess_lower_cases_drops_latin1_and_blanks_punctuation(string input, string expected) =>
        Assert.Equal(expected, FuzzyMatch.FullProcess(input));

    [Theory]
    [InlineData("abc", "abd", 2)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 5)]
    [InlineData("abcdefghijklmnopqrst", "abcdefghijklmnopqxyz", 6)]
    public void IndelDistance_counts_inserts_and_deletes(string a, string b, int expected)
    {
        Assert.Equal(expected, FuzzyMatch.IndelDistance(a, b));
        Assert.Equal(100 - 100.0 * expected / (a.Length + b.Length), FuzzyMatch.Ratio(a, b), 12);
    }

    [Theory]
    // Subset rule: a shared token and one set inside the other -> 100, whatever the lengths.
    [InlineData("powder snow", "cool powder snow", 100)]
    [InlineData("tea tree oil", "tea tree", 100)]
    [InlineData("x-large", "large", 100)]
    [InlineData("long lasting", "Long-Lasting", 100)]
    // Nothing shared: ratio of the joined differences; indel(abc, abd) = 2 over 6 -> 66.67.
    [InlineData("abc", "abd", 67)]
    // sect "essential", ab "oil", ba "oils": indel 1 over (13 + 14) -> 96.30.
    [InlineData("essential oil", "essential oils", 96)]
    // sect "of pack": best term is sect vs sect+" 6": 100 - 100*2/16 = 87.5 -> 88, so "pack of 6" matches "pack of 12".
    [InlineData("pack of 6", "pack of 12", 88)]
    // sect "fl oz": sect vs sect+" 8" = 100 - 100*2/12 = 83.33.
    [InlineData("8 fl oz", "16 fl oz", 83)]
    // "8 4 fl oz" vs "16 9 fl oz": indel("4 8", "16 9") = 5 over 19 -> 73.68.
    [InlineData("8.4 fl oz", "16.9 fl oz", 74)]
    [InlineData("", "abc", 0)]
    [InlineData("!!", "abc", 0)]
    public void TokenSetRatio_matches_hand_computed_scores(string a, string b, int expected)
    {
        Assert.Equal(expected, FuzzyMatch.TokenSetRatio(a, b));
        Assert.Equal(expected, FuzzyMatch.TokenSetRatio(b, a));
    }

    [Fact]
    public void Scores_around_the_threshold_round_as_python()
    {
        // 20 + 20 characters, 3 substitutions: indel 6 over 40 -> exactly 85.0.
        Assert.Equal(85, FuzzyMatch.TokenSetRatio("abcdefghijklmnopqrst", "abcdefghijklmnopqxyz"));
        // 21 + 21 characters, 3 substitutions: indel 6 over 42 -> 85.71.
        Assert.Equal(86, FuzzyMatch.TokenSetRatio("abcdefghijklmnopqrstu", "abcdefghijklmnopqrxyz"));
        // indel 58 over 400 -> exactly 85.5, half to even -> 86; indel 62 over 400 -> 84.5 -> 84 (not 85).
        Assert.Equal(85.5, FuzzyMatch.RawTokenSetRatio(new string('a', 171) + new string('b', 29), new string('a', 171) + new string('c', 29)));
        Assert.Equal(86, FuzzyMatch.TokenSetRatio(new string('a', 171) + new string('b', 29), new string('a', 171) + new string('c', 29)));
        Assert.Equal(84, FuzzyMatch.TokenSetRatio(new string('a', 169) + new string('b', 31), new string('a', 169) + new string('c', 31)));
    }
}

using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

public class ByteLevelAlphabetTests
{
    [Theory]
    [InlineData(32, '\u0120')]  // space -> 'Ġ'
    [InlineData(10, '\u010A')]  // '\n' -> 'Ċ'
    [InlineData(0, '\u0100')]   // first unprintable byte -> U+0100
    [InlineData(9, '\u0109')]   // '\t' -> 'ĉ'
    [InlineData(33, '!')]       // printable ASCII maps to itself
    [InlineData(126, '~')]
    [InlineData(127, '\u0121')] // DEL is the 34th unprintable byte (0..32 come first)
    [InlineData(160, '\u0142')] // NBSP
    [InlineData(161, '¡')]
    [InlineData(172, '¬')]
    [InlineData(173, '\u0143')] // soft hyphen is the 68th and last unprintable byte
    [InlineData(174, '®')]
    [InlineData(255, 'ÿ')]
    public void Maps_bytes_as_gpt2_defines(int value, char expected)
    {
        Assert.Equal(expected, ByteLevelAlphabet.ByteToChar((byte)value));
        Assert.Equal(value, ByteLevelAlphabet.CharToByte(expected));
    }

    [Fact]
    public void Is_a_bijection_onto_256_characters_below_U0144()
    {
        var chars = ByteLevelAlphabet.Alphabet.ToArray();
        Assert.Equal(256, chars.Distinct().Count());
        Assert.All(chars, c => Assert.True(c < '\u0144'));
        Assert.Equal(68, chars.Count(c => c >= '\u0100'));
        for (int b = 0; b < 256; b++) Assert.Equal(b, ByteLevelAlphabet.CharToByte(chars[b]));
        Assert.Equal(-1, ByteLevelAlphabet.CharToByte(' '));
        Assert.Equal(-1, ByteLevelAlphabet.CharToByte('中'));
    }

    [Fact]
    public void Encodes_utf8_bytes_one_character_each()
    {
        Assert.Equal("ĠhÃ©", ByteLevelAlphabet.Encode(" hé"u8));
    }
}

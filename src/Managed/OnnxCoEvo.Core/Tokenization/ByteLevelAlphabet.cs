namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map. Byte-level BPE works on these characters so every byte sequence,
/// valid UTF-8 or not, has a printable, whitespace-free spelling: bytes '!'..'~', '¡'..'¬' and '®'..'ÿ' stand for
/// themselves, the other 68 bytes take U+0100 + n in increasing byte order (space is 'Ġ' U+0120, '\n' is 'Ċ' U+010A).
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();

    // Every mapped character is below U+0144, so a small dense table inverts the map.
    private static readonly short[] CharToByteTable = BuildCharToByte(ByteToCharTable);

    /// <summary>The character that spells <paramref name="value"/> in byte-level vocabularies.</summary>
    public static char ByteToChar(byte value) => ByteToCharTable[value];

    /// <summary>The byte that <paramref name="c"/> spells, or -1 when <paramref name="c"/> is not in the alphabet.</summary>
    public static int CharToByte(char c) => c < CharToByteTable.Length ? CharToByteTable[c] : -1;

    /// <summary>The 256 alphabet characters in byte order.</summary>
    public static ReadOnlySpan<char> Alphabet => ByteToCharTable;

    /// <summary>Spells UTF-8 bytes in the alphabet (one character per byte).</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes, static (chars, source) =>
        {
            for (int i = 0; i < source.Length; i++) chars[i] = ByteToCharTable[source[i]];
        });
    }

    /// <summary>
    /// Appends the bytes a token spells. A token holding any character outside the alphabet (an added token such
    /// as "\n\n") is taken as its own UTF-8 text, as Hugging Face's ByteLevel decoder does.
    /// </summary>
    public static void AppendTokenBytes(string token, List<byte> bytes)
    {
        foreach (char c in token)
        {
            if (CharToByte(c) < 0)
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }
        }
        foreach (char c in token) bytes.Add((byte)CharToByte(c));
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)(256 + next++);
        }
        return table;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var table = new short[byteToChar.Max() + 1];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[byteToChar[b]] = (short)b;
        return table;
    }
}

using System.Text;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

public class DecodeTests
{
    private static readonly BpeTokenizer Tiny = TinyTokenizerFactory.Create();

    public static TheoryData<string> Texts => new()
    {
        "",
        "hello",
        "Thought: I think I should search.\nAction: search[red mug 12 oz]",
        "😀👍🏽 family: 👨‍👩‍👧",
        "你好，世界。日本語のテキスト",
        "naïve café, Größe, ½ price",
        "e\u0301 combining, \u0301 alone",
        "שלום עולם مرحبا",
        "\t\n\r\n  leading and trailing  ",
        "\u0000\u0001\u007F control",
        "𝐀𝟘𠀀 supplementary letters and digits",
        "Price: $12.99 [SEP] Buy Now [SEP] 1234567890",
        "I'M sure it's 'quoted' \"double\"",
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void Encode_then_decode_gives_the_text_back(string text)
    {
        Assert.Equal(text, Tiny.Decode(Tiny.Encode(text)));
    }

    [Fact]
    public void Round_trips_generated_unicode_text()
    {
        var random = new Random(7);
        for (int k = 0; k < 300; k++)
        {
            var sb = new StringBuilder();
            int length = random.Next(0, 40);
            for (int i = 0; i < length; i++)
            {
                int codePoint = random.Next(4) switch
                {
                    0 => random.Next(0x20, 0x7F),
                    1 => random.Next(0xA0, 0x800),
                    2 => random.Next(0x3000, 0xD800),
                    _ => random.Next(0x10000, 0x1FAFF),
                };
                sb.Append(char.ConvertFromUtf32(codePoint));
            }
            string text = sb.ToString();
            Assert.Equal(text, Tiny.Decode(Tiny.Encode(text)));
        }
    }

    [Fact]
    public void Skips_special_tokens_when_asked()
    {
        int bos = Tiny.BosTokenId!.Value, end = Tiny.EosTokenId!.Value;
        int[] ids = [bos, .. Tiny.Encode("Action: click[Buy Now]"), end];
        Assert.Equal("<|bos|>Action: click[Buy Now]<|end|>", Tiny.Decode(ids));
        Assert.Equal("Action: click[Buy Now]", Tiny.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Replaces_incomplete_utf8_and_skips_unknown_ids()
    {
        byte[] smile = Encoding.UTF8.GetBytes("😀"); // F0 9F 98 80
        Assert.Equal("\uFFFD", Tiny.Decode([ByteId(smile[0]), ByteId(smile[1])]));
        Assert.Equal("a\uFFFDb", Tiny.Decode([ByteId((byte)'a'), ByteId(0xFF), ByteId((byte)'b')]));
        Assert.Equal("", Tiny.Decode([Tiny.VocabSize + 5, -1]));
    }

    [Fact]
    public void Streaming_decoder_emits_characters_when_their_last_byte_arrives()
    {
        string text = "a😀b中";
        int[] ids = Encoding.UTF8.GetBytes(text).Select(ByteId).ToArray();
        var decoder = Tiny.CreateStreamingDecoder();
        string[] pieces = ids.Select(decoder.Append).ToArray();
        Assert.Equal(["a", "", "", "", "😀", "b", "", "", "中"], pieces);
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Streaming_decoder_concatenation_equals_full_decode()
    {
        string text = "Thought: 買い物 🛒 done.\nAction: click[Buy Now]";
        int[] ids = [.. Tiny.Encode(text), Tiny.EosTokenId!.Value];
        var decoder = Tiny.CreateStreamingDecoder(skipSpecialTokens: true);
        var sb = new StringBuilder();
        foreach (int id in ids) sb.Append(decoder.Append(id));
        sb.Append(decoder.Flush());
        Assert.Equal(text, sb.ToString());
    }

    [Fact]
    public void Streaming_decoder_flush_replaces_an_unfinished_character()
    {
        var decoder = Tiny.CreateStreamingDecoder();
        Assert.Equal("x", decoder.Append([ByteId((byte)'x'), ByteId(0xE4)]));
        Assert.Equal("\uFFFD", decoder.Flush());
    }

    private static int ByteId(byte value) => Tiny.TokenToId(ByteLevelAlphabet.ByteToChar(value).ToString())!.Value;
}

using System.Runtime.InteropServices;
using System.Text;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// Decodes a stream of generated ids into text as soon as it is complete UTF-8: a character split across tokens
/// (common for emoji and CJK in byte-level BPE) is emitted when its last byte arrives. Not thread-safe.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly BpeTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _utf8 = new UTF8Encoding(false, throwOnInvalidBytes: false).GetDecoder();
    private readonly List<byte> _bytes = [];
    private char[] _chars = new char[64];

    internal StreamingDecoder(BpeTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the text that became complete (often empty mid-character).</summary>
    public string Append(int id)
    {
        _bytes.Clear();
        _tokenizer.AppendTokenBytes(id, _bytes, _skipSpecialTokens);
        return Convert(flush: false);
    }

    /// <summary>Adds several ids; returns the text that became complete.</summary>
    public string Append(ReadOnlySpan<int> ids)
    {
        _bytes.Clear();
        foreach (int id in ids) _tokenizer.AppendTokenBytes(id, _bytes, _skipSpecialTokens);
        return Convert(flush: false);
    }

    /// <summary>Ends the stream: held-back bytes of an unfinished character come out as U+FFFD.</summary>
    public string Flush()
    {
        _bytes.Clear();
        return Convert(flush: true);
    }

    private string Convert(bool flush)
    {
        ReadOnlySpan<byte> bytes = CollectionsMarshal.AsSpan(_bytes);
        int needed = _utf8.GetCharCount(bytes, flush) ;
        if (needed > _chars.Length) _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int written = _utf8.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, written);
    }
}

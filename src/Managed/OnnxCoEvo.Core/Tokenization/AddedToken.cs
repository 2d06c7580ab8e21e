using System.Buffers;
using System.Text;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// An entry of tokenizer.json's added_tokens: text matched before BPE and emitted as one id.
/// <paramref name="Normalized"/> false means it is matched in the raw text (usual for special tokens), true in the
/// normalized text. <paramref name="SingleWord"/>: only where no letter, digit or '_' touches it.
/// <paramref name="LStrip"/>/<paramref name="RStrip"/>: the match swallows whitespace on that side.
/// </summary>
public sealed record AddedToken(
    int Id,
    string Content,
    bool Special,
    bool SingleWord = false,
    bool LStrip = false,
    bool RStrip = false,
    bool Normalized = false);

/// <summary>A stretch of input: either text still to be encoded, or a matched added token.</summary>
internal readonly record struct TextSegment(ReadOnlyMemory<char> Text, AddedToken? Token);

/// <summary>Finds added tokens in text, leftmost first and longest at each position (Hugging Face's order).</summary>
internal sealed class AddedTokenMatcher
{
    private sealed class TrieNode
    {
        public Dictionary<char, TrieNode>? Children;
        public AddedToken? Token;
    }

    private readonly TrieNode _root = new();
    private readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        var first = new HashSet<char>();
        foreach (var token in tokens)
        {
            if (token.Content.Length == 0) continue;
            first.Add(token.Content[0]);
            var node = _root;
            foreach (char c in token.Content)
            {
                node.Children ??= [];
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new TrieNode();
                node = child;
            }
            node.Token ??= token;
        }
        _firstChars = SearchValues.Create([.. first]);
        IsEmpty = first.Count == 0;
    }

    public bool IsEmpty { get; }

    /// <summary>Cuts <paramref name="text"/> into text and token segments (empty text segments are dropped).</summary>
    public void Split(ReadOnlyMemory<char> text, List<TextSegment> output)
    {
        ReadOnlySpan<char> span = text.Span;
        int emitted = 0; // end of what has been output
        int pos = 0;
        while (!IsEmpty && pos < span.Length)
        {
            int found = span[pos..].IndexOfAny(_firstChars);
            if (found < 0) break;
            pos += found;
            var (token, end) = LongestAt(span, pos);
            if (token is null || (token.SingleWord && !StandsAlone(span, pos, end)))
            {
                pos++;
                continue;
            }
            int start = pos;
            if (token.LStrip) while (start > emitted && IsWhiteSpaceAt(span, start - 1)) start--;
            if (token.RStrip) while (end < span.Length && IsWhiteSpaceAt(span, end)) end++;
            if (start > emitted) output.Add(new TextSegment(text[emitted..start], null));
            output.Add(new TextSegment(default, token));
            emitted = pos = end;
        }
        if (emitted < span.Length) output.Add(new TextSegment(text[emitted..], null));
    }

    private (AddedToken? Token, int End) LongestAt(ReadOnlySpan<char> span, int start)
    {
        AddedToken? best = null;
        int bestEnd = start;
        var node = _root;
        for (int i = start; i < span.Length && node.Children is not null && node.Children.TryGetValue(span[i], out node); i++)
        {
            if (node.Token is not null)
            {
                best = node.Token;
                bestEnd = i + 1;
            }
        }
        return (best, bestEnd);
    }

    private static bool StandsAlone(ReadOnlySpan<char> span, int start, int end) =>
        (start == 0 || !IsWordChar(span, start - 1, before: true)) && (end == span.Length || !IsWordChar(span, end, before: false));

    private static bool IsWordChar(ReadOnlySpan<char> span, int index, bool before)
    {
        // Decode the whole code point so a supplementary letter counts as a letter.
        Rune rune;
        bool ok = before
            ? Rune.DecodeLastFromUtf16(span[..(index + 1)], out rune, out _) == OperationStatus.Done
            : Rune.DecodeFromUtf16(span[index..], out rune, out _) == OperationStatus.Done;
        return ok && (Rune.IsLetterOrDigit(rune) || rune.Value == '_');
    }

    private static bool IsWhiteSpaceAt(ReadOnlySpan<char> span, int index) => char.IsWhiteSpace(span[index]);
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// A tokenizer.json pre-tokenizer: cuts text into pieces that BPE encodes independently. Pieces are slices of the
/// input where possible (no copies); only a prefix space makes a new string.
/// </summary>
public abstract record PreTokenizer
{
    /// <summary>Cuts <paramref name="piece"/> and appends the results to <paramref name="output"/>.</summary>
    internal abstract void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output);

    /// <summary>True when some step maps text to the byte-level alphabet (required: only byte-level BPE is supported).</summary>
    internal abstract bool HasByteLevel { get; }

    /// <summary>True when splitting returns the piece unchanged (ByteLevel without prefix space and regex).</summary>
    internal virtual bool IsIdentity => false;
}

/// <summary>
/// ByteLevel: optionally prefixes a space, optionally splits with GPT-2's regex; the byte mapping itself happens
/// in the BPE step of <see cref="BpeTokenizer"/>.
/// </summary>
public sealed record ByteLevelPreTokenizer(bool AddPrefixSpace, bool TrimOffsets, bool UseRegex) : PreTokenizer
{
    internal override bool HasByteLevel => true;

    internal override bool IsIdentity => !AddPrefixSpace && !UseRegex;

    internal override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output)
    {
        if (piece.IsEmpty) return;
        // Hugging Face adds the space to every piece that does not already start with one.
        if (AddPrefixSpace && piece.Span[0] != ' ') piece = (" " + piece.Span.ToString()).AsMemory();
        if (UseRegex) PreTokenizerScanner.Split(PreTokenizerScanner.Pattern.Gpt2, piece, output);
        else output.Add(piece);
    }
}

/// <summary>
/// Split with behavior "Isolated" and invert false: every match is a piece and so is every stretch between matches.
/// <paramref name="PatternIsRegex"/> false means tokenizer.json gave {"String": ...}, matched literally.
/// </summary>
public sealed record RegexSplitPreTokenizer(string Pattern, bool PatternIsRegex = true) : PreTokenizer
{
    // The three known patterns run on hand-written scanners; any other goes through .NET's regex engine.
    private readonly PreTokenizerScanner.Pattern? _scanner = PatternIsRegex ? PreTokenizerScanner.Recognize(Pattern) : null;

    private readonly Regex _regex = PatternIsRegex
        ? PreTokenizerPatterns.Compile(Pattern)
        : new Regex(Regex.Escape(Pattern), RegexOptions.CultureInvariant);

    internal override bool HasByteLevel => false;

    internal override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output)
    {
        if (_scanner is { } scanner) PreTokenizerScanner.Split(scanner, piece, output);
        else RegexSplitting.SplitIsolated(_regex, piece, output);
    }

    // Equality is by pattern; the compiled regex is derived state.
    public bool Equals(RegexSplitPreTokenizer? other) =>
        other is not null && Pattern == other.Pattern && PatternIsRegex == other.PatternIsRegex;

    public override int GetHashCode() => HashCode.Combine(Pattern, PatternIsRegex);
}

/// <summary>Digits: isolates each digit (<paramref name="IndividualDigits"/>) or each run of digits (Unicode N*).</summary>
public sealed record DigitsPreTokenizer(bool IndividualDigits) : PreTokenizer
{
    internal override bool HasByteLevel => false;

    internal override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output)
    {
        ReadOnlySpan<char> span = piece.Span;
        int start = 0;
        bool inDigits = false;
        int i = 0;
        while (i < span.Length)
        {
            Rune.DecodeFromUtf16(span[i..], out Rune rune, out int width);
            bool digit = Rune.IsNumber(rune);
            if (i > start && (digit != inDigits || (digit && IndividualDigits)))
            {
                output.Add(piece[start..i]);
                start = i;
            }
            inDigits = digit;
            i += width;
        }
        if (i > start) output.Add(piece[start..i]);
    }
}

/// <summary>Several pre-tokenizers, each cutting the pieces of the one before.</summary>
public sealed record SequencePreTokenizer(IReadOnlyList<PreTokenizer> PreTokenizers) : PreTokenizer
{
    internal override bool HasByteLevel => PreTokenizers.Any(p => p.HasByteLevel);

    // Identity steps (Llama-3's trailing ByteLevel) are skipped rather than copied through.
    private readonly PreTokenizer[] _steps = PreTokenizers.Where(p => !p.IsIdentity).ToArray();

    internal override bool IsIdentity => _steps.Length == 0;

    internal override void Split(ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output)
    {
        if (_steps.Length == 0)
        {
            output.Add(piece);
            return;
        }
        var current = new List<ReadOnlyMemory<char>> { piece };
        for (int s = 0; s < _steps.Length; s++)
        {
            var target = s == _steps.Length - 1 ? output : new List<ReadOnlyMemory<char>>();
            foreach (var p in current) _steps[s].Split(p, target);
            current = target;
        }
    }

    public bool Equals(SequencePreTokenizer? other) =>
        other is not null && PreTokenizers.SequenceEqual(other.PreTokenizers);

    public override int GetHashCode() => PreTokenizers.Count;
}

/// <summary>Regex splitting with Oniguruma's code-point semantics on top of .NET's UTF-16 regexes.</summary>
internal static class RegexSplitting
{
    // Stand-ins for supplementary-plane characters: one UTF-16 unit each, of the same Unicode general category as the
    // character replaced (indexed by UnicodeCategory). Without them .NET sees an emoji or a CJK Extension B letter as
    // two surrogates and, e.g., "😀abc" would not be the single piece Llama-3's regex makes of it.
    private static readonly char[] StandIns =
    [
        '\u00C0', '\u00E0', '\u01C5', '\u02B0', '\u4E00', // Lu Ll Lt Lm Lo
        '\u0300', '\u0903', '\u20DD',                     // Mn Mc Me
        '\u0660', '\u2160', '\u00B2',                     // Nd Nl No
        '\u2000', '\u2028', '\u2029',                     // Zs Zl Zp
        '\u0001', '\u200B', '\uE000', '\uE000',           // Cc Cf Cs (unused) Co
        '\u203F', '\u2010', '\u2045', '\u2046', '\u00AB', '\u00BB', '\u00BF', // Pc Pd Ps Pe Pi Pf Po
        '\u00D7', '\u00A2', '\u00B4', '\u00A9',           // Sm Sc Sk So
        '\u0378',                                         // Cn
    ];

    /// <summary>Appends every match and every non-empty stretch between matches, in order.</summary>
    public static void SplitIsolated(Regex regex, ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output)
    {
        ReadOnlySpan<char> span = piece.Span;
        if (span.IsEmpty) return;
        if (span.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            int last = 0;
            foreach (ValueMatch m in regex.EnumerateMatches(span))
            {
                if (m.Length == 0) continue;
                if (m.Index > last) output.Add(piece[last..m.Index]);
                output.Add(piece.Slice(m.Index, m.Length));
                last = m.Index + m.Length;
            }
            if (last < span.Length) output.Add(piece[last..]);
            return;
        }
        SplitWithStandIns(regex, piece, output);
    }

    private static void SplitWithStandIns(Regex regex, ReadOnlyMemory<char> piece, List<ReadOnlyMemory<char>> output)
    {
        ReadOnlySpan<char> span = piece.Span;
        var proxy = new char[span.Length];
        var offsets = new int[span.Length + 1]; // offsets[k] = index in piece of proxy char k
        int n = 0;
        for (int i = 0; i < span.Length;)
        {
            offsets[n] = i;
            if (char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                proxy[n++] = StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(span[i], span[i + 1]))];
                i += 2;
            }
            else
            {
                proxy[n++] = char.IsSurrogate(span[i]) ? StandIns[(int)UnicodeCategory.PrivateUse] : span[i];
                i++;
            }
        }
        offsets[n] = span.Length;
        int last = 0;
        foreach (ValueMatch m in regex.EnumerateMatches(proxy.AsSpan(0, n)))
        {
            if (m.Length == 0) continue;
            int start = offsets[m.Index], end = offsets[m.Index + m.Length];
            if (start > last) output.Add(piece[last..start]);
            output.Add(piece[start..end]);
            last = end;
        }
        if (last < span.Length) output.Add(piece[last..]);
    }
}

using System.Text;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>A tokenizer.json normalizer: rewrites text before pre-tokenization.</summary>
public abstract record TextNormalizer
{
    internal abstract string Normalize(string text);
}

/// <summary>
/// Unicode NFC, as Qwen2 ships. The toolkit runs with invariant globalization, where .NET's
/// <see cref="string.Normalize(NormalizationForm)"/> has no Unicode tables and returns the text unchanged; text that
/// is already NFC (all ASCII, and nearly all real text) is unaffected, decomposed input then tokenizes differently
/// from Hugging Face. <see cref="IsEffective"/> tells which case holds.
/// </summary>
public sealed record NfcNormalizer : TextNormalizer
{
    /// <summary>True when this runtime really composes ("e" + U+0301 becomes "é").</summary>
    public static bool IsEffective { get; } = "e\u0301".Normalize(NormalizationForm.FormC).Length == 1;

    internal override string Normalize(string text) =>
        !IsEffective || Ascii.IsValid(text) ? text : text.Normalize(NormalizationForm.FormC);
}

/// <summary>Several normalizers applied in order.</summary>
public sealed record SequenceNormalizer(IReadOnlyList<TextNormalizer> Normalizers) : TextNormalizer
{
    internal override string Normalize(string text)
    {
        foreach (var n in Normalizers) text = n.Normalize(text);
        return text;
    }
}

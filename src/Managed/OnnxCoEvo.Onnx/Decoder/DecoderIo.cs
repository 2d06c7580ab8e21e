using System.Globalization;

namespace OnnxCoEvo.Onnx.Decoder;

/// <summary>
/// The graph I/O contract of a built decoder, the one ONNX Runtime GenAI uses (onnx-interop.md §4.2):
/// <list type="bullet">
/// <item><c>input_ids</c> int64 (batch_size, sequence_length)</item>
/// <item><c>attention_mask</c> int64 (batch_size, total_sequence_length): 1 for a real token, 0 for padding</item>
/// <item><c>past_key_values.{i}.key</c> / <c>.value</c> float32 (batch_size, num_key_value_heads, past_sequence_length, head_dim)</item>
/// <item>outputs <c>logits</c> float32 (batch_size, sequence_length, vocab_size) and <c>present.{i}.key</c> / <c>.value</c>
/// float32 (batch_size, num_key_value_heads, total_sequence_length, head_dim)</item>
/// </list>
/// plus the LoRA inputs of <see cref="DecoderLoraInputs"/>, which default to rank 0 (no adapter).
/// </summary>
public static class DecoderIo
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string Logits = "logits";

    /// <summary>printf-style patterns as genai_config.json writes them (%d = layer index).</summary>
    public const string PastKeyPattern = "past_key_values.%d.key";
    public const string PastValuePattern = "past_key_values.%d.value";
    public const string PresentKeyPattern = "present.%d.key";
    public const string PresentValuePattern = "present.%d.value";

    /// <summary>Symbolic dimension names.</summary>
    public const string BatchDim = "batch_size";
    public const string SequenceDim = "sequence_length";
    public const string PastSequenceDim = "past_sequence_length";
    public const string TotalSequenceDim = "total_sequence_length";

    public static string PastKey(int layer) => Format(PastKeyPattern, layer);
    public static string PastValue(int layer) => Format(PastValuePattern, layer);
    public static string PresentKey(int layer) => Format(PresentKeyPattern, layer);
    public static string PresentValue(int layer) => Format(PresentValuePattern, layer);

    private static string Format(string pattern, int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        return pattern.Replace("%d", layer.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }
}

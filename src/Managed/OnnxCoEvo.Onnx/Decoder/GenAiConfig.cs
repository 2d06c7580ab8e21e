using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Onnx.Decoder;

/// <summary>
/// genai_config.json of a built decoder, as ONNX Runtime GenAI's builder writes it (onnx-interop.md §4.1): the model
/// block (type, special token ids, context length, decoder file, head geometry, I/O names of <see cref="DecoderIo"/>)
/// and the search block (greedy defaults; max_length = context_length; past_present_share_buffer is true only for
/// GroupQueryAttention, whose present may be the same buffer as its past).
/// </summary>
public sealed record GenAiConfig
{
    public const string FileName = "genai_config.json";

    public required string ModelType { get; init; }
    public int? BosTokenId { get; init; }
    public required IReadOnlyList<int> EosTokenIds { get; init; }
    public int? PadTokenId { get; init; }
    public required int ContextLength { get; init; }
    public required int VocabSize { get; init; }
    public string DecoderFileName { get; init; } = OnnxDecoderExport.ModelFileName;
    public required int HeadSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required bool PastPresentShareBuffer { get; init; }

    /// <summary>The config of a decoder built from <paramref name="model"/>; pad defaults to the first eos id, as GenAI's builder does.</summary>
    public static GenAiConfig For(ModelConfig model, DecoderAttention attention, int? padTokenId)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (attention == DecoderAttention.Auto)
            throw new ArgumentException("pass the resolved attention (OnnxDecoderBuilder.ResolveAttention)", nameof(attention));
        return new GenAiConfig
        {
            ModelType = model.ModelType,
            BosTokenId = model.BosTokenId,
            EosTokenIds = model.EosTokenIds,
            PadTokenId = padTokenId ?? (model.EosTokenIds.Count > 0 ? model.EosTokenIds[0] : null),
            ContextLength = model.MaxPositionEmbeddings,
            VocabSize = model.VocabSize,
            HeadSize = model.HeadDim,
            HiddenSize = model.HiddenSize,
            NumAttentionHeads = model.NumAttentionHeads,
            NumKeyValueHeads = model.NumKeyValueHeads,
            NumHiddenLayers = model.NumHiddenLayers,
            PastPresentShareBuffer = attention == DecoderAttention.GroupQueryAttention,
        };
    }

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("model");
            json.WriteString("type", ModelType);
            if (BosTokenId is { } bos)
                json.WriteNumber("bos_token_id", bos);
            if (EosTokenIds.Count == 1)
            {
                json.WriteNumber("eos_token_id", EosTokenIds[0]);
            }
            else if (EosTokenIds.Count > 1)
            {
                json.WriteStartArray("eos_token_id");
                foreach (int id in EosTokenIds)
                    json.WriteNumberValue(id);
                json.WriteEndArray();
            }
            if (PadTokenId is { } pad)
                json.WriteNumber("pad_token_id", pad);
            json.WriteNumber("context_length", ContextLength);
            json.WriteNumber("vocab_size", VocabSize);

            json.WriteStartObject("decoder");
            json.WriteString("filename", DecoderFileName);
            json.WriteNumber("head_size", HeadSize);
            json.WriteNumber("hidden_size", HiddenSize);
            json.WriteNumber("num_attention_heads", NumAttentionHeads);
            json.WriteNumber("num_key_value_heads", NumKeyValueHeads);
            json.WriteNumber("num_hidden_layers", NumHiddenLayers);
            json.WriteStartObject("session_options");
            json.WriteString("log_id", "onnxruntime-genai");
            json.WriteStartArray("provider_options");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("inputs");
            json.WriteString("input_ids", DecoderIo.InputIds);
            json.WriteString("attention_mask", DecoderIo.AttentionMask);
            json.WriteString("past_key_names", DecoderIo.PastKeyPattern);
            json.WriteString("past_value_names", DecoderIo.PastValuePattern);
            json.WriteEndObject();
            json.WriteStartObject("outputs");
            json.WriteString("logits", DecoderIo.Logits);
            json.WriteString("present_key_names", DecoderIo.PresentKeyPattern);
            json.WriteString("present_value_names", DecoderIo.PresentValuePattern);
            json.WriteEndObject();
            json.WriteEndObject(); // decoder
            json.WriteEndObject(); // model

            json.WriteStartObject("search");
            WriteFloat(json, "diversity_penalty", "0.0");
            json.WriteBoolean("do_sample", false);
            json.WriteBoolean("early_stopping", true);
            WriteFloat(json, "length_penalty", "1.0");
            json.WriteNumber("max_length", ContextLength);
            json.WriteNumber("min_length", 0);
            json.WriteNumber("no_repeat_ngram_size", 0);
            json.WriteNumber("num_beams", 1);
            json.WriteNumber("num_return_sequences", 1);
            json.WriteBoolean("past_present_share_buffer", PastPresentShareBuffer);
            WriteFloat(json, "repetition_penalty", "1.0");
            WriteFloat(json, "temperature", "1.0");
            json.WriteNumber("top_k", 50);
            WriteFloat(json, "top_p", "1.0");
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Float fields keep a decimal point ("1.0"), as Python's json module writes them in GenAI's builder.</summary>
    private static void WriteFloat(Utf8JsonWriter json, string key, string literal)
    {
        json.WritePropertyName(key);
        json.WriteRawValue(literal);
    }
}

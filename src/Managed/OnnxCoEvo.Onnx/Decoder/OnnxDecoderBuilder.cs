using System.Runtime.InteropServices;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Cpu;
using OnnxCoEvo.Training.Lora;

namespace OnnxCoEvo.Onnx.Decoder;

/// <summary>How the decoder's attention is expressed.</summary>
public enum DecoderAttention
{
    /// <summary>GroupQueryAttention when head_dim is a multiple of 16 (ORT's CPU rotary needs it), standard ops otherwise.</summary>
    Auto,

    /// <summary>
    /// com.microsoft.GroupQueryAttention with fused rotary; the KV buffer may be shared between past and present. Padding
    /// goes on the right: only each row's count of ones in attention_mask matters (its keys are the first count rows).
    /// ORT 1.30 on CPU refuses several new tokens on top of a past unless the batch is 1.
    /// </summary>
    GroupQueryAttention,

    /// <summary>
    /// Opset-21 ops only (RoPE, Concat of the past, causal + padding mask, Softmax); the past grows each step and
    /// attention_mask column j masks key row j exactly (positions are the running count of ones).
    /// </summary>
    StandardOps,
}

public sealed record OnnxDecoderOptions
{
    public DecoderAttention Attention { get; init; } = DecoderAttention.Auto;

    /// <summary>Adds the LoRA inputs of <see cref="DecoderLoraInputs"/> (rank-0 defaults).</summary>
    public bool LoraInputs { get; init; } = true;
}

/// <summary>
/// Builds a Llama-family decoder (llama, mistral, qwen2) as an ONNX graph in ONNX Runtime GenAI's I/O contract
/// (<see cref="DecoderIo"/>), fp32, weights stored [in, out] for MatMul:
/// <code>
/// x = Gather(embed_tokens, input_ids)
/// per layer: h = RMSNorm(x) (Simplified/SkipSimplifiedLayerNormalization, which also carries the residual sum)
///            q, k, v = h W (+ bias) (+ (h lora_A) lora_B);  attention with RoPE over past + new keys
///            x += o_proj(attn);  h = RMSNorm(x);  x += down(silu(gate(h)) * up(h))
/// logits = RMSNorm(x) lm_head  (lm_head = embed_tokens^T when tied)
/// </code>
/// RoPE uses the same cos/sin numbers as the CPU reference (<see cref="RopeTable"/>), so logits agree to fp32 noise.
/// </summary>
public static class OnnxDecoderBuilder
{
    /// <summary>The attention form <paramref name="requested"/> resolves to for this config.</summary>
    /// <exception cref="ArgumentException">GroupQueryAttention was asked for but head_dim is not a multiple of 16.</exception>
    public static DecoderAttention ResolveAttention(ModelConfig config, DecoderAttention requested)
    {
        ArgumentNullException.ThrowIfNull(config);
        bool gqaFits = config.HeadDim % 16 == 0;
        return requested switch
        {
            DecoderAttention.Auto => gqaFits ? DecoderAttention.GroupQueryAttention : DecoderAttention.StandardOps,
            DecoderAttention.GroupQueryAttention when !gqaFits => throw new ArgumentException(
                $"head_dim {config.HeadDim} is not a multiple of 16, which ONNX Runtime's CPU GroupQueryAttention needs for rotary; use standard ops"),
            _ => requested,
        };
    }

    /// <summary>Builds the graph; weights are read (and checked against the config's layout) from <paramref name="weights"/>.</summary>
    /// <exception cref="OnnxCoEvo.Core.DataFormatException">A weight is missing or has the wrong shape (names file and tensor).</exception>
    public static OnnxModel Build(ModelConfig config, DecoderWeights weights, OnnxDecoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        config.Validate();
        if (config.HeadDim % 2 != 0)
            throw new ArgumentException($"head_dim {config.HeadDim} is odd; RoPE rotates pairs of dimensions");
        options ??= new OnnxDecoderOptions();
        DecoderAttention attention = ResolveAttention(config, options.Attention);
        weights.CheckLayout(config);
        return new DecoderGraph(config, weights, attention, options.LoraInputs).Build();
    }

    private sealed class DecoderGraph(ModelConfig config, DecoderWeights weights, DecoderAttention attention, bool lora)
    {
        private readonly OnnxGraphBuilder _g = new("decoder");
        private readonly Dictionary<string, string> _vectors = new(StringComparer.Ordinal);
        private readonly HashSet<string> _scalars = new(StringComparer.Ordinal);
        private readonly int _half = config.HeadDim / 2;
        private string _cos = "", _sin = "";

        // GroupQueryAttention's length inputs, shared by every layer.
        private string _seqLensK = "", _totalLength = "";

        // Standard-ops attention: values every layer shares.
        private string _ropeCos = "", _ropeSin = "", _visible = "";

        private float Epsilon => (float)config.RmsNormEps;

        public OnnxModel Build()
        {
            int layers = config.NumHiddenLayers;
            OnnxDim batch = OnnxDim.Symbolic(DecoderIo.BatchDim), sequence = OnnxDim.Symbolic(DecoderIo.SequenceDim);
            OnnxDim past = OnnxDim.Symbolic(DecoderIo.PastSequenceDim), total = OnnxDim.Symbolic(DecoderIo.TotalSequenceDim);
            string ids = _g.Input(DecoderIo.InputIds, TensorElementType.Int64, batch, sequence);
            string mask = _g.Input(DecoderIo.AttentionMask, TensorElementType.Int64, batch, total);
            for (int i = 0; i < layers; i++)
            {
                _g.Input(DecoderIo.PastKey(i), TensorElementType.Float, batch, config.NumKeyValueHeads, past, config.HeadDim);
                _g.Input(DecoderIo.PastValue(i), TensorElementType.Float, batch, config.NumKeyValueHeads, past, config.HeadDim);
            }

            // RoPE tables with exactly the reference's numbers (fp32 angle p * inv_freq, then cos/sin).
            var rope = new RopeTable(config.HeadDim, config.RopeTheta, config.RopeScaling, config.MaxPositionEmbeddings);
            _cos = _g.Initializer(OnnxTensor.FromFloats("cos_cache", rope.Cos, config.MaxPositionEmbeddings, _half));
            _sin = _g.Initializer(OnnxTensor.FromFloats("sin_cache", rope.Sin, config.MaxPositionEmbeddings, _half));

            if (attention == DecoderAttention.GroupQueryAttention)
                (_seqLensK, _totalLength) = GqaLengths(mask);
            else
                StandardAttentionShared(ids, mask);

            string embedding = Weight("model.embed_tokens.weight", [config.VocabSize, config.HiddenSize], transpose: false);
            string x = _g.Node("Gather", [embedding, ids], "/model/embed_tokens/output", name: "/model/embed_tokens/Gather");

            // The residual stream travels as SkipSimplifiedLayerNormalization's 4th output (input + skip).
            string residual = x;
            string normalized = _g.Node("SimplifiedLayerNormalization", [x, Weight("model.layers.0.input_layernorm.weight", [config.HiddenSize])],
                "/model/layers.0/input_layernorm/output", name: "/model/layers.0/input_layernorm/LayerNorm",
                attributes: [OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", Epsilon), OnnxAttribute.Int("stash_type", 1)]);
            for (int i = 0; i < layers; i++)
            {
                string prefix = $"/model/layers.{i}";
                string attentionOut = attention == DecoderAttention.GroupQueryAttention
                    ? GqaAttention(i, normalized)
                    : StandardAttention(i, normalized);
                (normalized, residual) = SkipNorm(attentionOut, residual, $"model.layers.{i}.post_attention_layernorm.weight", prefix + "/post_attention_layernorm");
                string mlpOut = Mlp(i, normalized);
                (normalized, residual) = i + 1 < layers
                    ? SkipNorm(mlpOut, residual, $"model.layers.{i + 1}.input_layernorm.weight", $"/model/layers.{i + 1}/input_layernorm")
                    : SkipNorm(mlpOut, residual, "model.norm.weight", "/model/norm");
            }

            string head = config.TieWordEmbeddings
                ? Weight("model.embed_tokens.weight", [config.VocabSize, config.HiddenSize], transpose: true, storedName: "lm_head.MatMul.weight")
                : Weight("lm_head.weight", [config.VocabSize, config.HiddenSize], transpose: true);
            string logits = _g.Node("MatMul", [normalized, head], DecoderIo.Logits, name: "/lm_head/MatMul");

            _g.Output(logits, TensorElementType.Float, batch, sequence, config.VocabSize);
            for (int i = 0; i < layers; i++)
            {
                _g.Output(DecoderIo.PresentKey(i), TensorElementType.Float, batch, config.NumKeyValueHeads, total, config.HeadDim);
                _g.Output(DecoderIo.PresentValue(i), TensorElementType.Float, batch, config.NumKeyValueHeads, total, config.HeadDim);
            }
            var metadata = new Dictionary<string, string>
            {
                ["model_type"] = config.ModelType,
                ["attention"] = attention == DecoderAttention.GroupQueryAttention ? "GroupQueryAttention" : "standard",
            };
            return _g.Build(metadata: metadata);
        }

        // ---- shared pieces ----------------------------------------------------------------------------------------

        /// <summary>A weight as an initializer: [out, in] from the checkpoint, stored transposed ([in, out]) when asked.</summary>
        private string Weight(string name, long[] shape, bool transpose = false, string? storedName = null)
        {
            long count = shape.Aggregate(1L, (a, d) => checked(a * d));
            var bytes = new byte[checked(count * sizeof(float))];
            Span<float> values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
            long[] dims = shape;
            if (transpose)
            {
                var source = new float[count];
                weights.CopyTo(name, shape, source);
                DecoderWeights.Transpose(source, values, checked((int)shape[0]), checked((int)shape[1]));
                dims = [shape[1], shape[0]];
            }
            else
            {
                weights.CopyTo(name, shape, values);
            }
            return _g.Initializer(new OnnxTensor(storedName ?? name, TensorElementType.Float, dims, bytes));
        }

        private string Int64Constant(params long[] values)
        {
            string key = string.Join(",", values);
            if (!_vectors.TryGetValue(key, out string? name))
            {
                name = _g.Initializer(OnnxTensor.Int64Vector(_g.NewName("const_i64"), values));
                _vectors[key] = name;
            }
            return name;
        }

        /// <summary>A rank-0 constant, made once per name.</summary>
        private string ScalarConstant(string name, Func<string, OnnxTensor> make)
        {
            if (_scalars.Add(name))
                _g.Initializer(make(name));
            return name;
        }

        private (string Normalized, string Residual) SkipNorm(string input, string residual, string weightName, string prefix)
        {
            string normalized = prefix + "/output";
            string sum = prefix + "/output_3";
            _g.Node("SkipSimplifiedLayerNormalization", [input, residual, Weight(weightName, [config.HiddenSize])], [normalized, "", "", sum],
                OnnxModel.MicrosoftDomain, prefix + "/SkipLayerNorm", OnnxAttribute.Float("epsilon", Epsilon));
            return (normalized, sum);
        }

        /// <summary>x W (+ b) (+ (x lora_A) lora_B) for one projection of one layer.</summary>
        private string Projection(int layer, string module, string input, int inFeatures, int outFeatures, bool bias)
        {
            string path = LoraConfig.ModulePath(layer, module);
            string prefix = $"/model/layers.{layer}/{LoraConfig.BlockOf(module)}/{module}";
            string y = _g.Node("MatMul", [input, Weight(path + ".weight", [outFeatures, inFeatures], transpose: true)], prefix + "/MatMul/output", name: prefix + "/MatMul");
            if (bias)
                y = _g.Node("Add", [y, Weight(path + ".bias", [outFeatures])], prefix + "/Add/output", name: prefix + "/Add");
            if (!lora)
                return y;
            string a = _g.InputWithDefault(new OnnxTensor(LoraConfig.LoraAName(path), TensorElementType.Float, [inFeatures, 0], ReadOnlyMemory<byte>.Empty),
                inFeatures, OnnxDim.Symbolic(DecoderLoraInputs.RankDim));
            string b = _g.InputWithDefault(new OnnxTensor(LoraConfig.LoraBName(path), TensorElementType.Float, [0, outFeatures], ReadOnlyMemory<byte>.Empty),
                OnnxDim.Symbolic(DecoderLoraInputs.RankDim), outFeatures);
            string down = _g.Node("MatMul", [input, a], prefix + "/lora_A/MatMul/output", name: prefix + "/lora_A/MatMul");
            string up = _g.Node("MatMul", [down, b], prefix + "/lora_B/MatMul/output", name: prefix + "/lora_B/MatMul");
            return _g.Node("Add", [y, up], prefix + "/lora/Add/output", name: prefix + "/lora/Add");
        }

        private (string Q, string K, string V) QkvProjections(int layer, string input)
        {
            int hidden = config.HiddenSize;
            return (Projection(layer, "q_proj", input, hidden, config.QueryDim, config.HasQkvBias),
                    Projection(layer, "k_proj", input, hidden, config.KeyValueDim, config.HasQkvBias),
                    Projection(layer, "v_proj", input, hidden, config.KeyValueDim, config.HasQkvBias));
        }

        private string OutputProjection(int layer, string attentionOut) =>
            Projection(layer, "o_proj", attentionOut, config.QueryDim, config.HiddenSize, config.HasOutputBias);

        private string Mlp(int layer, string input)
        {
            string prefix = $"/model/layers.{layer}/mlp";
            int hidden = config.HiddenSize, ffn = config.IntermediateSize;
            string gate = Projection(layer, "gate_proj", input, hidden, ffn, bias: false);
            string up = Projection(layer, "up_proj", input, hidden, ffn, bias: false);
            string sigmoid = _g.Node("Sigmoid", [gate], prefix + "/act_fn/Sigmoid/output", name: prefix + "/act_fn/Sigmoid");
            string silu = _g.Node("Mul", [gate, sigmoid], prefix + "/act_fn/Mul/output", name: prefix + "/act_fn/Mul");
            string product = _g.Node("Mul", [silu, up], prefix + "/Mul/output", name: prefix + "/Mul");
            return Projection(layer, "down_proj", product, ffn, hidden, bias: false);
        }

        // ---- GroupQueryAttention ----------------------------------------------------------------------------------

        /// <summary>seqlens_k = int32(sum(mask, 1) - 1) [B]; total_sequence_length = int32(mask.shape[1]) scalar (GenAI's builder).</summary>
        private (string SeqLensK, string Total) GqaLengths(string mask)
        {
            const string P = "/model/attn_mask_reformat";
            string sum = _g.Node("ReduceSum", [mask, Int64Constant(1)], P + "/ReduceSum/output", name: P + "/ReduceSum", attributes: OnnxAttribute.Int("keepdims", 0));
            string one = ScalarConstant("one_i64", n => OnnxTensor.ScalarInt64(n, 1));
            string lastIndex = _g.Node("Sub", [sum, one], P + "/Sub/output", name: P + "/Sub");
            string seqLensK = _g.Node("Cast", [lastIndex], P + "/seqlens_k", name: P + "/Cast_seqlens_k", attributes: OnnxAttribute.Int("to", (long)TensorElementType.Int32));
            string shape = _g.Node("Shape", [mask], P + "/Shape/output", name: P + "/Shape");
            string width = _g.Node("Gather", [shape, one], P + "/Gather/output", name: P + "/Gather", attributes: OnnxAttribute.Int("axis", 0));
            string total = _g.Node("Cast", [width], P + "/total_seq_len", name: P + "/Cast_total_seq_len", attributes: OnnxAttribute.Int("to", (long)TensorElementType.Int32));
            return (seqLensK, total);
        }

        private string GqaAttention(int layer, string input)
        {
            string prefix = $"/model/layers.{layer}/attn";
            (string q, string k, string v) = QkvProjections(layer, input);
            var attributes = new List<Onnx.Proto.AttributeProto>
            {
                OnnxAttribute.Int("num_heads", config.NumAttentionHeads),
                OnnxAttribute.Int("kv_num_heads", config.NumKeyValueHeads),
                OnnxAttribute.Int("do_rotary", 1),
                OnnxAttribute.Int("rotary_interleaved", 0),
            };
            // Same count as Mistral's sliding_window: the current token and the window - 1 before it (checked by the parity tests).
            if (config.SlidingWindow is { } window)
                attributes.Add(OnnxAttribute.Int("local_window_size", window));
            string output = prefix + "/GroupQueryAttention/output";
            _g.Node("GroupQueryAttention",
                [q, k, v, DecoderIo.PastKey(layer), DecoderIo.PastValue(layer), _seqLensK, _totalLength, _cos, _sin],
                [output, DecoderIo.PresentKey(layer), DecoderIo.PresentValue(layer)],
                OnnxModel.MicrosoftDomain, prefix + "/GroupQueryAttention", [.. attributes]);
            return OutputProjection(layer, output);
        }

        // ---- standard ops ------------------------------------------------------------------------------------------

        /// <summary>
        /// Positions and the visibility mask every layer uses. Positions come from the mask: pos[b, j] = max(cumsum(mask)[b, j] - 1, 0)
        /// over the key columns, the last S of them for the queries; key j is visible to query s when mask[b, j] = 1
        /// and 0 &lt;= pos_q - pos_k (&lt; window).
        /// </summary>
        private void StandardAttentionShared(string ids, string mask)
        {
            const string P = "/model/attn_mask";
            string one = Int64Constant(1);
            string cumsum = _g.Node("CumSum", [mask, ScalarConstant("axis_i64", n => OnnxTensor.ScalarInt64(n, 1))], P + "/CumSum/output", name: P + "/CumSum");
            string positions = _g.Node("Sub", [cumsum, ScalarConstant("one_i64", n => OnnxTensor.ScalarInt64(n, 1))], P + "/Sub/output", name: P + "/Sub");
            string zero = ScalarConstant("zero_i64", n => OnnxTensor.ScalarInt64(n, 0));
            string keyPositions = _g.Node("Max", [positions, zero], P + "/key_positions", name: P + "/Max");
            string totalLength = _g.Node("Shape", [mask], P + "/total_length", name: P + "/Shape_total", attributes: [OnnxAttribute.Int("start", 1), OnnxAttribute.Int("end", 2)]);
            string newLength = _g.Node("Shape", [ids], P + "/new_length", name: P + "/Shape_new", attributes: [OnnxAttribute.Int("start", 1), OnnxAttribute.Int("end", 2)]);
            string pastLength = _g.Node("Sub", [totalLength, newLength], P + "/past_length", name: P + "/Sub_past");
            string queryPositions = _g.Node("Slice", [keyPositions, pastLength, Int64Constant(long.MaxValue), one], P + "/query_positions", name: P + "/Slice_queries");

            // cos/sin rows of the query positions, [B, 1, S, half] to broadcast over heads.
            string cos = _g.Node("Gather", [_cos, queryPositions], P + "/cos", name: P + "/Gather_cos", attributes: OnnxAttribute.Int("axis", 0));
            string sin = _g.Node("Gather", [_sin, queryPositions], P + "/sin", name: P + "/Gather_sin", attributes: OnnxAttribute.Int("axis", 0));
            _ropeCos = _g.Node("Unsqueeze", [cos, one], P + "/cos_heads", name: P + "/Unsqueeze_cos");
            _ropeSin = _g.Node("Unsqueeze", [sin, one], P + "/sin_heads", name: P + "/Unsqueeze_sin");

            string queryColumn = _g.Node("Unsqueeze", [queryPositions, Int64Constant(2)], P + "/query_column", name: P + "/Unsqueeze_q");   // [B, S, 1]
            string keyRow = _g.Node("Unsqueeze", [keyPositions, one], P + "/key_row", name: P + "/Unsqueeze_k");                         // [B, 1, T]
            string distance = _g.Node("Sub", [queryColumn, keyRow], P + "/distance", name: P + "/Sub_distance");                        // [B, S, T]
            string causal = _g.Node("GreaterOrEqual", [distance, zero], P + "/causal", name: P + "/GreaterOrEqual");
            string present = _g.Node("Cast", [mask], P + "/present_bool", name: P + "/Cast_mask", attributes: OnnxAttribute.Int("to", (long)TensorElementType.Bool));
            string presentRow = _g.Node("Unsqueeze", [present, one], P + "/present_row", name: P + "/Unsqueeze_mask");
            string visible = _g.Node("And", [causal, presentRow], P + "/visible", name: P + "/And");
            if (config.SlidingWindow is { } window)
            {
                string windowSize = ScalarConstant("window_i64", n => OnnxTensor.ScalarInt64(n, window));
                string inWindow = _g.Node("Less", [distance, windowSize], P + "/in_window", name: P + "/Less_window");
                visible = _g.Node("And", [visible, inWindow], P + "/visible_window", name: P + "/And_window");
            }
            // Queries are grouped per kv head as [B, kvN, rep * S, H] (see StandardAttention): the mask repeats rep times along S.
            string visible4 = _g.Node("Unsqueeze", [visible, one], P + "/visible4", name: P + "/Unsqueeze_visible");
            int repeats = config.NumAttentionHeads / config.NumKeyValueHeads;
            _visible = _g.Node("Tile", [visible4, Int64Constant(1, 1, repeats, 1)], P + "/visible_grouped", name: P + "/Tile");
        }

        private string StandardAttention(int layer, string input)
        {
            string prefix = $"/model/layers.{layer}/attn";
            int heads = config.NumAttentionHeads, kvHeads = config.NumKeyValueHeads, headDim = config.HeadDim;
            (string q, string k, string v) = QkvProjections(layer, input);

            string qHeads = SplitHeads(q, heads, prefix + "/q");
            string kHeads = SplitHeads(k, kvHeads, prefix + "/k");
            string vHeads = SplitHeads(v, kvHeads, prefix + "/v");
            string qRotated = Rotate(qHeads, prefix + "/q_rotary");
            string kRotated = Rotate(kHeads, prefix + "/k_rotary");
            string presentKey = _g.Node("Concat", [DecoderIo.PastKey(layer), kRotated], DecoderIo.PresentKey(layer), name: prefix + "/k_concat", attributes: OnnxAttribute.Int("axis", 2));
            string presentValue = _g.Node("Concat", [DecoderIo.PastValue(layer), vHeads], DecoderIo.PresentValue(layer), name: prefix + "/v_concat", attributes: OnnxAttribute.Int("axis", 2));

            // Query head h reads kv head h / rep: [B, N, S, H] -> [B, kvN, rep * S, H] lines the groups up without copying keys.
            string grouped = _g.Node("Reshape", [qRotated, Int64Constant(0, kvHeads, -1, headDim)], prefix + "/q_grouped", name: prefix + "/Reshape_q_grouped");
            string keysT = _g.Node("Transpose", [presentKey], prefix + "/k_transposed", name: prefix + "/Transpose_k", attributes: OnnxAttribute.Ints("perm", 0, 1, 3, 2));
            string scores = _g.Node("MatMul", [grouped, keysT], prefix + "/scores", name: prefix + "/MatMul_qk");
            string scale = ScalarConstant("scale", n => OnnxTensor.ScalarFloat(n, 1f / MathF.Sqrt(headDim)));
            string scaled = _g.Node("Mul", [scores, scale], prefix + "/scores_scaled", name: prefix + "/Mul_scale");
            string hidden = ScalarConstant("masked_score", n => OnnxTensor.ScalarFloat(n, float.MinValue));
            string masked = _g.Node("Where", [_visible, scaled, hidden], prefix + "/scores_masked", name: prefix + "/Where_mask");
            string probabilities = _g.Node("Softmax", [masked], prefix + "/probs", name: prefix + "/Softmax", attributes: OnnxAttribute.Int("axis", -1));
            string context = _g.Node("MatMul", [probabilities, presentValue], prefix + "/context", name: prefix + "/MatMul_v");
            string perHead = _g.Node("Reshape", [context, Int64Constant(0, heads, -1, headDim)], prefix + "/context_heads", name: prefix + "/Reshape_context");
            string tokens = _g.Node("Transpose", [perHead], prefix + "/context_tokens", name: prefix + "/Transpose_context", attributes: OnnxAttribute.Ints("perm", 0, 2, 1, 3));
            string merged = _g.Node("Reshape", [tokens, Int64Constant(0, 0, heads * headDim)], prefix + "/output", name: prefix + "/Reshape_output");
            return OutputProjection(layer, merged);
        }

        /// <summary>[B, S, n * H] -> [B, n, S, H].</summary>
        private string SplitHeads(string x, int heads, string prefix)
        {
            string split = _g.Node("Reshape", [x, Int64Constant(0, 0, heads, config.HeadDim)], prefix + "_split", name: prefix + "/Reshape");
            return _g.Node("Transpose", [split], prefix + "_heads", name: prefix + "/Transpose", attributes: OnnxAttribute.Ints("perm", 0, 2, 1, 3));
        }

        /// <summary>Rotate-half RoPE on [B, n, S, H]: y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin.</summary>
        private string Rotate(string x, string prefix)
        {
            string axis = Int64Constant(3);
            string x1 = _g.Node("Slice", [x, Int64Constant(0), Int64Constant(_half), axis], prefix + "/x1", name: prefix + "/Slice_1");
            string x2 = _g.Node("Slice", [x, Int64Constant(_half), Int64Constant(config.HeadDim), axis], prefix + "/x2", name: prefix + "/Slice_2");
            string x1Cos = _g.Node("Mul", [x1, _ropeCos], prefix + "/x1_cos", name: prefix + "/Mul_x1_cos");
            string x2Sin = _g.Node("Mul", [x2, _ropeSin], prefix + "/x2_sin", name: prefix + "/Mul_x2_sin");
            string x2Cos = _g.Node("Mul", [x2, _ropeCos], prefix + "/x2_cos", name: prefix + "/Mul_x2_cos");
            string x1Sin = _g.Node("Mul", [x1, _ropeSin], prefix + "/x1_sin", name: prefix + "/Mul_x1_sin");
            string y1 = _g.Node("Sub", [x1Cos, x2Sin], prefix + "/y1", name: prefix + "/Sub");
            string y2 = _g.Node("Add", [x2Cos, x1Sin], prefix + "/y2", name: prefix + "/Add");
            return _g.Node("Concat", [y1, y2], prefix + "/output", name: prefix + "/Concat", attributes: OnnxAttribute.Int("axis", 3));
        }
    }
}

using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;

namespace OnnxCoEvo.Tests.Onnx.Decoder;

public sealed class DecoderLoraInputsTests
{
    private static readonly ModelConfig OneLayer = DecoderTestSupport.HeadDim8 with { NumHiddenLayers = 1 };

    [Fact]
    public void Names_cover_seven_projections_per_layer_a_then_b_with_their_widths()
    {
        IReadOnlyList<DecoderLoraInput> inputs = DecoderLoraInputs.Inputs(OneLayer with { NumHiddenLayers = 2 });
        Assert.Equal(28, inputs.Count);
        Assert.Equal(
        [
            "model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.0.self_attn.q_proj.lora_B.weight",
            "model.layers.0.self_attn.k_proj.lora_A.weight", "model.layers.0.self_attn.k_proj.lora_B.weight",
            "model.layers.0.self_attn.v_proj.lora_A.weight", "model.layers.0.self_attn.v_proj.lora_B.weight",
            "model.layers.0.self_attn.o_proj.lora_A.weight", "model.layers.0.self_attn.o_proj.lora_B.weight",
            "model.layers.0.mlp.gate_proj.lora_A.weight", "model.layers.0.mlp.gate_proj.lora_B.weight",
            "model.layers.0.mlp.up_proj.lora_A.weight", "model.layers.0.mlp.up_proj.lora_B.weight",
            "model.layers.0.mlp.down_proj.lora_A.weight", "model.layers.0.mlp.down_proj.lora_B.weight",
        ], inputs.Take(14).Select(i => i.Name));
        Assert.Equal("model.layers.1.mlp.down_proj.lora_B.weight", inputs[^1].Name);
        // k_proj: hidden 32 -> kv 2 x 8; down_proj: ffn 48 -> hidden 32.
        Assert.Equal([32L, 5L], inputs[2].Dims(5));
        Assert.Equal([5L, 16L], inputs[3].Dims(5));
        Assert.Equal([48L, 5L], inputs[12].Dims(5));
        Assert.Equal([5L, 32L], inputs[13].Dims(5));
    }

    [Fact]
    public void Peft_factors_become_a_transposed_and_scaling_times_b_transposed_rank_zero_elsewhere()
    {
        var lora = new LoraConfig { Rank = 2, Alpha = 3, TargetModules = ["k_proj"] }; // scaling 1.5
        // A [2, 32]: A[r, i] = r * 100 + i; B [16, 2]: B[o, r] = o * 10 + r.
        float[] a = Enumerable.Range(0, 2 * 32).Select(n => (float)(n / 32 * 100 + n % 32)).ToArray();
        float[] b = Enumerable.Range(0, 16 * 2).Select(n => (float)(n / 2 * 10 + n % 2)).ToArray();
        IReadOnlyList<NamedTensor> feeds = DecoderLoraInputs.FromFactors(
        [
            new NamedTensor("model.layers.0.self_attn.k_proj.lora_A.weight", [2, 32], a),
            new NamedTensor("model.layers.0.self_attn.k_proj.lora_B.weight", [16, 2], b),
        ], lora, OneLayer);

        Assert.Equal(14, feeds.Count);
        NamedTensor inA = feeds[2], inB = feeds[3];
        Assert.Equal([32, 2], inA.Shape);
        Assert.Equal(107f, inA.Values[7 * 2 + 1]); // [i = 7, r = 1] = A[1, 7]
        Assert.Equal([2, 16], inB.Shape);
        Assert.Equal(1.5f * 51, inB.Values[1 * 16 + 5]); // [r = 1, o = 5] = 1.5 x B[5, 1] = 1.5 x 51
        Assert.Equal([32, 0], feeds[0].Shape);
        Assert.Equal([0, 32], feeds[1].Shape); // q_proj out = 4 heads x 8
        Assert.Empty(feeds[0].Values);
    }

    [Fact]
    public void Missing_misshapen_and_repeated_factors_are_named()
    {
        var lora = new LoraConfig { Rank = 2, Alpha = 2, TargetModules = ["q_proj"] };
        var a = new NamedTensor("model.layers.0.self_attn.q_proj.lora_A.weight", [2, 32], new float[64]);
        var b = new NamedTensor("model.layers.0.self_attn.q_proj.lora_B.weight", [32, 2], new float[64]);
        var wrongB = new NamedTensor(b.Name, [2, 32], new float[64]);

        Assert.Contains("q_proj.lora_B.weight' [32, 2] is missing", Assert.Throws<ArgumentException>(() => DecoderLoraInputs.FromFactors([a], lora, OneLayer)).Message);
        Assert.Contains("has shape [2, 32]; rank 2 on this model needs [32, 2]", Assert.Throws<ArgumentException>(() => DecoderLoraInputs.FromFactors([a, wrongB], lora, OneLayer)).Message);
        Assert.Contains("given twice", Assert.Throws<ArgumentException>(() => DecoderLoraInputs.FromFactors([a, b, a], lora, OneLayer)).Message);
    }
}

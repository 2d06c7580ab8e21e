using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Model;
using Xunit.Abstractions;
using static OnnxCoEvo.Tests.Onnx.Decoder.DecoderTestSupport;

namespace OnnxCoEvo.Tests.Onnx.Decoder;

/// <summary>The folder a model directory becomes: files, genai_config.json, the graph's I/O, parity from disk, and bad folders.</summary>
public sealed class DecoderExportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string TinyModel()
    {
        string model = _dir.File("tiny");
        ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "tiny", OutputDirectory = model, Seed = 11 });
        return model;
    }

    [Fact]
    public void Tiny_preset_folder_has_genai_files_the_io_contract_and_reference_logits()
    {
        string model = TinyModel();
        OnnxDecoderExportResult result = OnnxDecoderExport.Export(model);
        output.WriteLine($"tiny: {result.Elapsed.TotalMilliseconds:F0} ms, model.onnx {result.ModelBytes} B, data {result.DataBytes} B");

        string folder = Path.Combine(model, "onnx");
        Assert.Equal(folder, result.OutputDirectory);
        Assert.Equal(DecoderAttention.GroupQueryAttention, result.Attention);
        foreach (string file in new[] { "model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(folder, file)), file);
        Assert.Equal(["tokenizer.json", "tokenizer_config.json"], result.CopiedFiles);
        Assert.Equal(File.ReadAllBytes(Path.Combine(model, "tokenizer.json")), File.ReadAllBytes(Path.Combine(folder, "tokenizer.json")));

        ModelConfig config = ModelConfig.Load(model);
        using (JsonDocument genAi = JsonDocument.Parse(File.ReadAllBytes(result.GenAiConfigPath)))
        {
            JsonElement m = genAi.RootElement.GetProperty("model");
            Assert.Equal("llama", m.GetProperty("type").GetString());
            Assert.Equal(config.BosTokenId, m.GetProperty("bos_token_id").GetInt32());
            Assert.Equal(config.EosTokenIds[0], m.GetProperty("eos_token_id").GetInt32());
            Assert.Equal(config.EosTokenIds[0], m.GetProperty("pad_token_id").GetInt32());
            Assert.Equal(config.MaxPositionEmbeddings, m.GetProperty("context_length").GetInt32());
            Assert.Equal(config.VocabSize, m.GetProperty("vocab_size").GetInt32());
            JsonElement d = m.GetProperty("decoder");
            Assert.Equal("model.onnx", d.GetProperty("filename").GetString());
            Assert.Equal(config.HeadDim, d.GetProperty("head_size").GetInt32());
            Assert.Equal(config.HiddenSize, d.GetProperty("hidden_size").GetInt32());
            Assert.Equal(config.NumAttentionHeads, d.GetProperty("num_attention_heads").GetInt32());
            Assert.Equal(config.NumKeyValueHeads, d.GetProperty("num_key_value_heads").GetInt32());
            Assert.Equal(config.NumHiddenLayers, d.GetProperty("num_hidden_layers").GetInt32());
            Assert.Equal("past_key_values.%d.key", d.GetProperty("inputs").GetProperty("past_key_names").GetString());
            Assert.Equal("present.%d.value", d.GetProperty("outputs").GetProperty("present_value_names").GetString());
            JsonElement search = genAi.RootElement.GetProperty("search");
            Assert.True(search.GetProperty("past_present_share_buffer").GetBoolean());
            Assert.Equal(config.MaxPositionEmbeddings, search.GetProperty("max_length").GetInt32());
        }

        // The graph's inputs: the GenAI ones with their symbolic dims, then every LoRA input with a rank-0 default.
        OnnxModel onnx = OnnxModel.Load(result.ModelPath);
        var inputs = onnx.Graph.Input.Select(i => i.Name).ToList();
        Assert.Equal(["input_ids", "attention_mask", "past_key_values.0.key", "past_key_values.0.value"], inputs.Take(4));
        Assert.Equal(DecoderLoraInputs.Names(config), inputs.Skip(2 + 2 * config.NumHiddenLayers));
        Assert.Equal(2 * 7 * config.NumHiddenLayers, DecoderLoraInputs.Names(config).Count);
        Assert.Equal([128L, 0L], onnx.ReadInitializer("model.layers.3.mlp.gate_proj.lora_A.weight").Dims);
        Assert.Equal([0L, 128L], onnx.ReadInitializer("model.layers.3.mlp.down_proj.lora_B.weight").Dims);
        Assert.Equal(["logits", "present.0.key", "present.0.value"], onnx.Graph.Output.Select(o => o.Name).Take(3));
        Assert.Equal(config.NumHiddenLayers, onnx.Graph.Node.Count(n => n.OpType == "GroupQueryAttention"));

        // Loaded from the file (weights from model.onnx.data) it gives the reference's logits.
        var reference = new LlamaCpuModel(config, LlamaCpuModel.LoadBaseParameters(model, config, trainable: false), null);
        using var runner = new DecoderRunner(OrtInferenceSession.Open(result.ModelPath, OneThread), config);
        int[][] sequences = RandomSequences(config.VocabSize, 12, 6, 9);
        (long[] ids, long[] mask, _) = DecoderRunner.Pad(sequences);
        DecoderStep step = runner.Run(ids, sequences.Length, mask);
        float[][] expected = ReferenceLogits(reference, sequences);
        double error = RelativeError(sequences.SelectMany((s, b) => Enumerable.Range(0, s.Length)
            .Select(t => (step.Row(b, t), expected[b].AsSpan(t * config.VocabSize, config.VocabSize).ToArray()))));
        output.WriteLine($"tiny preset from disk: error {error:E2}");
        Assert.True(error < 1e-4, $"error {error}");
    }

    [Fact]
    public void Standard_ops_folder_turns_the_shared_buffer_off_and_a_rebuild_replaces_the_files()
    {
        string model = TinyModel();
        string folder = _dir.File("out");
        OnnxDecoderExport.Export(model, folder);
        OnnxDecoderExportResult result = OnnxDecoderExport.Export(model, folder, new OnnxDecoderOptions { Attention = DecoderAttention.StandardOps, LoraInputs = false });
        Assert.Equal(DecoderAttention.StandardOps, result.Attention);
        using JsonDocument genAi = JsonDocument.Parse(File.ReadAllBytes(result.GenAiConfigPath));
        Assert.False(genAi.RootElement.GetProperty("search").GetProperty("past_present_share_buffer").GetBoolean());
        OnnxModel onnx = OnnxModel.Load(result.ModelPath);
        Assert.DoesNotContain(onnx.Graph.Node, n => n.OpType == "GroupQueryAttention");
        Assert.DoesNotContain(onnx.Graph.Input, i => i.Name.Contains("lora", StringComparison.Ordinal));
        Assert.Equal("standard", onnx.Proto.MetadataProps.Single(p => p.Key == "attention").Value);
    }

    [Fact]
    public void Bf16_weights_are_widened_to_the_same_fp32_values_the_reference_reads()
    {
        string model = _dir.File("bf16");
        ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "tiny", OutputDirectory = model, Seed = 5, DType = OnnxCoEvo.Core.SafeTensors.TensorDType.BF16 });
        OnnxDecoderExportResult result = OnnxDecoderExport.Export(model, _dir.File("out"), new OnnxDecoderOptions { Attention = DecoderAttention.StandardOps });
        ModelConfig config = result.Config;
        var reference = new LlamaCpuModel(config, LlamaCpuModel.LoadBaseParameters(model, config, trainable: false), null);
        using var runner = new DecoderRunner(OrtInferenceSession.Open(result.ModelPath, OneThread), config);
        int[] sequence = RandomSequences(config.VocabSize, 13, 5)[0];
        DecoderStep step = runner.Run(sequence.Select(t => (long)t).ToArray(), 1, [1, 1, 1, 1, 1]);
        float[] expected = ReferenceLogits(reference, [sequence])[0];
        double error = RelativeError(Enumerable.Range(0, 5).Select(t => (step.Row(0, t), expected.AsSpan(t * config.VocabSize, config.VocabSize).ToArray())));
        output.WriteLine($"tiny bf16, standard ops: error {error:E2}");
        Assert.True(error < 1e-4, $"error {error}");
    }

    [Fact]
    public void A_missing_tensor_is_named_with_its_file_and_nothing_is_written()
    {
        string model = TinyModel();
        // Untied embeddings need lm_head.weight, which the tied tiny model does not have.
        (ModelConfig.Load(model) with { TieWordEmbeddings = false }).Save(model);
        string folder = _dir.File("out");
        var error = Assert.Throws<DataFormatException>(() => OnnxDecoderExport.Export(model, folder));
        Assert.Contains("lm_head.weight", error.Message);
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("missing", error.Message);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_named_with_its_file_and_both_shapes()
    {
        string model = TinyModel();
        (ModelConfig.Load(model) with { IntermediateSize = 256 }).Save(model);
        var error = Assert.Throws<DataFormatException>(() => OnnxDecoderExport.Export(model));
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", error.Message);
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("[384, 128]", error.Message);
        Assert.Contains("[256, 128]", error.Message);
    }

    [Fact]
    public void Folders_without_config_or_weights_and_impossible_attention_get_clear_errors()
    {
        string empty = _dir.File("empty");
        Directory.CreateDirectory(empty);
        Assert.Contains("config.json", Assert.Throws<FileNotFoundException>(() => OnnxDecoderExport.Export(empty)).Message);

        Tiny.Save(Path.Combine(empty, ModelConfig.FileName));
        Assert.Contains("model.safetensors", Assert.Throws<FileNotFoundException>(() => OnnxDecoderExport.Export(empty)).Message);

        Assert.Throws<DirectoryNotFoundException>(() => OnnxDecoderExport.Export(_dir.File("nowhere")));

        var gqa = new OnnxDecoderOptions { Attention = DecoderAttention.GroupQueryAttention };
        using DecoderWeights weights = DecoderWeights.FromParameters(RandomParameters(HeadDim8, 1));
        Assert.Contains("multiple of 16", Assert.Throws<ArgumentException>(() => OnnxDecoderBuilder.Build(HeadDim8, weights, gqa)).Message);
    }
}

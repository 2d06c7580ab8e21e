using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Tests.Training;

/// <summary>LlamaCpuModel.LoadBaseParameters on model directories: the tiny preset, dtypes, shards, and bad checkpoints.</summary>
public sealed class LlamaLoadTests
{
    [Theory]
    [InlineData(false)] // model.safetensors, F32
    [InlineData(true)] // BF16 in 1 MB shards with model.safetensors.index.json
    public void TinyPreset_LoadsEveryTensor_AndRuns(bool bf16Shards)
    {
        using var directory = new TempDirectory();
        ModelPreset preset = ModelDirectoryFactory.Create(new ModelDirectoryRequest
        {
            PresetName = "tiny",
            OutputDirectory = directory.Path,
            Seed = 7,
            DType = bf16Shards ? TensorDType.BF16 : TensorDType.F32,
            MaxShardBytes = bf16Shards ? 1_000_000 : SafeTensorsCheckpointWriter.DefaultMaxShardBytes,
            Overwrite = true,
        });
        ModelConfig config = ModelConfig.Load(directory.Path);
        Assert.Equal(preset.Config.VocabSize, config.VocabSize);
        Assert.Equal(bf16Shards, File.Exists(directory.File(SafeTensorsCheckpoint.IndexFileName)));

        ParameterSet parameters = LlamaCpuModel.LoadBaseParameters(directory.Path, config, trainable: false);
        Assert.Equal(config.TensorLayout().Select(t => t.Name), parameters.Select(p => p.Name));
        Assert.DoesNotContain(parameters, p => p.Name == "lm_head.weight"); // tiny ties its head to the embedding
        Assert.Empty(parameters.Trainable);
        using (SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(directory.Path))
        {
            foreach (string name in new[] { "model.embed_tokens.weight", "model.layers.3.mlp.down_proj.weight", "model.norm.weight" })
                Assert.Equal(checkpoint.ReadAsFloat32(name), parameters[name].Value);
        }

        var model = new LlamaCpuModel(config, parameters, lora: null);
        PackedBatch batch = PackedBatch.Pack([new TrainingSequence([1, 20, 300, 4, 55], [false, true, true, true, true])], config.VocabSize);
        float[] logProbs = model.Forward(batch, keepActivations: false).TokenLogProbs;
        Assert.All(logProbs[..4], lp => Assert.True(float.IsFinite(lp) && lp < 0, $"log-prob {lp}"));
        Assert.Equal(0f, logProbs[4]); // the last token has no target
    }

    [Theory]
    [InlineData("model.layers.1.self_attn.k_proj.bias", null, "tensor 'model.layers.1.self_attn.k_proj.bias'", "missing; the qwen2 config needs it with shape [8]")]
    [InlineData(null, "model.layers.0.mlp.gate_proj.weight", "tensor 'model.layers.0.mlp.gate_proj.weight' field shape", "is [16, 32]; the config needs [32, 16]")]
    public void MissingOrMisshapenTensor_NamesTheFileAndTensor(string? skip, string? transpose, string position, string problem)
    {
        using var directory = new TempDirectory();
        ModelConfig config = LlamaCpuModelTests.TinyConfig(ModelConfig.Qwen2, tied: false);
        string file = WriteCheckpoint(directory.Path, config, skip, transpose);
        Fault.Expect(() => LlamaCpuModel.LoadBaseParameters(directory.Path, config, trainable: true), file, position, problem);
    }

    [Fact]
    public void HalfPrecisionCheckpoint_WidensToFloat32_AndIgnoresExtraTensors()
    {
        using var directory = new TempDirectory();
        ModelConfig config = LlamaCpuModelTests.TinyConfig(ModelConfig.Llama, tied: true);
        ParameterSet source = LlamaCpuModelTests.RandomParameters(config, seed: 5, trainable: false);
        var tensors = source.Select(p => TensorData.FromFloat32(p.Name, p.Shape.Select(d => (long)d).ToArray(), p.Value, TensorDType.F16)).ToList();
        // An lm_head beside tied embeddings is ignored, as transformers does.
        tensors.Add(TensorData.FromFloat32("lm_head.weight", [config.VocabSize, config.HiddenSize], new float[config.VocabSize * config.HiddenSize]));
        SafeTensorsWriter.Write(Path.Combine(directory.Path, SafeTensorsCheckpoint.SingleFileName), tensors);

        ParameterSet loaded = LlamaCpuModel.LoadBaseParameters(directory.Path, config, trainable: true);
        Assert.Equal(source.Count, loaded.Count);
        Assert.All(loaded, p => Assert.True(p.Trainable));
        float[] expected = source["model.layers.0.self_attn.q_proj.weight"].Value.Select(v => (float)(Half)v).ToArray();
        Assert.Equal(expected, loaded["model.layers.0.self_attn.q_proj.weight"].Value);
    }

    /// <summary>Writes model.safetensors for a config, leaving out or transposing one tensor; returns the file's path.</summary>
    private static string WriteCheckpoint(string directory, ModelConfig config, string? skip, string? transpose)
    {
        var tensors = new List<TensorData>();
        foreach ((string name, long[] shape) in config.TensorLayout())
        {
            if (name == skip)
                continue;
            long[] written = name == transpose ? shape.Reverse().ToArray() : shape;
            tensors.Add(TensorData.FromFloat32(name, written, new float[shape.Aggregate(1L, (a, b) => a * b)]));
        }
        string path = Path.Combine(directory, SafeTensorsCheckpoint.SingleFileName);
        SafeTensorsWriter.Write(path, tensors);
        return path;
    }
}

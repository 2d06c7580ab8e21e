using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Tests.SafeTensors;

namespace OnnxCoEvo.Tests.Models;

public class ModelInspectorTests
{
    [Fact]
    public void TinyPreset_WrittenThenInspected_HasNoProblems()
    {
        using var dir = new TempDirectory();
        ModelPreset preset = ModelPresets.Get("tiny");
        ModelWeightsInitializer.Write(dir.Path, preset.Config, new WeightsInitOptions { Seed = 3, DType = preset.DefaultDType });

        ModelReport report = ModelInspector.Inspect(dir.Path);
        Assert.True(report.IsValid, string.Join("\n", report.Problems));
        Assert.Empty(report.UnexpectedTensors);
        Assert.Equal("LlamaForCausalLM", report.Config.Architectures.Single());
        Assert.Equal(918_656, report.ConfigParameterCount);
        Assert.Equal(report.ConfigParameterCount, report.FileElementCount);
        Assert.Equal(preset.Config.TensorLayout().Count, report.TensorCount);
        Assert.Equal(new Dictionary<TensorDType, long> { [TensorDType.F32] = 918_656 * 4 }, report.BytesByDType);
        Assert.Equal([SafeTensorsCheckpoint.SingleFileName], report.WeightFiles);
        Assert.True(report.WeightFileBytes > 918_656 * 4);
    }

    [Fact]
    public void MissingMismatchedAndExtraTensors_AreListedByName()
    {
        using var dir = new TempDirectory();
        ModelConfig config = ModelPresets.Get("tiny", vocabSize: 64).Config with { NumHiddenLayers = 1 };
        config.Save(dir.Path);
        var tensors = config.TensorLayout()
            .Where(t => t.Name != "model.norm.weight")
            .Select(t => t.Name == "model.layers.0.mlp.up_proj.weight"
                ? new TensorSpec(t.Name, TensorDType.F32, [t.Shape[1], t.Shape[0]])
                : new TensorSpec(t.Name, t.Name.Contains("gate") ? TensorDType.I32 : TensorDType.BF16, t.Shape))
            .Append(new TensorSpec("model.rotary_emb.inv_freq", TensorDType.F32, [16]))
            .ToArray();
        SafeTensorsCheckpointWriter.Write(dir.Path, tensors, null, (spec, sink) => sink.WriteBytes(new byte[spec.ByteLength]));

        ModelReport report = ModelInspector.Inspect(dir.Path);
        Assert.False(report.IsValid);
        Assert.Equal(3, report.Problems.Count);
        Assert.Contains(report.Problems, p => p.Contains("missing tensor 'model.norm.weight'"));
        Assert.Contains(report.Problems, p => p.Contains("'model.layers.0.mlp.up_proj.weight' has shape [128, 384], expected [384, 128]"));
        Assert.Contains(report.Problems, p => p.Contains("'model.layers.0.mlp.gate_proj.weight' has dtype I32"));
        Assert.Equal(["model.rotary_emb.inv_freq"], report.UnexpectedTensors);
        Assert.Equal(3, report.BytesByDType.Count);
    }
}

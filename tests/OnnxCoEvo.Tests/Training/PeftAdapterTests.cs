using System.Text.Json;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Parameters;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Tests.Training;

public class PeftAdapterTests
{
    // The tiny preset cut to two layers: hidden 128, q_dim 4 x 32 = 128, kv_dim 2 x 32 = 64, intermediate 384.
    private static readonly ModelConfig Model = ModelPresets.Get("tiny").Config with { NumHiddenLayers = 2 };

    private static readonly LoraConfig QvRank8 = new() { Rank = 8, Alpha = 16, TargetModules = ["q_proj", "v_proj"] };

    private const string QA = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";

    private static ParameterSet LoraParameters(LoraConfig config)
    {
        var set = new ParameterSet();
        int k = 0;
        foreach ((string name, long[] shape) in PeftAdapter.Layout(config, Model))
        {
            int[] intShape = shape.Select(d => (int)d).ToArray();
            var values = new float[intShape[0] * intShape[1]];
            for (int i = 0; i < values.Length; i++)
                values[i] = MathF.Sin(++k);
            set.Add(new Parameter(name, intShape, values, trainable: true));
        }
        return set;
    }

    [Fact]
    public void Layout_GivesPeftShapesForEveryModule()
    {
        var all = PeftAdapter.Layout(new LoraConfig { Rank = 4 }, Model).ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal(2 * 7 * 2, all.Count);
        Assert.Equal([4L, 128], all["model.layers.1.self_attn.q_proj.lora_A.weight"]);
        Assert.Equal([128L, 4], all["model.layers.1.self_attn.q_proj.lora_B.weight"]);
        Assert.Equal([64L, 4], all["model.layers.0.self_attn.k_proj.lora_B.weight"]);
        Assert.Equal([4L, 128], all["model.layers.0.self_attn.o_proj.lora_A.weight"]);
        Assert.Equal([384L, 4], all["model.layers.0.mlp.up_proj.lora_B.weight"]);
        Assert.Equal([4L, 384], all["model.layers.0.mlp.down_proj.lora_A.weight"]);
    }

    [Fact]
    public void SaveThenLoad_RoundTripsConfigAndTensors()
    {
        using var dir = new TempDirectory();
        ParameterSet source = LoraParameters(QvRank8);
        PeftAdapter adapter = PeftAdapter.FromParameters(source, QvRank8, Model, baseModelNameOrPath: "meta-llama/Llama-2-7b-chat-hf");
        string folder = Path.Combine(dir.Path, "adapter");
        adapter.Save(folder);

        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, PeftAdapter.ConfigFileName))))
        {
            JsonElement root = config.RootElement;
            Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
            Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
            Assert.Equal(8, root.GetProperty("r").GetInt32());
            Assert.Equal("16", root.GetProperty("lora_alpha").GetRawText());
            Assert.Equal("none", root.GetProperty("bias").GetString());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("revision").ValueKind);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("modules_to_save").ValueKind);
            Assert.False(root.GetProperty("use_rslora").GetBoolean());
        }
        using (SafeTensorsFile weights = SafeTensorsFile.Open(Path.Combine(folder, PeftAdapter.WeightsFileName)))
        {
            Assert.Equal(2 * 2 * 2, weights.Tensors.Count);
            Assert.True(weights.Contains(QA));
            Assert.True(weights.Contains("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"));
        }

        PeftAdapter loaded = PeftAdapter.Load(folder, Model);
        Assert.Equal(8, loaded.Config.Rank);
        Assert.Equal(16, loaded.Config.Alpha);
        Assert.Equal(["q_proj", "v_proj"], loaded.Config.TargetModules);
        Assert.Equal("meta-llama/Llama-2-7b-chat-hf", loaded.BaseModelNameOrPath);

        ParameterSet target = LoraParameters(QvRank8);
        target.ZeroGrad();
        foreach (Parameter p in target)
            Array.Clear(p.Value);
        loaded.ApplyTo(target);
        foreach (Parameter p in source)
            Assert.Equal(p.Value, target[p.Name].Value);
    }

    [Fact]
    public void RsLoraFlag_RoundTrips()
    {
        using var dir = new TempDirectory();
        LoraConfig rs = QvRank8 with { UseRsLora = true, Alpha = 12.5 };
        PeftAdapter.FromParameters(LoraParameters(rs), rs, Model).Save(dir.Path, overwrite: true);
        PeftAdapter loaded = PeftAdapter.Load(dir.Path, Model);
        Assert.True(loaded.Config.UseRsLora);
        Assert.Equal(12.5, loaded.Config.Alpha);
        Assert.Equal((float)(12.5 / Math.Sqrt(8)), loaded.Config.Scaling);
        Assert.Null(loaded.BaseModelNameOrPath);
    }

    /// <summary>A valid adapter folder whose weights file is then replaced by <paramref name="tensors"/>.</summary>
    private static string FolderWithTensors(TempDirectory dir, LoraConfig config, Func<List<TensorData>, List<TensorData>> edit)
    {
        string folder = Path.Combine(dir.Path, "adapter");
        PeftAdapter.FromParameters(LoraParameters(config), config, Model).Save(folder, overwrite: true);
        var tensors = PeftAdapter.Layout(config, Model)
            .Select(t => TensorData.FromFloat32(PeftAdapter.ToPeftName(t.Name), t.Shape, new float[t.Shape[0] * t.Shape[1]]))
            .ToList();
        string weights = Path.Combine(folder, PeftAdapter.WeightsFileName);
        SafeTensorsWriter.Write(weights, edit(tensors));
        return weights;
    }

    [Fact]
    public void Load_NamesAWrongShape()
    {
        using var dir = new TempDirectory();
        string weights = FolderWithTensors(dir, QvRank8, tensors =>
        {
            tensors[0] = TensorData.FromFloat32(QA, [8, 64], new float[8 * 64]);
            return tensors;
        });
        var e = Assert.Throws<OnnxCoEvo.Core.DataFormatException>(() => PeftAdapter.Load(Path.GetDirectoryName(weights)!, Model));
        Assert.Equal(weights, e.FilePath);
        Assert.Contains($"tensor '{QA}': has shape [8, 64] but the model needs [8, 128]", e.Message);
    }

    [Fact]
    public void Load_NamesAMissingB()
    {
        using var dir = new TempDirectory();
        const string missing = "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight";
        string weights = FolderWithTensors(dir, QvRank8, tensors => tensors.Where(t => t.Spec.Name != missing).ToList());
        Fault.Expect(() => PeftAdapter.Load(Path.GetDirectoryName(weights)!, Model), weights, $"tensor '{missing}'",
            "missing: every target module (q_proj, v_proj) of every layer needs lora_A and lora_B");
    }

    [Fact]
    public void Load_NamesAnUnknownModule()
    {
        using var dir = new TempDirectory();
        const string kProj = "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight";
        string weights = FolderWithTensors(dir, QvRank8, tensors => [.. tensors, TensorData.FromFloat32(kProj, [8, 128], new float[1024])]);
        Fault.Expect(() => PeftAdapter.Load(Path.GetDirectoryName(weights)!, Model), weights, $"tensor '{kProj}'",
            "is for k_proj, which is not among adapter_config.json target_modules (q_proj, v_proj)");

        const string strange = "base_model.model.model.layers.0.self_attn.rotary_emb.lora_A.weight";
        weights = FolderWithTensors(dir, QvRank8, tensors => [.. tensors, TensorData.FromFloat32(strange, [1], [0f])]);
        Fault.Expect(() => PeftAdapter.Load(Path.GetDirectoryName(weights)!, Model), weights, $"tensor '{strange}'",
            "names module self_attn.rotary_emb, which is not a LoRA target of this model");

        const string layer9 = "base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight";
        weights = FolderWithTensors(dir, QvRank8, tensors => [.. tensors, TensorData.FromFloat32(layer9, [8, 128], new float[1024])]);
        Fault.Expect(() => PeftAdapter.Load(Path.GetDirectoryName(weights)!, Model), weights, $"tensor '{layer9}'",
            "is for layer 9; the model has 2 layers");
    }

    [Fact]
    public void Load_NamesARankMismatchBetweenConfigAndTensors()
    {
        using var dir = new TempDirectory();
        LoraConfig rank4 = QvRank8 with { Rank = 4 };
        string folder = Path.Combine(dir.Path, "adapter");
        PeftAdapter.FromParameters(LoraParameters(rank4), rank4, Model).Save(folder);
        string config = Path.Combine(folder, PeftAdapter.ConfigFileName);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"r\": 4", "\"r\": 8"));
        Fault.Expect(() => PeftAdapter.Load(folder, Model), Path.Combine(folder, PeftAdapter.WeightsFileName), $"tensor '{QA}'",
            "has shape [4, 128] but the model needs [8, 128] (r = 8 in adapter_config.json)");
    }

    [Fact]
    public void Load_ConvertsHalfPrecisionTensors()
    {
        using var dir = new TempDirectory();
        string weights = FolderWithTensors(dir, QvRank8, tensors => tensors
            .Select(t => TensorData.FromFloat32(t.Spec.Name, t.Spec.Shape, Enumerable.Repeat(0.5f, (int)t.Spec.ElementCount).ToArray(), TensorDType.BF16))
            .ToList());
        PeftAdapter loaded = PeftAdapter.Load(Path.GetDirectoryName(weights)!, Model);
        Assert.All(loaded.Tensors, t => Assert.All(t.Values, v => Assert.Equal(0.5f, v)));
    }

    [Fact]
    public void Load_RefusesConfigOptionsItCannotHonour()
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "adapter");
        PeftAdapter.FromParameters(LoraParameters(QvRank8), QvRank8, Model).Save(folder);
        string config = Path.Combine(folder, PeftAdapter.ConfigFileName);
        string json = File.ReadAllText(config);

        File.WriteAllText(config, json.Replace("\"bias\": \"none\"", "\"bias\": \"all\""));
        Fault.Expect(() => PeftAdapter.Load(folder, Model), config, "$.bias", "only \"none\" is supported");
        File.WriteAllText(config, json.Replace("\"q_proj\"", "\"qkv_proj\""));
        Fault.Expect(() => PeftAdapter.Load(folder, Model), config, "$.target_modules", "'qkv_proj' is not one of");
        File.WriteAllText(config, json.Replace("\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\""));
        Fault.Expect(() => PeftAdapter.Load(folder, Model), config, "$.peft_type", "only \"LORA\" is supported");
    }

    [Fact]
    public void Save_ReplacesOnlyWhenAskedAndOnlyAnAdapterFolder()
    {
        using var dir = new TempDirectory();
        PeftAdapter adapter = PeftAdapter.FromParameters(LoraParameters(QvRank8), QvRank8, Model);
        string folder = Path.Combine(dir.Path, "adapter");
        adapter.Save(folder);
        Assert.Throws<IOException>(() => adapter.Save(folder));
        adapter.Save(folder, overwrite: true);
        Assert.Equal(["adapter"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));

        string notAnAdapter = Path.Combine(dir.Path, "model");
        Directory.CreateDirectory(notAnAdapter);
        File.WriteAllText(Path.Combine(notAnAdapter, "config.json"), "{}");
        Assert.Throws<IOException>(() => adapter.Save(notAnAdapter, overwrite: true));
        Assert.True(File.Exists(Path.Combine(notAnAdapter, "config.json")));
    }

    [Fact]
    public void Save_RefusesFactorsThatDoNotCarryTheRank()
    {
        var bad = new PeftAdapter
        {
            Config = QvRank8,
            Tensors = [new NamedTensor("model.layers.0.self_attn.q_proj.lora_A.weight", [4, 128], new float[512])],
        };
        using var dir = new TempDirectory();
        Assert.Contains("rank-8 lora_A is [r, in]", Assert.Throws<ArgumentException>(() => bad.Save(Path.Combine(dir.Path, "a"))).Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }
}

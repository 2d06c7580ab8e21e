using OnnxCoEvo.Cli;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo model init` and `coevo model info` driven in-process, as a user would type them.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ModelCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    [Fact]
    public void Init_tiny_then_info_succeeds_and_files_load_back_identical()
    {
        string model = _dir.File("tiny");
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", model, "--seed", "7"));
        Assert.Equal(0, Coevo("model", "info", model));

        // The tokenizer on disk is the one the factory builds: same vocabulary, merges and encodings.
        BpeTokenizer expected = TinyTokenizerFactory.Create();
        BpeTokenizer loaded = BpeTokenizer.Load(model);
        Assert.Equal(expected.VocabSize, loaded.VocabSize);
        Assert.Equal(expected.Merges, loaded.Merges);
        foreach (string text in new[] { "Thought: I think I should search.\nAction: search[red mug < 20.00 dollars]", "take apple 1 from fridge 1", "héllo wörld 🎉" })
            Assert.Equal(expected.Encode(text), loaded.Encode(text));

        // config.json carries the tokenizer's vocabulary and special token ids.
        ModelConfig config = ModelConfig.Load(model);
        Assert.Equal(loaded.VocabSize, config.VocabSize);
        Assert.Equal(loaded.BosTokenId, config.BosTokenId);
        Assert.Equal([loaded.EosTokenId!.Value], config.EosTokenIds);

        // Weights: every tensor of the layout is there, and a second init with the same seed is byte-identical.
        string again = _dir.File("again");
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", again, "--seed", "7"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(model, "model.safetensors")), File.ReadAllBytes(Path.Combine(again, "model.safetensors")));
        using var weights = SafeTensorsCheckpoint.Open(model);
        foreach ((string name, long[] shape) in config.TensorLayout())
            Assert.Equal(shape, weights.Get(name).Shape);
    }

    [Fact]
    public void Different_seeds_give_different_weights()
    {
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", _dir.File("a"), "--seed", "1"));
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", _dir.File("b"), "--seed", "2"));
        using var a = SafeTensorsCheckpoint.Open(_dir.File("a"));
        using var b = SafeTensorsCheckpoint.Open(_dir.File("b"));
        Assert.NotEqual(a.ReadAsFloat32("model.embed_tokens.weight"), b.ReadAsFloat32("model.embed_tokens.weight"));
    }

    [Fact]
    public void Init_refuses_a_non_empty_directory_and_leaves_its_files_alone()
    {
        string model = _dir.File("busy");
        Directory.CreateDirectory(model);
        string keep = Path.Combine(model, "notes.txt");
        File.WriteAllText(keep, "mine");
        var e = Assert.Throws<IOException>(() => Coevo("model", "init", "--preset", "tiny", "--out", model));
        Assert.Contains("--force", e.Message);
        Assert.Equal("mine", File.ReadAllText(keep));
        Assert.Single(Directory.GetFiles(model));
    }

    [Fact]
    public void Unknown_preset_names_the_valid_ones()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Coevo("model", "init", "--preset", "gpt-5", "--out", _dir.File("x")));
        Assert.Contains("gpt-5", e.Message);
        Assert.Contains("smollm2-135m", e.Message);
    }

    [Fact]
    public void Info_reports_a_missing_tensor_with_exit_code_1()
    {
        string model = _dir.File("tiny");
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", model));
        // Rewrite the checkpoint without one tensor the architecture needs.
        ModelConfig config = ModelConfig.Load(model);
        string file = Path.Combine(model, "model.safetensors");
        TensorData[] kept;
        using (var original = SafeTensorsFile.Open(file))
        {
            kept = original.Tensors.Where(t => t.Name != "model.layers.1.mlp.up_proj.weight")
                .Select(t => new TensorData(t.Spec, original.GetBytes(t.Name).ToArray())).ToArray();
        }
        SafeTensorsWriter.Write(file, kept, metadata: null);
        Assert.Equal(1, Coevo("model", "info", model));
        Assert.Contains(ModelInspector.Inspect(model).Problems, p => p.Contains("model.layers.1.mlp.up_proj.weight"));
        Assert.Equal(config, ModelConfig.Load(model));
    }

    [Fact]
    public void Help_and_bad_arguments_give_the_expected_exit_codes()
    {
        Assert.Equal(0, Coevo("--help"));
        Assert.Equal(0, Coevo("model", "init", "--help"));
        Assert.Equal(2, Coevo());
        Assert.Equal(2, Coevo("model", "init", "--out", _dir.File("x")));   // --preset missing
        Assert.Equal(2, Coevo("model", "frobnicate"));
    }
}

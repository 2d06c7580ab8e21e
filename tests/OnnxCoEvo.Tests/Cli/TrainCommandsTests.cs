using System.Text.Json;
using OnnxCoEvo.Cli;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Peft;
using OnnxCoEvo.Tests.Training;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo train sft|dpo` on the tiny preset, driven in-process as a user would type them.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class TrainCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    private static List<JsonElement> Metrics(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void Train_sft_with_lora_writes_a_peft_adapter_and_the_loss_falls()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 8);
        string run = _dir.File("sft");
        Assert.Equal(0, Coevo("train", "sft", "--model", model, "--data", data, "--out", run, "--epochs", "6", "--batch-size", "4",
            "--lr", "1e-2", "--lora-rank", "8", "--lora-alpha", "16", "--schedule", "constant"));
        var metrics = Metrics(run);
        Assert.Equal(12, metrics.Count);
        double first = metrics[0].GetProperty("loss").GetDouble(), last = metrics[^1].GetProperty("loss").GetDouble();
        // A random tiny model's frozen head caps what LoRA alone can reach (see TrainerTests); the loss still falls clearly.
        Assert.True(last < first - 1.0, $"loss {first} -> {last}");
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "train_summary.json")));

        // Running the finished command again reports completion without training.
        Assert.Equal(0, Coevo("train", "sft", "--model", model, "--data", data, "--out", run, "--epochs", "6", "--batch-size", "4",
            "--lr", "1e-2", "--lora-rank", "8", "--lora-alpha", "16", "--schedule", "constant"));
        Assert.Equal(12, Metrics(run).Count);
    }

    [Fact]
    public void Train_sft_full_writes_a_model_directory()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 4);
        string run = _dir.File("full");
        Assert.Equal(0, Coevo("train", "sft", "--model", model, "--data", data, "--out", run, "--full", "--lr", "1e-3"));
        Assert.True(File.Exists(Path.Combine(run, "model", "config.json")));
        Assert.True(File.Exists(Path.Combine(run, "model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "model", "tokenizer.json")));
        // The trained model is a model directory like any other: it loads, and it trains further.
        var config = ModelConfig.Load(Path.Combine(run, "model"));
        Assert.Equal(ModelConfig.Load(model), config);
        Assert.NotEmpty(LlamaCpuModel.LoadBaseParameters(Path.Combine(run, "model"), config, trainable: false));
        Assert.Equal(0, Coevo("train", "sft", "--model", Path.Combine(run, "model"), "--data", data, "--out", _dir.File("again")));
    }

    [Fact]
    public void Train_dpo_raises_the_reward_margin()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WritePairs(_dir, 4);
        string run = _dir.File("dpo");
        Assert.Equal(0, Coevo("train", "dpo", "--model", model, "--data", data, "--out", run, "--epochs", "6", "--batch-size", "4",
            "--lr", "5e-3", "--beta", "0.1", "--schedule", "constant", "--lora-rank", "8", "--lora-alpha", "16"));
        var metrics = Metrics(run);
        Assert.Equal(0.0, metrics[0].GetProperty("rewards_margin").GetDouble(), 6);
        Assert.True(metrics[^1].GetProperty("rewards_margin").GetDouble() > 0.5);
    }

    [Fact]
    public void An_adapter_that_does_not_fit_the_model_is_refused_and_the_run_directory_is_left_alone()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 4);
        string run = _dir.File("run");
        Assert.Equal(0, Coevo("train", "sft", "--model", model, "--data", data, "--out", run, "--lora-rank", "4", "--lora-alpha", "8"));
        string adapter = Path.Combine(run, "adapter");
        byte[] before = File.ReadAllBytes(Path.Combine(adapter, "adapter_model.safetensors"));
        string[] checkpoints = Directory.GetDirectories(Path.Combine(run, "checkpoints"));

        // An adapter of a wider model: its q_proj lora_A is [4, 256] where this model's hidden size is 128.
        string otherModel = _dir.File("wide");
        var wide = ModelPresets.Get("tiny").Config with { HiddenSize = 256, HeadDim = 64 };
        Directory.CreateDirectory(otherModel);
        var lora = new LoraConfig { Rank = 4, Alpha = 8 };
        var tensors = PeftAdapter.Layout(lora, wide).Select(t => new NamedTensor(t.Name, t.Shape.Select(d => (int)d).ToArray(), new float[t.Shape.Aggregate(1L, (a, b) => a * b)])).ToList();
        string wrong = _dir.File("wrong-adapter");
        new PeftAdapter { Config = lora, Tensors = tensors }.Save(wrong);

        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, Program.Main(["train", "sft", "--model", model, "--data", data, "--out", _dir.File("run2"), "--init-adapter", wrong]));
        }
        finally
        {
            Console.SetError(previous);
        }
        Assert.Contains("adapter_model.safetensors", error.ToString());
        Assert.Contains("has shape [4, 256] but the model needs [4, 128]", error.ToString());
        Assert.False(Directory.Exists(_dir.File("run2")) && Directory.EnumerateFileSystemEntries(_dir.File("run2")).Any());
        // The first run's products are untouched.
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(adapter, "adapter_model.safetensors")));
        Assert.Equal(checkpoints, Directory.GetDirectories(Path.Combine(run, "checkpoints")));
    }

    [Fact]
    public void Bad_options_and_data_stop_with_exit_2()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 2);
        Assert.Equal(2, Program.Main(["train", "sft", "--model", model, "--data", data, "--out", _dir.File("a"), "--lora-targets", "q_proj,w_proj"]));
        Assert.Equal(2, Program.Main(["train", "dpo", "--model", model, "--data", data, "--out", _dir.File("b")]));
        Assert.Equal(2, Program.Main(["train", "sft", "--model", model, "--data", data, "--out", _dir.File("c"), "--max-length", "10"]));
    }
}

using System.Text.Json;
using OnnxCoEvo.Cli;
using OnnxCoEvo.Tests.Training;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo train sft|dpo` on the tiny preset, driven in-process as a user would type them.</summary>
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
    public void Bad_options_and_data_stop_with_exit_2()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 2);
        Assert.Equal(2, Program.Main(["train", "sft", "--model", model, "--data", data, "--out", _dir.File("a"), "--lora-targets", "q_proj,w_proj"]));
        Assert.Equal(2, Program.Main(["train", "dpo", "--model", model, "--data", data, "--out", _dir.File("b")]));
        Assert.Equal(2, Program.Main(["train", "sft", "--model", model, "--data", data, "--out", _dir.File("c"), "--max-length", "10"]));
    }
}

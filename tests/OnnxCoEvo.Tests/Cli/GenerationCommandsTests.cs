using System.Text.Json;
using OnnxCoEvo.Cli;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Tests.Onnx.Generation;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo eval --policy onnx:DIR [--adapter]` and `coevo bench rollout` on a tiny model made by `coevo model init` and `coevo onnx build`.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class GenerationCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    private string TinyModelWithOnnx()
    {
        string model = _dir.File("tiny");
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", model, "--seed", "3"));
        Assert.Equal(0, Coevo("onnx", "build", "--model", model));
        return model;
    }

    [Fact]
    public void Eval_runs_an_onnx_policy_with_a_peft_adapter_and_reports()
    {
        string model = TinyModelWithOnnx();
        string outDir = _dir.File("eval");
        Assert.Equal(0, Coevo("eval", "--env", "household", "--policy", "onnx:" + model, "--adapter", TinyModel.AdapterDirectory,
            "--limit", "2", "--max-steps", "2", "--max-new-tokens", "8", "--no-icl", "--out", outDir));
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal(2, summary.RootElement.GetProperty("episodes").GetInt32());
        List<Trajectory> trajectories = TrajectoryStore.ReadAll(Path.Combine(outDir, "trajectories.jsonl"), strict: true).Records.ToList();
        Assert.Equal(2, trajectories.Count);
        Assert.All(trajectories, t => Assert.Equal($"onnx:{model}+{TinyModel.AdapterDirectory}", t.Policy));
        Assert.All(trajectories, t => Assert.Equal(2, t.Steps));

        var error = Assert.Throws<ArgumentException>(() =>
            Coevo("eval", "--env", "household", "--policy", "onnx:" + model, "--temperature", "-1", "--limit", "1", "--out", _dir.File("bad")));
        Assert.Contains("temperature", error.Message);
    }

    [Fact]
    public void Bench_rollout_measures_reuse_against_re_encoding()
    {
        string model = TinyModelWithOnnx();
        string json = _dir.File("bench.json");
        Assert.Equal(0, Coevo("bench", "rollout", "--policy", "onnx:" + model, "--env", "household", "--episodes", "2", "--turns", "2",
            "--max-new-tokens", "6", "--json", json));
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = report.RootElement;
        JsonElement reuse = root.GetProperty("reuse"), reencode = root.GetProperty("reencode");
        Assert.Equal(2, reuse.GetProperty("episodes").GetInt32());
        Assert.Equal(4, reencode.GetProperty("steps").GetInt64());
        Assert.Equal(0, reencode.GetProperty("reused_tokens").GetInt64());
        Assert.True(reuse.GetProperty("reused_tokens").GetInt64() > 0);
        Assert.True(reuse.GetProperty("prefill_tokens").GetInt64() < reencode.GetProperty("prefill_tokens").GetInt64());
        Assert.Equal(reuse.GetProperty("prompt_tokens").GetInt64(), reencode.GetProperty("prompt_tokens").GetInt64());
        Assert.True(reuse.GetProperty("decode_tokens_per_second").GetDouble() > 0);
        Assert.True(root.GetProperty("prefill_tokens_ratio").GetDouble() > 1);
        Assert.True(root.GetProperty("same_trajectories").GetBoolean());
    }
}

using System.Text.Json;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Cli;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo expert`, `coevo rollout`, `coevo eval` and `coevo env info` on the built-in environments.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RolloutCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    [Fact]
    public void Expert_writes_one_trajectory_per_task_and_a_rerun_resumes_without_duplicates()
    {
        string output = _dir.File("experts.jsonl");
        Assert.Equal(0, Coevo("expert", "--env", "household", "--split", "train", "--limit", "12", "--out", output));
        List<Trajectory> first = TrajectoryStore.ReadAll(output, strict: true).Records.ToList();
        Assert.Equal(12, first.Count);
        Assert.All(first, t => Assert.Equal("expert:household", t.Policy));
        Assert.All(first, t => Assert.Equal("train", t.Split));

        // More tasks later: only the new ones run, the file keeps the first twelve as they were.
        Assert.Equal(0, Coevo("expert", "--env", "household", "--split", "train", "--limit", "20", "--out", output));
        List<Trajectory> all = TrajectoryStore.ReadAll(output, strict: true).Records.ToList();
        Assert.Equal(20, all.Count);
        Assert.Equal(20, all.Select(t => t.TaskId).Distinct().Count());
        Assert.Equal(first.Select(TrajectoryJson.Serialize), all.Take(12).Select(TrajectoryJson.Serialize));
    }

    [Fact]
    public void Shards_write_disjoint_files_that_cover_the_split()
    {
        string a = _dir.File("shard0.jsonl"), b = _dir.File("shard1.jsonl");
        Assert.Equal(0, Coevo("rollout", "--env", "household", "--split", "test_seen", "--limit", "10", "--shard", "0/2", "--out", a));
        Assert.Equal(0, Coevo("rollout", "--env", "household", "--split", "test_seen", "--limit", "10", "--shard", "1/2", "--out", b, "--samples", "2"));
        var ids0 = TrajectoryStore.ReadAll(a).Records.Select(t => t.TaskId).ToHashSet();
        List<Trajectory> second = TrajectoryStore.ReadAll(b).Records.ToList();
        Assert.Equal(5, ids0.Count);
        Assert.Equal(10, second.Count); // 5 tasks x 2 samples
        Assert.Empty(ids0.Intersect(second.Select(t => t.TaskId)));
        Assert.Equal(10, second.Select(RolloutPlan.KeyOf).Distinct().Count());
    }

    [Fact]
    public void Eval_writes_a_summary_with_score_and_success_rate()
    {
        string outDir = _dir.File("eval");
        string json = _dir.File("summary-copy.json");
        Assert.Equal(0, Coevo("eval", "--env", "household", "--limit", "8", "--out", outDir, "--json", json, "--no-failures"));
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        JsonElement root = summary.RootElement;
        Assert.Equal("household", root.GetProperty("environment").GetString());
        Assert.Equal("test", root.GetProperty("split").GetString());
        Assert.Equal(8, root.GetProperty("episodes").GetInt32());
        Assert.Equal(100.0, root.GetProperty("score").GetDouble());      // the expert without failures solves every task
        Assert.Equal(1.0, root.GetProperty("success_rate").GetDouble());
        Assert.Equal(File.ReadAllText(Path.Combine(outDir, "summary.json")), File.ReadAllText(json));
        Assert.Equal(8, TrajectoryStore.ReadAll(Path.Combine(outDir, "trajectories.jsonl")).Records.Count);
    }

    [Fact]
    public void Bad_arguments_name_the_problem()
    {
        Assert.Contains("unknown environment 'nowhere'", Assert.Throws<ArgumentException>(() =>
            Coevo("expert", "--env", "nowhere", "--out", _dir.File("x.jsonl"))).Message);
        Assert.Contains("no split", Assert.Throws<ArgumentException>(() =>
            Coevo("expert", "--env", "household", "--split", "validation", "--out", _dir.File("x.jsonl"))).Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("--shard", Assert.Throws<ArgumentException>(() =>
            Coevo("expert", "--env", "household", "--shard", "2/2", "--out", _dir.File("x.jsonl"))).Message);
        Assert.Contains("forgotten_step", Assert.Throws<ArgumentException>(() =>
            Coevo("expert", "--env", "household", "--failure-rates", "typo=0.1", "--out", _dir.File("x.jsonl"))).Message);
        Assert.Equal(0, Coevo("env", "info", "--env", "household"));
    }
}

using System.Text.Json;
using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Agents.Recipes.Runs;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Runs;

public sealed class RecipeRunnerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_eef_iteration_writes_every_stage_and_a_rerun_redoes_none()
    {
        string model = SmallRuns.CreateTinyModel(_dir.File("model"));
        RunConfig config = RunConfig.Parse(SmallRuns.Config("eef-small", "eef", model, extra: "eef:\n  probes: 3")
            .Replace("samples: 2", "samples: 1")).Resolve();
        string runPath = _dir.File("runs/eef-small");
        var log = new List<string>();
        RunReport report = await new RecipeRunner(config, runPath, log.Add).RunAsync();

        var run = new RunDirectory(runPath);
        Assert.True(File.Exists(Path.Combine(model, "onnx", "model.onnx")));      // built because it was missing
        Assert.True(run.Root.IsDone("experts"));
        Assert.True(run.Iteration(0).IsDone("eval"));
        StageLedger iteration = run.Iteration(1);
        foreach (string stage in new[] { "rollouts", "probes", "data", "train", "eval" })
            Assert.True(iteration.IsDone(stage), stage);

        // Exploration A: every train task once from s0 (EEF: 1 + M simulations per task), each key once.
        List<Trajectory> explored = TrajectoryStore.ReadAll(iteration.File("rollouts.jsonl"), strict: true).Records.ToList();
        Assert.Equal(4, explored.Select(RolloutPlan.KeyOf).Distinct().Count());
        Assert.Equal(4, explored.Count);

        // Exploration B: the probes of every failed expert trajectory, restored by replaying its steps.
        List<Trajectory> experts = TrajectoryStore.ReadAll(run.Experts).Records.ToList();
        List<Trajectory> failed = experts.Where(t => !t.MeetsSuccessRule).ToList();
        List<Trajectory> probes = TrajectoryStore.ReadAll(iteration.File("probes.jsonl"), strict: true).Records.ToList();
        Assert.Equal(failed.Sum(t => EefProbePlanner.Plan(t, 3).Count), probes.Count);
        Assert.All(probes, p => Assert.InRange(p.Metadata[Episode.ReplayedStepsKey].GetInt32(), 1, 3));

        using (JsonDocument counts = JsonDocument.Parse(File.ReadAllText(iteration.File("counts.json"))))
        {
            JsonElement data = counts.RootElement.GetProperty("data");
            Assert.Equal(failed.Count, data.GetProperty("failed_experts").GetInt32());
            Assert.Equal(probes.Count, data.GetProperty("probe_rollouts").GetInt32());
            Assert.Equal(experts.Count(t => t.MeetsSuccessRule), data.GetProperty("expert_successes").GetInt32());
            int records = data.GetProperty("records").GetInt32();
            Assert.Equal(records, TrajectoryStore.ReadAll(iteration.File("data.jsonl"), strict: true).Records.Count);
        }

        // The trained adapter is what iteration 1 evaluated.
        using (JsonDocument train = JsonDocument.Parse(File.ReadAllText(iteration.MarkerPath("train"))))
        {
            string adapter = train.RootElement.GetProperty("adapter").GetString()!;
            Assert.True(File.Exists(Path.Combine(adapter, "adapter_config.json")));
            using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(iteration.File("eval/summary.json")));
            Assert.EndsWith("+ " + adapter, summary.RootElement.GetProperty("policy").GetString());
        }

        Assert.Equal(["start model", "eef iter 1"], report.Scores.Select(s => s.Method));
        string markdown = File.ReadAllText(run.Report);
        Assert.Contains("| Method | Win rate (%) | Reward (x100) |", markdown);
        Assert.Contains("| eef iter 1 |", markdown);
        Assert.Contains("failed experts", markdown);
        Assert.Contains("<polyline", File.ReadAllText(run.LearningCurve));

        // Run again: every stage is skipped, nothing is rewritten.
        Dictionary<string, string> before = Directory.EnumerateFiles(runPath, "*.done", SearchOption.AllDirectories)
            .ToDictionary(f => f, File.ReadAllText);
        string rollouts = File.ReadAllText(iteration.File("rollouts.jsonl"));
        log.Clear();
        await new RecipeRunner(config, runPath, log.Add).RunAsync();
        Assert.Equal(before, Directory.EnumerateFiles(runPath, "*.done", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText));
        Assert.Equal(rollouts, File.ReadAllText(iteration.File("rollouts.jsonl")));
        Assert.Equal(7, log.Count(l => l.EndsWith("done earlier, skipped", StringComparison.Ordinal)));
    }
}

using System.Diagnostics;
using OnnxCoEvo.Agents.Recipes.Runs;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Cli;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Tests.Agents.Recipes.Runs;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo run`: a killed run resumes without redoing finished stages or losing/duplicating episodes.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RunCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_run_killed_mid_iteration_resumes_where_it_stopped()
    {
        string model = SmallRuns.CreateTinyModel(_dir.File("model"));
        // One episode in flight at a time, so the rollout file grows line by line and the kill lands inside the stage.
        string config = _dir.Write("rft.yaml", SmallRuns.Config("rft-kill", "rft", model).Replace("concurrency: 8", "concurrency: 1").Replace("samples: 2", "samples: 6"));
        string runPath = _dir.File("runs/rft-kill");
        string rollouts = Path.Combine(runPath, "iter-01", "rollouts.jsonl");

        string coevo = Path.Combine(AppContext.BaseDirectory, "coevo.dll");
        Assert.True(File.Exists(coevo), $"the CLI is built next to the tests: {coevo}");
        var start = new ProcessStartInfo("dotnet", ["exec", coevo, "run", config, "--out", runPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using (Process child = Process.Start(start)!)
        {
            var errors = new System.Text.StringBuilder();
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!(File.Exists(rollouts) && new FileInfo(rollouts).Length > 0))
            {
                Assert.False(child.HasExited, "the run ended before it could be killed: " + errors);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), "no rollouts after 45 s");
                Thread.Sleep(5); // polling on this thread: a busy thread pool must not delay the kill
            }
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }

        // What the killed run left: finished stages' markers, and the episodes written so far (a torn line is not one).
        Dictionary<string, string> markers = Directory.EnumerateFiles(runPath, "*.done", SearchOption.AllDirectories)
            .ToDictionary(f => f, File.ReadAllText);
        Assert.Contains(Path.Combine(runPath, "iter-00", "eval.done"), markers.Keys);
        List<string> written = TrajectoryStore.ReadAll(rollouts).Records.Select(TrajectoryJson.Serialize).ToList();
        Assert.InRange(written.Count, 1, 4 * 6 - 1);

        Assert.Equal(0, Program.Dispatch(["run", config, "--out", runPath], TextWriter.Null));

        foreach ((string marker, string content) in markers)
            Assert.Equal(content, File.ReadAllText(marker));   // finished stages were not redone
        List<Trajectory> all = TrajectoryStore.ReadAll(rollouts, strict: true).Records.ToList();
        Assert.Equal(written, all.Take(written.Count).Select(TrajectoryJson.Serialize));
        Assert.Equal(4 * 6, all.Count);                          // nothing lost, nothing twice
        Assert.Equal(all.Count, all.Select(RolloutPlan.KeyOf).Distinct().Count());
        var run = new RunDirectory(runPath);
        foreach (string stage in new[] { "rollouts", "data", "train", "eval" })
            Assert.True(run.Iteration(1).IsDone(stage), stage);
        Assert.Contains("| rft iter 1 |", File.ReadAllText(run.Report));

        // The same run with another setting is refused, naming the field.
        var refused = Assert.Throws<ArgumentException>(() => Program.Dispatch(["run", config, "--out", runPath, "--epochs", "2"], TextWriter.Null));
        Assert.Contains("train.epochs", refused.Message);
    }

    [Fact]
    public void The_quick_demo_trains_a_base_agent_and_compares_recipes_from_it()
    {
        string demo = _dir.File("demo");
        Assert.Equal(0, Program.Dispatch(["demo", "--quick", "--recipes", "eto,eef+coevo", "--out", demo], TextWriter.Null));

        string report = File.ReadAllText(Path.Combine(demo, "report.md"));
        Assert.Contains("| base agent (SFT on expert successes) |", report);
        Assert.Contains("| eef+coevo |", report);
        Assert.Contains("| eto |", report);
        Assert.True(File.Exists(Path.Combine(demo, "agent-train", "model", "onnx", "model.onnx")));
        // Every recipe starts from the base agent and learns from the same expert file.
        foreach (string recipe in new[] { "eto", "eef-coevo" })
        {
            RunConfig config = RunConfig.Load(Path.Combine(demo, "runs", recipe, RunConfig.ResolvedFileName));
            Assert.Equal(Path.Combine(demo, "agent-train", "model"), config.Model);
            Assert.Equal(Path.Combine(demo, "experts.jsonl"), config.Experts);
            Assert.True(config.Rollout.ConstrainActions, recipe); // the demo's agents act inside each page's action space
            Assert.Equal(new DemoSettings().RecipeLearningRate, config.Train.Lr);
            Assert.Equal(new DemoSettings().RecipeDpoLearningRate, config.Train.DpoLr);
        }
        Assert.Contains("every action decoded inside the page's action space", report);
        // The base agent's evaluation is played once and shared: the second run's iteration 0 is a copy of the first's.
        Assert.Equal(File.ReadAllText(Path.Combine(demo, "runs", "eto", "iter-00", "eval", "summary.json")),
            File.ReadAllText(Path.Combine(demo, "runs", "eef-coevo", "iter-00", "eval", "summary.json")));

        // EEF + co-evolving agents: both agents' rollouts, the failure agent's phase, its hard negatives, EEF probes and the
        // target's SFT step, then the target's DPO + SFT.
        foreach (string stage in new[] { "rollouts-target", "rollouts-failure", "failure-pairs", "failure-train", "rollouts-hard", "probes", "eef-data",
                     "target-sft", "pairs", "train", "eval" })
            Assert.True(File.Exists(Path.Combine(demo, "runs", "eef-coevo", "iter-01", stage + ".done")), stage);
        Assert.Contains("near success share", File.ReadAllText(Path.Combine(demo, "runs", "eef-coevo", "report.md")));

        // Again: nothing is redone, the comparison is the same.
        Dictionary<string, string> markers = Directory.EnumerateFiles(demo, "*.done", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText);
        Assert.Equal(0, Program.Dispatch(["demo", "--quick", "--recipes", "eto,eef+coevo", "--out", demo], TextWriter.Null));
        Assert.Equal(markers, Directory.EnumerateFiles(demo, "*.done", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText));
        Assert.Equal(report, File.ReadAllText(Path.Combine(demo, "report.md")));

        Assert.Throws<ArgumentException>(() => Program.Dispatch(["demo", "--quick", "--recipes", "ppo", "--out", demo], TextWriter.Null));
        var budgets = Assert.Throws<ArgumentException>(() => Program.Dispatch(["demo", "--quick", "--train-tasks", "5", "--out", demo], TextWriter.Null));
        Assert.Contains("train_tasks", budgets.Message);
        var free = Assert.Throws<ArgumentException>(() => Program.Dispatch(["demo", "--quick", "--free-actions", "--out", demo], TextWriter.Null));
        Assert.Contains("constrain_actions", free.Message);
    }

    [Fact]
    public void Run_without_a_config_needs_recipe_env_and_model()
    {
        var e = Assert.Throws<ArgumentException>(() => Program.Dispatch(["run", "--recipe", "sft"], TextWriter.Null));
        Assert.Contains("--model", e.Message);
    }
}

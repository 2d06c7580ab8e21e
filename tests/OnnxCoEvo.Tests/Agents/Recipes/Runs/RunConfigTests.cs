using OnnxCoEvo.Agents.Recipes.Runs;
using OnnxCoEvo.Core;

namespace OnnxCoEvo.Tests.Agents.Recipes.Runs;

public sealed class RunConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Rft = """
        name: small-rft
        recipe: rft
        env: webshop
        model: models/tiny
        iterations: 2
        train:
          mode: full
          epochs: 1
        rollout:
          task_limit: 8
        eef:
          probes: 3
        """;

    [Fact]
    public void Every_example_recipe_loads_resolves_and_decodes_actions_inside_the_action_space_as_the_demo_does()
    {
        string[] files = Directory.GetFiles(Path.Combine(OnnxCoEvo.Tests.Native.CudaBackendTests.RepoRoot(), "examples", "recipes"), "*.yaml");
        Assert.Equal(6, files.Length);
        foreach (string file in files)
        {
            RunConfig config = RunConfig.Load(file).Resolve(file);
            Assert.True(config.Rollout.ConstrainActions, file);
            Assert.Contains(config.Entries(), e => e.Field == "rollout.constrain_actions" && e.Value == "true");
        }
        Assert.False(RunConfig.Parse("name: a\nrecipe: sft\nmodel: m\n").Resolve().Rollout.ConstrainActions); // off unless asked
    }

    [Fact]
    public void Snake_case_keys_are_read_and_recipe_dependent_defaults_filled()
    {
        RunConfig config = RunConfig.Parse(Rft).Resolve();
        Assert.Equal("small-rft", config.Name);
        Assert.Equal(2, config.Iterations);
        Assert.Equal(Path.GetFullPath("models/tiny"), config.Model);
        Assert.True(config.Train.Full);
        Assert.Equal(1e-4f, config.Train.Lr);          // full fine-tuning default
        Assert.Equal(6, config.Rollout.Samples);        // RFT x6
        Assert.Equal(0.7, config.Rollout.Temperature);
        Assert.True(config.Train.RestartFromBase);      // classic RFT restarts from the starting model
        Assert.Equal(8, config.Rollout.TaskLimit);
        Assert.Equal(3, config.Eef.Probes);

        RunConfig eto = RunConfig.Parse(Rft.Replace("recipe: rft", "recipe: eto").Replace("  task_limit: 8", "  task_limit: 8\n  temperature: 1.0")).Resolve();
        Assert.Equal(0.0, eto.Rollout.Temperature);     // ETO explores greedily whatever the config says
        Assert.Equal(1, eto.Rollout.Samples);
        Assert.False(eto.Train.RestartFromBase);
        Assert.Equal(0.1f, eto.Eto.BetaAt(1));
        Assert.Equal(0.5f, eto.Eto.BetaAt(2));
        Assert.Equal(0.5f, eto.Eto.BetaAt(7));          // the last value repeats
        Assert.Equal(eto.Eto.LrAt(1) / 2, eto.Eto.LrAt(2));

        Assert.Equal(1, RunConfig.Parse("name: a\nrecipe: sft\nmodel: m\n").Resolve().Iterations);
    }

    [Fact]
    public void The_resolved_yaml_has_a_comment_on_every_field_and_reads_back_to_the_same_values()
    {
        RunConfig config = RunConfig.Parse(Rft).Resolve();
        string yaml = config.ToYaml();
        Assert.Contains("our choice", yaml);
        foreach (string line in yaml.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Assert.True(line.StartsWith('#') || line.EndsWith(':') || line.Contains(" # "), $"no comment on '{line}'");

        RunConfig reread = RunConfig.Parse(yaml).Resolve();
        Assert.Null(config.FirstDifference(reread, out _));
        Assert.Equal(config.Entries(), reread.Entries());
    }

    [Fact]
    public void Every_example_config_resolves()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !Directory.Exists(Path.Combine(directory, "examples", "recipes")))
            directory = Path.GetDirectoryName(directory);
        Assert.NotNull(directory);
        string[] files = Directory.GetFiles(Path.Combine(directory, "examples", "recipes"), "*.yaml");
        Assert.NotEmpty(files);
        var recipes = new HashSet<string>();
        foreach (string file in files)
        {
            RunConfig config = RunConfig.Load(file).Resolve(file);
            recipes.Add(config.Recipe);
            Assert.Equal(config.Name, RunConfig.Parse(config.ToYaml()).Resolve().Name);
        }
        Assert.Equal(RecipeNames.All.ToHashSet(), recipes);
    }

    [Fact]
    public void A_difference_is_named_by_its_field()
    {
        RunConfig a = RunConfig.Parse(Rft).Resolve();
        RunConfig b = RunConfig.Parse(Rft.Replace("epochs: 1", "epochs: 2")).Resolve();
        RunConfigEntry? entry = b.FirstDifference(a, out string? was);
        Assert.NotNull(entry);
        Assert.Equal("train.epochs", entry.Field);
        Assert.Equal("1", was);
        Assert.Equal("2", entry.Value);
    }

    [Fact]
    public void Bad_input_names_the_file_and_field()
    {
        string path = _dir.Write("bad.yaml", Rft.Replace("  epochs: 1", "  epoch: 1"));
        var unknown = Assert.Throws<DataFormatException>(() => RunConfig.Load(path));
        Assert.Equal(path, unknown.FilePath);
        Assert.Contains("line 8", unknown.Position);
        Assert.Contains("epoch", unknown.Message);

        var recipe = Assert.Throws<DataFormatException>(() => RunConfig.Parse(Rft.Replace("recipe: rft", "recipe: ppo")).Resolve("x.yaml"));
        Assert.Equal("recipe", recipe.Position);
        Assert.Contains("ppo", recipe.Message);

        var mode = Assert.Throws<DataFormatException>(() => RunConfig.Parse(Rft.Replace("mode: full", "mode: qlora")).Resolve());
        Assert.Equal("train.mode", mode.Position);

        var split = Assert.Throws<DataFormatException>(() => RunConfig.Parse(Rft + "\neval:\n  split: train\n").Resolve());
        Assert.Equal("eval.split", split.Position);

        Assert.Throws<FileNotFoundException>(() => RunConfig.Load(_dir.File("missing.yaml")));
    }

    [Fact]
    public void A_run_directory_refuses_a_different_config_naming_the_field()
    {
        var run = new RunDirectory(_dir.File("runs/small-rft"));
        RunConfig config = RunConfig.Parse(Rft).Resolve();
        run.Claim(config);
        string written = File.ReadAllText(run.ResolvedConfig);
        run.Claim(config); // same values: accepted, file untouched
        Assert.Equal(written, File.ReadAllText(run.ResolvedConfig));

        var e = Assert.Throws<ArgumentException>(() => run.Claim(config with { Rollout = config.Rollout with { Samples = 4 } }));
        Assert.Contains("rollout.samples", e.Message);
        Assert.Contains(run.ResolvedConfig, e.Message);
    }

    [Fact]
    public async Task A_stage_runs_once_and_its_marker_carries_its_results()
    {
        var ledger = new StageLedger(_dir.File("iter-01"));
        int runs = 0;
        Task<System.Text.Json.Nodes.JsonObject> Body()
        {
            runs++;
            return Task.FromResult(new System.Text.Json.Nodes.JsonObject { ["records"] = 7 });
        }
        Assert.False(ledger.IsDone("data"));
        await ledger.RunOnceAsync("data", Body);
        var again = await ledger.RunOnceAsync("data", Body);
        Assert.Equal(1, runs);
        Assert.Equal(7, again["records"]!.GetValue<int>());
        Assert.True(ledger.IsDone("data"));

        // A failing stage leaves no marker, so the next run does it again.
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.RunOnceAsync("train", () => throw new InvalidOperationException("boom")));
        Assert.False(ledger.IsDone("train"));
    }

    [Fact]
    public void The_learning_curve_plots_every_evaluated_iteration()
    {
        IterationScore[] scores =
        [
            new(0, "start model", 10, 20, 0.1, 0.9, 0.2),
            new(1, "rft iter 1", 10, 50, 0.4, 0.6, 0.1),
            new(2, "rft iter 2", 10, 65, 0.5, 0.5, 0.3),
        ];
        string svg = RunReport.LearningCurveSvg(scores, "a <b> & c");
        Assert.StartsWith("<svg", svg);
        Assert.Contains("a &lt;b&gt; &amp; c", svg);
        Assert.Equal(2, svg.Split("<polyline").Length - 1);   // reward and win rate
        Assert.Equal(6, svg.Split("<circle").Length - 1);     // three points each
        // x: iteration 0 at the left edge (50), 2 at the right (460); y = 40 + 220 * (1 - value / 100).
        Assert.Contains("points=\"50,216 255,150 460,117\"", svg);
    }
}

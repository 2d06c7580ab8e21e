using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Agents.Recipes.Runs;

/// <summary>The demo's budgets: the full demo (minutes to an hour on two cores) or the quick one (tests).</summary>
public sealed record DemoSettings
{
    public int WebShopProducts { get; init; } = 200;
    public int? TrainTasks { get; init; }
    public int EvalTasks { get; init; } = 50;

    /// <summary>WebShop expert episodes render to ~2,000 tokens with the tiny tokenizer; 2,048 drops half of them.</summary>
    public int Context { get; init; } = 4096;

    public int AgentEpochs { get; init; } = 4;
    public float AgentLearningRate { get; init; } = 3e-3f;
    public int Iterations { get; init; } = 2;
    public int RecipeEpochs { get; init; } = 1;
    public int MaxNewTokens { get; init; } = 96;
    public int? MaxSteps { get; init; }
    public int Samples { get; init; } = 2;
    /// <summary>EEF's M. Our choice 2 (EEF uses 5): WebShop expert episodes have 4-7 steps, and floor(T / (M + 1)) is 0
    /// for M = 5 below 6 steps, which plans no probe at all.</summary>
    public int Probes { get; init; } = 2;
    public int LoraRank { get; init; } = 8;
    public ulong Seed { get; init; }
    public IReadOnlyList<string> Recipes { get; init; } = [RecipeNames.Sft, RecipeNames.Rft, RecipeNames.Eef, RecipeNames.Eto, RecipeNames.Coevo];

    /// <summary>Refuses budgets below one (naming the setting) before anything runs.</summary>
    public DemoSettings Validate()
    {
        void AtLeastOne(int? value, string name)
        {
            if (value is < 1) throw new ArgumentException($"demo: {name} must be at least 1, is {value}");
        }
        AtLeastOne(WebShopProducts, "products");
        AtLeastOne(TrainTasks, "train tasks");
        AtLeastOne(EvalTasks, "eval tasks");
        AtLeastOne(Iterations, "iterations");
        AtLeastOne(AgentEpochs, "agent epochs");
        AtLeastOne(Samples, "samples");
        AtLeastOne(Probes, "probes");
        if (Recipes.Count == 0 || Recipes.Any(r => !RecipeNames.All.Contains(r)))
            throw new ArgumentException($"demo: recipes must be among {string.Join(", ", RecipeNames.All)}, are '{string.Join(",", Recipes)}'");
        return this;
    }

    /// <summary>Everything shrunk to seconds per stage: a pipeline check, not a measurement.</summary>
    public static DemoSettings Quick { get; } = new()
    {
        WebShopProducts = 50,
        TrainTasks = 4,
        EvalTasks = 2,
        AgentEpochs = 1,
        Iterations = 1,
        MaxNewTokens = 16,
        MaxSteps = 6,
        Samples = 2,
        Probes = 3,
        LoraRank = 4,
    };
}

/// <summary>
/// `coevo demo`: creates the tiny model, runs the WebShop expert over the train split, fine-tunes every weight of the
/// model on the expert successes (the base agent, pi_SFT), builds its ONNX, then runs each recipe from that agent and
/// compares them on the test split. Every step is resumable: the same command again continues.
/// </summary>
public sealed class DemoRun(string outputDirectory, DemoSettings demoSettings, Action<string>? log = null)
{
    private readonly DemoSettings _settings = demoSettings.Validate();
    private readonly StageLedger _ledger = new(Path.GetFullPath(outputDirectory));
    private readonly Action<string> _log = log ?? (_ => { });

    public string Directory => _ledger.Directory;
    public string ModelDirectory => _ledger.File("model");
    public string ExpertsPath => _ledger.File("experts.jsonl");
    public string AgentDirectory => Path.Combine(_ledger.File("agent-train"), TrainingJob.ModelFolder);
    public string ReportPath => _ledger.File("report.md");

    public async Task<IReadOnlyList<IterationScore>> RunAsync(CancellationToken stop = default)
    {
        System.IO.Directory.CreateDirectory(Directory);
        ClaimSettings();
        _ledger.RunOnce("model", CreateModel, _log);
        await _ledger.RunOnceAsync("experts", () => RunExpertsAsync(stop), _log).ConfigureAwait(false);
        _ledger.RunOnce("agent", () => TrainAgent(stop), _log);

        var rows = new List<IterationScore>();
        foreach (string recipe in _settings.Recipes)
        {
            RunConfig config = RecipeConfig(recipe).Resolve($"demo {recipe}");
            RunReport report = await new RecipeRunner(config, Path.Combine(Directory, "runs", config.Name), _log).RunAsync(stop).ConfigureAwait(false);
            if (rows.Count == 0 && report.Scores.Count > 0)
                rows.Add(report.Scores[0] with { Method = "base agent (SFT on expert successes)" });
            if (report.Final is { Iteration: > 0 } final)
                rows.Add(final with { Method = recipe });
        }
        AtomicFile.WriteAllText(ReportPath, Markdown(rows));
        _log($"report: {ReportPath}");
        return rows;
    }

    /// <summary>
    /// The model, experts and base agent are shared by every recipe: a demo directory keeps the budgets it started with
    /// (settings.json); other budgets are refused naming the first that differs. The recipe list may change.
    /// </summary>
    private void ClaimSettings()
    {
        string path = _ledger.File("settings.json");
        var mine = (JsonObject)JsonSerializer.SerializeToNode(_settings with { Recipes = [] }, SettingsJson)!;
        mine.Remove("recipes");
        if (!File.Exists(path))
        {
            AtomicFile.WriteAllText(path, mine.ToJsonString(SettingsJson) + "\n");
            return;
        }
        JsonObject stored = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataFormatException(path, "root", "expected a JSON object");
        foreach ((string name, JsonNode? value) in mine)
        {
            string? was = stored[name]?.ToJsonString();
            if (was != value?.ToJsonString())
                throw new ArgumentException($"{path}: {name} was {was ?? "(absent)"}, now {value?.ToJsonString() ?? "null"}; " +
                    "a demo directory keeps its budgets: restore the option, or choose another --out");
        }
    }

    private static readonly JsonSerializerOptions SettingsJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private JsonObject CreateModel()
    {
        if (System.IO.Directory.Exists(ModelDirectory))
            System.IO.Directory.Delete(ModelDirectory, recursive: true); // a half-written model from a killed run
        CreateTinyModel(ModelDirectory, _settings.Context, _settings.Seed);
        _log($"model {ModelDirectory}: tiny preset, context {_settings.Context}");
        return new JsonObject { ["model"] = ModelDirectory, ["context"] = _settings.Context };
    }

    /// <summary>The tiny preset with its context widened to <paramref name="context"/> (RoPE has no weights for it).</summary>
    public static string CreateTinyModel(string directory, int context, ulong seed)
    {
        ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "tiny", OutputDirectory = directory, Seed = seed });
        string configPath = Path.Combine(directory, ModelConfig.FileName);
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(configPath))!;
        config["max_position_embeddings"] = context;
        AtomicFile.WriteAllText(configPath, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return directory;
    }

    private IEnvironmentSuite OpenWebShop() =>
        EnvironmentRegistry.Open("webshop", new EnvironmentSettings { WebShopProducts = _settings.WebShopProducts });

    private async Task<JsonObject> RunExpertsAsync(CancellationToken stop)
    {
        IEnvironmentSuite suite = OpenWebShop();
        IReadOnlyList<EnvironmentTask> tasks = suite.Tasks(EnvironmentSplits.Train);
        if (_settings.TrainTasks is { } limit)
            tasks = tasks.Take(limit).ToArray();
        IReadOnlyList<RolloutWorkItem> work = RolloutPlan.Build(tasks, 1, RolloutShard.Whole, RolloutPlan.ReadFinishedKeys(ExpertsPath));
        await using (var expert = suite.CreateExpert(new ExpertOptions { Seed = _settings.Seed }))
        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(ExpertsPath))
            await new RolloutFarm(suite, expert).RunAsync(work, new TrajectoryFileSink(store), RunProgress.Rollouts("experts", _log), stop).ConfigureAwait(false);
        IReadOnlyList<Trajectory> experts = TrajectoryStore.ReadAll(ExpertsPath).Records;
        int successes = experts.Count(t => t.MeetsSuccessRule);
        _log($"experts: {experts.Count} train episodes, {successes} successes");
        return new JsonObject { ["episodes"] = experts.Count, ["successes"] = successes };
    }

    /// <summary>pi_SFT: every weight of the tiny model trained on the expert successes ("SFT POS"), then its ONNX.</summary>
    private JsonObject TrainAgent(CancellationToken stop)
    {
        var spec = new TrainingJobSpec
        {
            ModelDirectory = ModelDirectory,
            DataPath = ExpertsPath,
            DataFormat = TrajectoryFormats.Name(TrajectoryFormat.Canonical),
            OutputDirectory = _ledger.File("agent-train"),
            Lora = null,
            SuccessesOnly = true,
            Overlength = OverlengthPolicy.Skip,
            Options = new TrainingOptions
            {
                Objective = TrainingObjective.Sft,
                Epochs = _settings.AgentEpochs,
                LearningRate = _settings.AgentLearningRate,
                MicroBatchSize = 4,
                Seed = _settings.Seed,
            },
            InitSeed = _settings.Seed,
        };
        _log($"agent: full fine-tune on the expert successes, {_settings.AgentEpochs} epochs");
        TrainingJobResult result = TrainingJob.Run(spec, null, RunProgress.Training("agent", _log), stop);
        if (!result.Summary.Completed || result.FinalOutput is null)
            throw new OperationCanceledException("the base agent's training stopped; run again to resume");
        OnnxDecoderExport.Export(result.FinalOutput);
        _log($"agent {result.FinalOutput}: {result.Summary.TotalSteps} steps, loss {result.Summary.FirstLoss:0.000} -> {result.Summary.LastLoss:0.000}, " +
             $"{result.Dataset.Kept} records ({result.Dataset.SkippedTooLong} too long)");
        return new JsonObject
        {
            ["model"] = result.FinalOutput,
            ["records"] = result.Dataset.Kept,
            ["skipped_too_long"] = result.Dataset.SkippedTooLong,
            ["first_loss"] = result.Summary.FirstLoss,
            ["last_loss"] = result.Summary.LastLoss,
        };
    }

    private RunConfig RecipeConfig(string recipe) => new()
    {
        Name = recipe.Replace('+', '-'),
        Recipe = recipe,
        Env = "webshop",
        WebshopProducts = _settings.WebShopProducts,
        Model = AgentDirectory,
        Experts = ExpertsPath,
        Iterations = recipe == RecipeNames.Sft ? 1 : _settings.Iterations,
        Seed = _settings.Seed,
        Train = new RunTrainConfig { Epochs = _settings.RecipeEpochs, LoraRank = _settings.LoraRank, LoraAlpha = 2 * _settings.LoraRank },
        Rollout = new RunRolloutConfig
        {
            Samples = recipe == RecipeNames.Rft ? _settings.Samples : null,
            MaxNewTokens = _settings.MaxNewTokens,
            MaxSteps = _settings.MaxSteps,
            IncludeExample = false, // the agent was trained without the 1-shot example, and its context is small
            TaskLimit = _settings.TrainTasks,
        },
        Eval = new RunEvalConfig { Limit = _settings.EvalTasks },
        Eef = new RunEefConfig { Probes = _settings.Probes },
    };

    private string Markdown(IReadOnlyList<IterationScore> rows)
    {
        var md = new StringBuilder("# coevo demo: recipes from one base agent (tiny model, WebShop)\n\n");
        md.Append($"Synthetic WebShop with {_settings.WebShopProducts} products; " +
                  $"{(_settings.TrainTasks is { } t ? t.ToString(CultureInfo.InvariantCulture) : "all")} train tasks; " +
                  $"each recipe {_settings.Iterations} iteration(s) from the base agent; evaluated greedily on {_settings.EvalTasks} test tasks. " +
                  "Each recipe's own report: runs/<recipe>/report.md.\n\n");
        RunReport.AppendTable(md, rows);
        return md.ToString();
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Agents.Recipes.Runs;

/// <summary>The demo's budgets: the full demo (minutes to an hour on two cores) or the quick one (tests).</summary>
public sealed record DemoSettings
{
    public int WebShopProducts { get; init; } = 1000;
    /// <summary>Train tasks the expert plays (null: the whole split); the base agent learns from their successes.</summary>
    public int? TrainTasks { get; init; }

    /// <summary>The first N train tasks each recipe explores and trains on (rollouts, EEF probes, pairs, expert data):
    /// the base agent has seen every expert success, so what a recipe adds comes from its own exploration of these.</summary>
    public int RecipeTasks { get; init; } = 64;

    /// <summary>Test tasks evaluated: WebShop's whole test split (200). Constrained episodes end in ~4 steps, so an
    /// evaluation takes ~20 s; 50 tasks leave a standard error of ~4 points on the score, 200 about 2.</summary>
    public int EvalTasks { get; init; } = 200;

    /// <summary>WebShop expert episodes render to ~1,300 tokens with a 2,048-token vocabulary learned from them (longest
    /// ~2,600), ~2,100 with the built-in 1,024 one; 4,096 keeps all but a few.</summary>
    public int Context { get; init; } = 4096;

    /// <summary>The tiny model's vocabulary: its BPE tokenizer learns its merges from the built-in corpus and the expert
    /// episodes, so the shop's pages take ~1.5x fewer tokens than with the built-in 1,024-token tokenizer.</summary>
    public int Vocabulary { get; init; } = 2048;

    /// <summary>Copy warm-up before the agent's SFT (<see cref="CopyPretraining"/>): repeat tasks, and passes over them
    /// with words only (then passes with ids). The random model learns to copy (induction) after ~450 steps of 16 such
    /// tasks; agent episodes alone take millions of tokens to teach it.</summary>
    public int WarmupTasks { get; init; } = 4000;
    public int WarmupEpochs { get; init; } = 5;
    public int WarmupIdEpochs { get; init; } = 2;

    /// <summary>Passes over the expert's product choices as short samples (<see cref="DecisionPractice"/>) before the
    /// agent's SFT. Without them the agent searches well but invents product ids (test score 0); with 6 passes it chooses
    /// products (test score 11.8 with free decoding, 45.6 with constrained actions; docs/DEMO-TUNING.md).</summary>
    public int PracticeEpochs { get; init; } = 6;

    public int AgentEpochs { get; init; } = 1;
    public float AgentLearningRate { get; init; } = 2e-3f;

    /// <summary>Episodes per optimizer step of the agent's SFT: 1 gives the most steps per token, which this small model needs.</summary>
    public int AgentBatchSize { get; init; } = 1;
    public int Iterations { get; init; } = 1;
    public int RecipeEpochs { get; init; } = 1;

    /// <summary>The recipes' LoRA learning rates (SFT and DPO); null: the run config's defaults (2e-4 and 5e-5, which
    /// move this agent by less than a point in one epoch over ~50 samples; measured in docs/DEMO-TUNING.md).</summary>
    public float? RecipeLearningRate { get; init; } = 2e-3f;
    public float? RecipeDpoLearningRate { get; init; } = 1e-3f;
    public int MaxNewTokens { get; init; } = 96;

    /// <summary>Decode every action inside the page's action space (<see cref="ReActActionConstraint"/>), in rollouts and
    /// evaluations alike. The tiny agent picks products but garbles 10-character ids by a character or two; a garbled
    /// click changes nothing and the episode loops to its step limit. Constrained, the same choice clicks the product.</summary>
    public bool ConstrainActions { get; init; } = true;
    public int? MaxSteps { get; init; }
    /// <summary>RFT's rollouts per train task: 6 is EEF's compute-matched "RFT x6".</summary>
    public int Samples { get; init; } = 6;
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
        AtLeastOne(RecipeTasks, "recipe tasks");
        AtLeastOne(EvalTasks, "eval tasks");
        AtLeastOne(Iterations, "iterations");
        AtLeastOne(AgentEpochs, "agent epochs");
        AtLeastOne(AgentBatchSize, "agent batch size");
        AtLeastOne(WarmupTasks, "warm-up tasks");
        AtLeastOne(WarmupEpochs, "warm-up epochs");
        AtLeastOne(WarmupIdEpochs, "warm-up epochs with ids");
        AtLeastOne(PracticeEpochs, "practice epochs");
        if (Vocabulary < 512)
            throw new ArgumentException($"demo: vocabulary must be at least 512 (bytes and special tokens first), is {Vocabulary}");
        AtLeastOne(Samples, "samples");
        AtLeastOne(RecipeEpochs, "recipe epochs");
        if (RecipeLearningRate is <= 0 || RecipeDpoLearningRate is <= 0)
            throw new ArgumentException($"demo: recipe learning rates must be positive, are {RecipeLearningRate} and {RecipeDpoLearningRate}");
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
        RecipeTasks = 4,
        EvalTasks = 2,
        AgentEpochs = 1,
        Vocabulary = 1024,
        WarmupTasks = 32,
        WarmupEpochs = 1,
        WarmupIdEpochs = 1,
        PracticeEpochs = 1,
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
    public string WarmedModelDirectory => Path.Combine(_ledger.File("warmup-ids-train"), TrainingJob.ModelFolder);
    public string PracticedModelDirectory => Path.Combine(_ledger.File("practice-train"), TrainingJob.ModelFolder);
    public string AgentDirectory => Path.Combine(_ledger.File("agent-train"), TrainingJob.ModelFolder);
    public string ReportPath => _ledger.File("report.md");

    public async Task<IReadOnlyList<IterationScore>> RunAsync(CancellationToken stop = default)
    {
        System.IO.Directory.CreateDirectory(Directory);
        ClaimSettings();
        await _ledger.RunOnceAsync("experts", () => RunExpertsAsync(stop), _log).ConfigureAwait(false);
        _ledger.RunOnce("model", CreateModel, _log);
        _ledger.RunOnce("warmup", () => WarmUp(stop), _log);
        _ledger.RunOnce("practice", () => Practice(stop), _log);
        _ledger.RunOnce("agent", () => TrainAgent(stop), _log);

        var rows = new List<IterationScore>();
        string? baseEvaluation = null;
        foreach (string recipe in _settings.Recipes)
        {
            RunConfig config = RecipeConfig(recipe).Resolve($"demo {recipe}");
            string runDirectory = Path.Combine(Directory, "runs", config.Name);
            ShareBaseEvaluation(baseEvaluation, runDirectory);
            RunReport report = await new RecipeRunner(config, runDirectory, _log).RunAsync(stop).ConfigureAwait(false);
            baseEvaluation ??= Path.Combine(runDirectory, RunDirectory.IterationName(0));
            if (rows.Count == 0 && report.Scores.Count > 0)
                rows.Add(report.Scores[0] with { Method = "base agent (SFT on expert successes)" });
            if (report.Final is { Iteration: > 0 } final)
                rows.Add(final with { Method = recipe == RecipeNames.Rft ? $"{recipe} x{_settings.Samples}" : recipe });
        }
        AtomicFile.WriteAllText(ReportPath, Markdown(rows));
        _log($"report: {ReportPath}");
        return rows;
    }

    /// <summary>
    /// Every recipe starts from the same base agent and evaluates it greedily on the same test tasks (iteration 0), so the
    /// first run's evaluation is copied into the others instead of being played again (it is a whole stage, done marker
    /// included; a run that already has its iteration 0 keeps it).
    /// </summary>
    private static void ShareBaseEvaluation(string? evaluation, string runDirectory)
    {
        string target = Path.Combine(runDirectory, RunDirectory.IterationName(0));
        if (evaluation is null || System.IO.Directory.Exists(target))
            return;
        string staging = AtomicDirectory.CreateStaging(target);
        try
        {
            foreach (string file in System.IO.Directory.EnumerateFiles(evaluation, "*", SearchOption.AllDirectories))
            {
                string copy = Path.Combine(staging, Path.GetRelativePath(evaluation, file));
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(file, copy);
            }
            AtomicDirectory.Publish(staging, target);
        }
        catch
        {
            AtomicDirectory.DeleteQuietly(staging);
            throw;
        }
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
        CreateTinyModel(ModelDirectory, _settings.Context, _settings.Seed, _settings.Vocabulary, TrajectoryTexts.Read(ExpertsPath));
        _log($"model {ModelDirectory}: tiny preset, context {_settings.Context}, vocabulary {_settings.Vocabulary} learned from the expert episodes");
        return new JsonObject { ["model"] = ModelDirectory, ["context"] = _settings.Context, ["vocabulary"] = _settings.Vocabulary };
    }

    /// <summary>
    /// The tiny preset with its context widened to <paramref name="context"/> (RoPE has no weights for it) and, when
    /// <paramref name="tokenizerCorpus"/> is given, a tokenizer of <paramref name="vocabulary"/> tokens that also learns from it.
    /// </summary>
    public static string CreateTinyModel(string directory, int context, ulong seed, int vocabulary = TinyTokenizerFactory.DefaultVocabSize,
        IReadOnlyList<string>? tokenizerCorpus = null)
    {
        ModelDirectoryFactory.Create(new ModelDirectoryRequest
        {
            PresetName = "tiny",
            OutputDirectory = directory,
            Seed = seed,
            TokenizerVocabSize = vocabulary,
            TokenizerCorpus = tokenizerCorpus ?? [],
        });
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
        // The expert searches with the instruction's words (when they list the target on page 1): a small model learns
        // to copy them in minutes, while choosing keywords that generalise needs far more data than the demo can train on.
        await using (var expert = suite.CreateExpert(new ExpertOptions { Seed = _settings.Seed, SearchWithInstruction = true }))
        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(ExpertsPath))
            await new RolloutFarm(suite, expert).RunAsync(work, new TrajectoryFileSink(store), RunProgress.Rollouts("experts", _log), stop).ConfigureAwait(false);
        IReadOnlyList<Trajectory> experts = TrajectoryStore.ReadAll(ExpertsPath).Records;
        int successes = experts.Count(t => t.MeetsSuccessRule);
        _log($"experts: {experts.Count} train episodes, {successes} successes");
        return new JsonObject { ["episodes"] = experts.Count, ["successes"] = successes };
    }

    /// <summary>
    /// The random model learns to copy (full fine-tune) on repeat tasks made of the expert episodes' words: words alone for
    /// <see cref="DemoSettings.WarmupEpochs"/> passes, then <see cref="DemoSettings.WarmupIdEpochs"/> with ids mixed in
    /// (see <see cref="CopyPretraining"/>).
    /// </summary>
    private JsonObject WarmUp(CancellationToken stop)
    {
        CopyPretraining.Vocabulary vocabulary = CopyPretraining.VocabularyOf(TrajectoryStore.ReadAll(ExpertsPath).Records);
        _log($"warm-up: {_settings.WarmupTasks} repeat tasks over {vocabulary.Words.Count} words of the expert episodes, " +
             $"{_settings.WarmupEpochs} epochs; then {_settings.WarmupTasks} with {CopyPretraining.IdShare:P0} fresh ids, {_settings.WarmupIdEpochs} epochs");
        var result = new JsonObject();
        string model = ModelDirectory;
        foreach ((string phase, double idShare, int epochs) in new[] { ("words", 0.0, _settings.WarmupEpochs), ("ids", CopyPretraining.IdShare, _settings.WarmupIdEpochs) })
        {
            string data = _ledger.File($"warmup-{phase}.jsonl");
            DatasetFiles.WriteTrajectories(data, TrajectoryFormat.Canonical, CopyPretraining.RepeatTasks(vocabulary, _settings.WarmupTasks, _settings.Seed, idShare));
            TrainingJobResult trained = FullFineTune($"warm-up ({phase})", model, data, _ledger.File($"warmup-{phase}-train"), epochs, microBatch: 16, stop);
            model = trained.FinalOutput!; // FullFineTune returns completed runs only
            _log($"warm-up ({phase}): loss {trained.Summary.FirstLoss:0.000} -> {trained.Summary.LastLoss:0.000}");
            result[phase] = new JsonObject { ["first_loss"] = trained.Summary.FirstLoss, ["last_loss"] = trained.Summary.LastLoss };
        }
        result["model"] = model;
        return result;
    }

    /// <summary>The expert's product choices, each alone with its page, several passes (full fine-tune).</summary>
    private JsonObject Practice(CancellationToken stop)
    {
        IReadOnlyList<Trajectory> samples = DecisionPractice.IdClicks(TrajectoryStore.ReadAll(ExpertsPath).Records);
        if (samples.Count == 0)
        {
            _log("practice: no successful expert episode clicks a product id; the agent starts from the warmed-up model");
            return new JsonObject { ["samples"] = 0 };
        }
        string data = _ledger.File("practice.jsonl");
        DatasetFiles.WriteTrajectories(data, TrajectoryFormat.Canonical, samples);
        _log($"practice: {samples.Count} product choices of the expert, each with its page, {_settings.PracticeEpochs} epochs");
        TrainingJobResult trained = FullFineTune("practice", WarmedModelDirectory, data, _ledger.File("practice-train"),
            _settings.PracticeEpochs, microBatch: 8, stop);
        _log($"practice: loss {trained.Summary.FirstLoss:0.000} -> {trained.Summary.LastLoss:0.000}");
        return new JsonObject { ["samples"] = samples.Count, ["first_loss"] = trained.Summary.FirstLoss, ["last_loss"] = trained.Summary.LastLoss };
    }

    /// <summary>
    /// Every weight of <paramref name="model"/> trained by SFT on <paramref name="data"/> (canonical trajectories) at the
    /// agent's learning rate, samples longer than the context skipped; a run that did not complete stops the demo (the same
    /// command resumes it from its checkpoints).
    /// </summary>
    private TrainingJobResult FullFineTune(string stage, string model, string data, string output, int epochs, int microBatch,
        CancellationToken stop, bool successesOnly = false)
    {
        var spec = new TrainingJobSpec
        {
            ModelDirectory = model,
            DataPath = data,
            DataFormat = TrajectoryFormats.Name(TrajectoryFormat.Canonical),
            OutputDirectory = output,
            Lora = null,
            SuccessesOnly = successesOnly,
            Overlength = OverlengthPolicy.Skip,
            Options = new TrainingOptions
            {
                Objective = TrainingObjective.Sft,
                Epochs = epochs,
                LearningRate = _settings.AgentLearningRate,
                MicroBatchSize = microBatch,
                Seed = _settings.Seed,
            },
            InitSeed = _settings.Seed,
        };
        TrainingJobResult result = TrainingJob.Run(spec, null, RunProgress.Training(stage, _log), stop);
        if (!result.Summary.Completed || result.FinalOutput is null)
            throw new OperationCanceledException($"the {stage} training stopped; run again to resume");
        return result;
    }

    /// <summary>pi_SFT: every weight of the warmed-up tiny model trained on the expert successes ("SFT POS"), then its ONNX.</summary>
    private JsonObject TrainAgent(CancellationToken stop)
    {
        _log($"agent: full fine-tune on the expert successes, {_settings.AgentEpochs} epochs");
        // Without practice samples (no successful id click) the practice stage trains nothing and the agent starts warmed up.
        string start = System.IO.Directory.Exists(PracticedModelDirectory) ? PracticedModelDirectory : WarmedModelDirectory;
        TrainingJobResult result = FullFineTune("agent", start, ExpertsPath, _ledger.File("agent-train"), _settings.AgentEpochs,
            _settings.AgentBatchSize, stop, successesOnly: true);
        OnnxDecoderExport.Export(result.FinalOutput!);
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
        Train = new RunTrainConfig
        {
            Epochs = _settings.RecipeEpochs,
            LoraRank = _settings.LoraRank,
            LoraAlpha = 2 * _settings.LoraRank,
            Lr = _settings.RecipeLearningRate,
            DpoLr = _settings.RecipeDpoLearningRate,
        },
        Rollout = new RunRolloutConfig
        {
            Samples = recipe == RecipeNames.Rft ? _settings.Samples : null,
            MaxNewTokens = _settings.MaxNewTokens,
            MaxSteps = _settings.MaxSteps,
            IncludeExample = false, // the agent was trained without the 1-shot example, and its context is small
            ConstrainActions = _settings.ConstrainActions,
            TaskLimit = _settings.TrainTasks is { } all ? Math.Min(all, _settings.RecipeTasks) : _settings.RecipeTasks,
        },
        Eval = new RunEvalConfig { Limit = _settings.EvalTasks },
        Eef = new RunEefConfig { Probes = _settings.Probes },
    };

    private string Markdown(IReadOnlyList<IterationScore> rows)
    {
        var md = new StringBuilder("# coevo demo: recipes from one base agent (tiny model, WebShop)\n\n");
        string trainTasks = _settings.TrainTasks is { } t ? t.ToString(CultureInfo.InvariantCulture) : "all";
        md.Append($"Synthetic WebShop with {_settings.WebShopProducts} products, seed {_settings.Seed}. Tiny model (vocabulary " +
                  $"{_settings.Vocabulary} learned from the expert episodes, context {_settings.Context}), copy warm-up, then the base " +
                  $"agent trained on the expert successes of {trainTasks} train tasks. Each recipe: {_settings.Iterations} iteration(s) " +
                  $"from the base agent on the first {_settings.RecipeTasks} train tasks. All evaluated greedily on {_settings.EvalTasks} " +
                  "test tasks" + (_settings.ConstrainActions ? ", every action decoded inside the page's action space" : "") +
                  ". Each recipe's own report: runs/<recipe>/report.md.\n\n");
        RunReport.AppendTable(md, rows);
        return md.ToString();
    }
}

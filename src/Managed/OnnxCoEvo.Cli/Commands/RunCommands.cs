using System.Globalization;
using CommandLine;
using OnnxCoEvo.Agents.Recipes.Runs;
using OnnxCoEvo.Cli.Terminal;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

[Verb("run", HelpText = "Run a recipe (sft | rft | eef | eto | coevo | eef+coevo) as a resumable run in runs/<name>: coevo run CONFIG.yaml, or coevo run --recipe R --env E --model DIR.")]
public sealed class RunCommand : ICliCommand
{
    [Value(0, MetaName = "CONFIG", HelpText = "Run config (YAML, snake_case; see examples/recipes). Options given as well override its fields.")]
    public string? Config { get; set; }

    [Option("recipe", HelpText = "sft | rft | eef | eto | coevo | eef+coevo.")]
    public string? Recipe { get; set; }

    [Option("env", HelpText = "webshop | household | NAME@http://host:port.")]
    public string? Env { get; set; }

    [Option("env-seed", HelpText = "Seed of the synthetic catalog and worlds.")]
    public ulong? EnvSeed { get; set; }

    [Option("webshop-products", HelpText = "Products in the synthetic WebShop catalog (default 1000).")]
    public int? WebShopProducts { get; set; }

    [Option("model", HelpText = "Starting agent model directory (its onnx/ is built when missing).")]
    public string? Model { get; set; }

    [Option("experts", HelpText = "Expert trajectories of the train split (default: the scripted expert writes runs/<name>/experts.jsonl).")]
    public string? Experts { get; set; }

    [Option("name", HelpText = "Run name (default <recipe>-<env>; the run directory is runs/<name>).")]
    public string? Name { get; set; }

    [Option("iterations", HelpText = "Iterations (default: sft 1, others 3).")]
    public int? Iterations { get; set; }

    [Option("mode", HelpText = "Training: lora | full.")]
    public string? Mode { get; set; }

    [Option("epochs", HelpText = "Epochs per training stage.")]
    public int? Epochs { get; set; }

    [Option("samples", HelpText = "Rollouts per train task (RFT x6 default 6; EEF 1 from s0 plus the probes).")]
    public int? Samples { get; set; }

    [Option("temperature", HelpText = "Exploration temperature (ETO always explores greedily).")]
    public double? Temperature { get; set; }

    [Option("max-new-tokens", HelpText = "Tokens per assistant turn at most.")]
    public int? MaxNewTokens { get; set; }

    [Option("constrain-actions", HelpText = "Decode each action inside the environment's current action space (rollouts and evaluation).")]
    public bool ConstrainActions { get; set; }

    [Option("max-steps", HelpText = "Steps per episode (default: the environment's).")]
    public int? MaxSteps { get; set; }

    [Option("task-limit", HelpText = "Only the first N train tasks.")]
    public int? TaskLimit { get; set; }

    [Option("eval-limit", HelpText = "Only the first N tasks of the evaluation split.")]
    public int? EvalLimit { get; set; }

    [Option("seed", HelpText = "Seed of sampling, data order and adapter init.")]
    public ulong? Seed { get; set; }

    [Option("out", HelpText = "Run directory (default runs/<name>). Running again resumes; a different config for it is refused.")]
    public string? Out { get; set; }

    public int Run() => RunAsync().GetAwaiter().GetResult();

    private async Task<int> RunAsync()
    {
        RunConfig config = Config is null ? new RunConfig() : RunConfig.Load(Config);
        if (Config is null && (Recipe is null || Env is null || Model is null))
            throw new ArgumentException("coevo run needs CONFIG.yaml, or --recipe, --env and --model");
        config = Override(config);
        RunConfig resolved = config.Resolve(Config ?? "command line");
        var runner = new RecipeRunner(resolved, Out, line => AnsiConsole.MarkupLine(Markup.Escape(line)));
        using var stop = new CtrlCStop();
        try
        {
            RunReport report = await runner.RunAsync(stop.Token).ConfigureAwait(false);
            WriteTable(report.Scores);
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(report.ReportPath)}");
            return 0;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine($"[yellow]stopped[/]: finished stages are kept in {Markup.Escape(runner.Directory.Path)}; run the same command again to resume");
            return 1;
        }
    }

    private RunConfig Override(RunConfig c)
    {
        c = c with
        {
            Recipe = Recipe ?? c.Recipe,
            Env = Env ?? c.Env,
            EnvSeed = EnvSeed ?? c.EnvSeed,
            WebshopProducts = WebShopProducts ?? c.WebshopProducts,
            Model = Model ?? c.Model,
            Experts = Experts ?? c.Experts,
            Iterations = Iterations ?? c.Iterations,
            Seed = Seed ?? c.Seed,
            Train = c.Train with { Mode = Mode ?? c.Train.Mode, Epochs = Epochs ?? c.Train.Epochs },
            Rollout = c.Rollout with
            {
                Samples = Samples ?? c.Rollout.Samples,
                Temperature = Temperature ?? c.Rollout.Temperature,
                MaxNewTokens = MaxNewTokens ?? c.Rollout.MaxNewTokens,
                MaxSteps = MaxSteps ?? c.Rollout.MaxSteps,
                ConstrainActions = ConstrainActions || c.Rollout.ConstrainActions,
                TaskLimit = TaskLimit ?? c.Rollout.TaskLimit,
            },
            Eval = c.Eval with { Limit = EvalLimit ?? c.Eval.Limit },
        };
        string name = Name ?? (c.Name.Length > 0 ? c.Name : $"{c.Recipe}-{c.Env.Split('@')[0]}");
        return c with { Name = name };
    }

    /// <summary>The report's table on the terminal (EEF's main-table columns).</summary>
    internal static void WriteTable(IEnumerable<IterationScore> rows)
    {
        static string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        var table = new Table().AddColumns("method", "win rate %", "reward x100", "failure %", "near-success %", "episodes");
        foreach (IterationScore s in rows)
            table.AddRow(Markup.Escape(s.Method), F(100 * s.SuccessRate), F(s.Score), F(100 * s.FailureShare), F(100 * s.NearSuccessShare),
                s.Episodes.ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
    }
}

[Verb("demo", HelpText = "End to end on WebShop: tiny model, expert, base agent (SFT on expert successes), then sft, rft, eef, eto and coevo from it, compared on the test split. Resumable.")]
public sealed class DemoCommand : ICliCommand
{
    [Option("out", Default = "runs/demo", HelpText = "Demo directory (model, experts, base agent, one run per recipe, report.md).")]
    public string Out { get; set; } = "";

    [Option("quick", HelpText = "Shrink everything to seconds per stage (a pipeline check, not a measurement).")]
    public bool Quick { get; set; }

    [Option("recipes", HelpText = "Comma-separated recipes to run (default sft,rft,eef,eto,coevo).")]
    public string? Recipes { get; set; }

    [Option("seed", Default = 0UL, HelpText = "Seed of the model, the expert, sampling and training.")]
    public ulong Seed { get; set; }

    [Option("products", HelpText = "Products in the synthetic WebShop catalog (default 1000; --quick 50).")]
    public int? Products { get; set; }

    [Option("train-tasks", HelpText = "Only the first N train tasks for the expert and the base agent (default all; --quick 4).")]
    public int? TrainTasks { get; set; }

    [Option("recipe-tasks", HelpText = "The first N train tasks each recipe explores and trains on (default 64; --quick 4).")]
    public int? RecipeTasks { get; set; }

    [Option("eval-tasks", HelpText = "Test tasks evaluated (default 200, the whole test split; --quick 2).")]
    public int? EvalTasks { get; set; }

    [Option("iterations", HelpText = "Iterations of every recipe but sft (default 1).")]
    public int? Iterations { get; set; }

    [Option("practice-epochs", HelpText = "Passes over the expert's product choices before the base agent's SFT.")]
    public int? PracticeEpochs { get; set; }

    [Option("recipe-epochs", HelpText = "Epochs of each recipe's training stages.")]
    public int? RecipeEpochs { get; set; }

    [Option("recipe-lr", HelpText = "SFT learning rate of the recipes' LoRA training.")]
    public float? RecipeLr { get; set; }

    [Option("recipe-dpo-lr", HelpText = "DPO learning rate of the recipes' LoRA training (ETO, co-evolving agents).")]
    public float? RecipeDpoLr { get; set; }

    [Option("samples", HelpText = "RFT rollouts per train task (default 6: RFT x6, EEF's compute match; --quick 2).")]
    public int? Samples { get; set; }

    [Option("free-actions", HelpText = "Let the agents write actions freely (default: each action is decoded inside the page's action space).")]
    public bool FreeActions { get; set; }

    public int Run() => RunAsync().GetAwaiter().GetResult();

    private async Task<int> RunAsync()
    {
        DemoSettings defaults = Quick ? DemoSettings.Quick : new DemoSettings();
        DemoSettings settings = defaults with
        {
            Seed = Seed,
            WebShopProducts = Products ?? defaults.WebShopProducts,
            TrainTasks = TrainTasks ?? defaults.TrainTasks,
            RecipeTasks = RecipeTasks ?? defaults.RecipeTasks,
            EvalTasks = EvalTasks ?? defaults.EvalTasks,
            Iterations = Iterations ?? defaults.Iterations,
            ConstrainActions = !FreeActions && defaults.ConstrainActions,
            RecipeEpochs = RecipeEpochs ?? defaults.RecipeEpochs,
            PracticeEpochs = PracticeEpochs ?? defaults.PracticeEpochs,
            RecipeLearningRate = RecipeLr ?? defaults.RecipeLearningRate,
            RecipeDpoLearningRate = RecipeDpoLr ?? defaults.RecipeDpoLearningRate,
            Samples = Samples ?? defaults.Samples,
        };
        if (Recipes is not null)
        {
            settings = settings with { Recipes = Recipes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
        }
        var demo = new DemoRun(Out, settings, line => AnsiConsole.MarkupLine(Markup.Escape(line)));
        using var stop = new CtrlCStop();
        try
        {
            IReadOnlyList<IterationScore> rows = await demo.RunAsync(stop.Token).ConfigureAwait(false);
            RunCommand.WriteTable(rows);
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(demo.ReportPath)}");
            return 0;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine($"[yellow]stopped[/]: run the same command again to resume ({Markup.Escape(demo.Directory)})");
            return 1;
        }
    }
}

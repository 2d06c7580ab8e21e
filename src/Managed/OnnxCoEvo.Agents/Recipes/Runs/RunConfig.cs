using System.Globalization;
using System.Text;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Export;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace OnnxCoEvo.Agents.Recipes.Runs;

/// <summary>The recipes a run can follow (papers.md §4-§6).</summary>
public static class RecipeNames
{
    public const string Sft = "sft";
    public const string Rft = "rft";
    public const string Eef = "eef";
    public const string Eto = "eto";
    public const string Coevo = "coevo";
    public const string EefCoevo = "eef+coevo";

    public static IReadOnlyList<string> All { get; } = [Sft, Rft, Eef, Eto, Coevo, EefCoevo];
}

/// <summary>
/// A recipe run as written in CONFIG.yaml (snake_case keys). Nullable knobs are resolved by <see cref="Resolve"/>
/// to defaults that depend on the recipe and the training mode; every default the papers leave open says so in the
/// resolved file (papers.md §8.10).
/// </summary>
public sealed record RunConfig
{
    public string Name { get; init; } = "";
    public string Recipe { get; init; } = "";
    public string Env { get; init; } = "webshop";
    public ulong EnvSeed { get; init; }
    public int WebshopProducts { get; init; } = 1000;
    public string Model { get; init; } = "";
    public string? Experts { get; init; }
    public int? Iterations { get; init; }
    public ulong Seed { get; init; }
    public RunTrainConfig Train { get; init; } = new();
    public RunRolloutConfig Rollout { get; init; } = new();
    public RunEvalConfig Eval { get; init; } = new();
    public RunEtoConfig Eto { get; init; } = new();
    public RunEefConfig Eef { get; init; } = new();
    public RunCoevoConfig Coevo { get; init; } = new();

    /// <summary>Optional: export the final adapters after the last iteration (absent: no export stage).</summary>
    public RunExportConfig? Export { get; init; }

    public const string ResolvedFileName = "config.resolved.yaml";

    public bool IsCoevo => Recipe is RecipeNames.Coevo or RecipeNames.EefCoevo;
    public bool UsesEef => Recipe is RecipeNames.Eef or RecipeNames.EefCoevo;

    /// <summary>Reads CONFIG.yaml; an unknown key or a bad value is an error naming the file and line.</summary>
    public static RunConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"run config '{path}' does not exist", path);
        }
        return Parse(text, path);
    }

    public static RunConfig Parse(string yaml, string sourceName = "<memory>")
    {
        IDeserializer deserializer = new DeserializerBuilder()
            .WithNamingConvention(UnderscoredNamingConvention.Instance)
            .Build();
        try
        {
            return deserializer.Deserialize<RunConfig?>(yaml) ?? new RunConfig();
        }
        catch (YamlException e)
        {
            string problem = e.InnerException?.Message ?? e.Message;
            throw new DataFormatException(sourceName, $"line {e.Start.Line}, column {e.Start.Column}", problem, e);
        }
    }

    /// <summary>
    /// Fills every default and checks every value; paths become absolute (relative ones are taken from the current
    /// directory, as every other verb does).
    /// </summary>
    public RunConfig Resolve(string sourceName = "<config>")
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new DataFormatException(sourceName, field, problem);
        }

        Require(Name.Length > 0 && Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && Name is not "." and not "..", "name",
            $"must be a non-empty directory name, is '{Name}'");
        Require(RecipeNames.All.Contains(Recipe), "recipe", $"must be one of {string.Join(", ", RecipeNames.All)}, is '{Recipe}'");
        Require(Env.Length > 0, "env", "must name an environment (webshop | household | NAME@http://host:port)");
        Require(Model.Length > 0, "model", "must name the starting model directory (Hugging Face layout)");
        Require(WebshopProducts >= 1, "webshop_products", $"must be at least 1, is {WebshopProducts}");
        int iterations = Iterations ?? (Recipe == RecipeNames.Sft ? 1 : 3);
        Require(iterations >= 1, "iterations", $"must be at least 1, is {iterations}");

        bool full = Train.Mode switch
        {
            "lora" => false,
            "full" => true,
            _ => throw new DataFormatException(sourceName, "train.mode", $"must be lora or full, is '{Train.Mode}'"),
        };
        Require(Train.Epochs >= 1, "train.epochs", $"must be at least 1, is {Train.Epochs}");
        Require(Train.BatchSize >= 1, "train.batch_size", $"must be at least 1, is {Train.BatchSize}");
        Require(Train.GradAccum >= 1, "train.grad_accum", $"must be at least 1, is {Train.GradAccum}");
        Require(Train.LoraRank >= 1, "train.lora_rank", $"must be at least 1, is {Train.LoraRank}");
        Require(Train.MaxLength is null or >= 2, "train.max_length", $"must be at least 2, is {Train.MaxLength}");
        Require(Train.CheckpointEvery >= 0, "train.checkpoint_every", $"must be >= 0, is {Train.CheckpointEvery}");
        float lr = Train.Lr ?? (full ? 1e-4f : 2e-4f);
        float dpoLr = Train.DpoLr ?? (full ? 5e-6f : 5e-5f);
        Require(lr > 0, "train.lr", $"must be positive, is {lr}");
        Require(dpoLr > 0, "train.dpo_lr", $"must be positive, is {dpoLr}");

        int samples = Rollout.Samples ?? (Recipe == RecipeNames.Rft ? 6 : 1);
        double temperature = Recipe == RecipeNames.Eto ? 0 : Rollout.Temperature ?? 0.7;
        Require(samples >= 1, "rollout.samples", $"must be at least 1, is {samples}");
        Require(temperature >= 0, "rollout.temperature", $"must be >= 0, is {temperature}");
        Require(Rollout.MaxNewTokens >= 1, "rollout.max_new_tokens", $"must be at least 1, is {Rollout.MaxNewTokens}");
        Require(Rollout.Concurrency >= 1, "rollout.concurrency", $"must be at least 1, is {Rollout.Concurrency}");
        Require(Rollout.TaskLimit is null or >= 1, "rollout.task_limit", $"must be at least 1, is {Rollout.TaskLimit}");
        Require(Rollout.MaxSteps is null or >= 1, "rollout.max_steps", $"must be at least 1, is {Rollout.MaxSteps}");
        Require(Eval.Limit is null or >= 1, "eval.limit", $"must be at least 1, is {Eval.Limit}");
        Require(Eval.Split.Length > 0, "eval.split", "must name a split");
        Require(Eval.Split != "train", "eval.split", "must be a held-out split, not train (papers.md §8.9)");

        float[] betas = Eto.Beta ?? [0.1f, 0.5f];
        float[] etoLr = Eto.Lr ?? [dpoLr, dpoLr / 2];
        Require(betas.Length > 0 && betas.All(b => b > 0), "eto.beta", "must list positive betas (one per iteration, the last repeats)");
        Require(etoLr.Length > 0 && etoLr.All(b => b > 0), "eto.lr", "must list positive learning rates (one per iteration, the last repeats)");
        Require(Eef.Probes >= 1, "eef.probes", $"must be at least 1, is {Eef.Probes}");
        Require(Coevo.Beta > 0, "coevo.beta", $"must be positive, is {Coevo.Beta}");
        Require(Coevo.DpoWeight >= 0 && Coevo.SftWeight >= 0 && Coevo.DpoWeight + Coevo.SftWeight > 0, "coevo.dpo_weight",
            "dpo_weight and sft_weight must be >= 0 and not both 0");
        Require(Coevo.NearSuccessFloor is > 0 and < 1, "coevo.near_success_floor", $"must be in (0, 1), is {Coevo.NearSuccessFloor}");
        Require(Coevo.MaxPairsPerTask >= 1, "coevo.max_pairs_per_task", $"must be at least 1, is {Coevo.MaxPairsPerTask}");

        if (Export is { } export)
        {
            Require(export.Formats.Count > 0, "export.formats", $"must list at least one of {string.Join(", ", RunExportConfig.FormatNames)}");
            foreach (string format in export.Formats)
                Require(RunExportConfig.FormatNames.Contains(format), "export.formats", $"must list {string.Join(", ", RunExportConfig.FormatNames)}, has '{format}'");
            Require(export.Dtype is "f32" or "f16", "export.dtype", $"must be f32 or f16, is '{export.Dtype}'");
            Require(!full, "export", "exports LoRA adapters; with train.mode full the run's model folder is already the tuned model");
        }

        return this with
        {
            Model = Path.GetFullPath(Model),
            Experts = Experts is null ? null : Path.GetFullPath(Experts),
            Iterations = iterations,
            Train = Train with
            {
                Lr = lr,
                DpoLr = dpoLr,
                RestartFromBase = Train.RestartFromBase ?? Recipe is RecipeNames.Rft or RecipeNames.Eef,
            },
            Rollout = Rollout with { Samples = samples, Temperature = temperature },
            Eto = Eto with { Beta = betas, Lr = etoLr },
        };
    }

    /// <summary>Every field of a resolved config with its value as YAML text and a comment (why that default).</summary>
    public IReadOnlyList<RunConfigEntry> Entries()
    {
        static string S(string? s) => s is null ? "null" : "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string I(long? v) => v is { } x ? x.ToString(CultureInfo.InvariantCulture) : "null";
        static string B(bool? v) => v is { } b ? (b ? "true" : "false") : "null";
        static string NF(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string L(float[]? v) => v is null ? "null" : "[" + string.Join(", ", v.Select(NF)) + "]";
        const string Ours = "our choice";
        return
        [
            new("", "name", S(Name), "run directory runs/<name>"),
            new("", "recipe", S(Recipe), string.Join(" | ", RecipeNames.All)),
            new("", "env", S(Env), "webshop | household | NAME@http://host:port"),
            new("", "env_seed", EnvSeed.ToString(CultureInfo.InvariantCulture), "seed of the synthetic catalog / worlds"),
            new("", "webshop_products", I(WebshopProducts), "products in the synthetic WebShop catalog"),
            new("", "model", S(Model), "starting agent (pi_SFT in the papers); its onnx/ is built when missing"),
            new("", "experts", S(Experts), "expert trajectories of the train split; null: the scripted expert writes them"),
            new("", "iterations", I(Iterations), "sft 1; rft/eef/eto/coevo 3 (EEF: K = 3, ETO: 3; co-evolving: " + Ours + ")"),
            new("", "seed", Seed.ToString(CultureInfo.InvariantCulture), "seeds sampling, data order and adapter init"),
            new("train", "mode", S(Train.Mode), "lora | full (EEF: unknown, " + Ours + ")"),
            new("train", "lr", NF(Train.Lr ?? 0), "SFT learning rate (" + Ours + "; ETO's 2e-5 is for full 7B fine-tuning)"),
            new("train", "dpo_lr", NF(Train.DpoLr ?? 0), "DPO learning rate of co-evolving agents and ETO's default (" + Ours + ")"),
            new("train", "epochs", I(Train.Epochs), "ETO: 3"),
            new("train", "batch_size", I(Train.BatchSize), "micro-batch (" + Ours + " for CPU; ETO: global 64)"),
            new("train", "grad_accum", I(Train.GradAccum), "micro-batches per optimizer step"),
            new("train", "lora_rank", I(Train.LoraRank), Ours),
            new("train", "lora_alpha", N(Train.LoraAlpha), Ours),
            new("train", "max_length", I(Train.MaxLength), "null: the model's context; longer samples are skipped and counted"),
            new("train", "restart_from_base", B(Train.RestartFromBase), "RFT/EEF: each iteration trains from the starting model (classic RFT; EEF unknown, " + Ours + ")"),
            new("train", "checkpoint_every", I(Train.CheckpointEvery), "optimizer steps between checkpoints (a killed run resumes from the last)"),
            new("rollout", "samples", I(Rollout.Samples), "per train task from s0: RFT x6 (EEF's compute match); EEF 1 + M probes = 6"),
            new("rollout", "temperature", N(Rollout.Temperature ?? 0), "ETO explores greedily (forced 0); others 0.7 (" + Ours + ", ETO's sampling config)"),
            new("rollout", "max_new_tokens", I(Rollout.MaxNewTokens), "per assistant turn"),
            new("rollout", "include_example", B(Rollout.IncludeExample), "1-shot example in the inference prompt (ETO), never in training data"),
            new("rollout", "constrain_actions", B(Rollout.ConstrainActions), "decode actions inside the state's action space (" + Ours + "; the papers generate freely)"),
            new("rollout", "concurrency", I(Rollout.Concurrency), "episodes in flight"),
            new("rollout", "task_limit", I(Rollout.TaskLimit), "first N train tasks only (small runs); null: all"),
            new("rollout", "max_steps", I(Rollout.MaxSteps), "null: the environment's"),
            new("eval", "split", S(Eval.Split), "held-out split, evaluated greedily after every iteration"),
            new("eval", "limit", I(Eval.Limit), "first N tasks only; null: all"),
            new("eto", "beta", L(Eto.Beta), "per iteration, the last repeats (ETO: 0.1 then 0.5)"),
            new("eto", "lr", L(Eto.Lr), "per iteration (ETO: 1e-6 then 5e-7 for full 7B; here dpo_lr then half, " + Ours + ")"),
            new("eef", "probes", I(Eef.Probes), "M, states probed per failed expert trajectory (EEF: 5)"),
            new("eef", "recovery", B(Eef.Recovery), "add recovery samples after harmful segments (construction unknown, " + Ours + ")"),
            new("eef", "only_unsolved", B(Eef.OnlyUnsolved), "samples only for tasks the student fails from s0 (EEF's important subtasks)"),
            new("coevo", "beta", NF(Coevo.Beta), "DPO beta of both agents (unknown; ETO's first-iteration value, " + Ours + ")"),
            new("coevo", "dpo_weight", NF(Coevo.DpoWeight), "target loss weight of DPO (paper: 0.5)"),
            new("coevo", "sft_weight", NF(Coevo.SftWeight), "target loss weight of the chosen-side SFT (paper: 0.5)"),
            new("coevo", "near_success_floor", N(Coevo.NearSuccessFloor), "hard negatives: reward in [floor, 1) (paper's analysis threshold 0.6)"),
            new("coevo", "max_pairs_per_task", I(Coevo.MaxPairsPerTask), "per task and pair type (mixing unknown, " + Ours + ")"),
            .. Export is { } export
                ? new RunConfigEntry[]
                {
                    new("export", "formats", "[" + string.Join(", ", export.Formats) + "]", "final adapters exported after the last iteration: " + string.Join(" | ", RunExportConfig.FormatNames)),
                    new("export", "dtype", S(export.Dtype), "merged model's element type: f32 | f16"),
                    new("export", "verify", B(export.Verify), "load each export in ONNX Runtime and compare with the trainer's forward"),
                }
                : [],
        ];
    }

    /// <summary>The resolved config as commented YAML (what runs/&lt;name&gt;/config.resolved.yaml holds).</summary>
    public string ToYaml()
    {
        var text = new StringBuilder("# Resolved run config: every default filled in; \"our choice\" marks what the papers leave open (papers.md §8.10).\n# Rerunning this run needs the same values.\n");
        string? section = null;
        foreach (RunConfigEntry entry in Entries())
        {
            if (entry.Section != section && entry.Section.Length > 0)
                text.Append(entry.Section).Append(":\n");
            section = entry.Section;
            string line = (entry.Section.Length > 0 ? "  " : "") + entry.Key + ": " + entry.Value;
            text.Append(line.PadRight(44)).Append(" # ").Append(entry.Comment).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The first field whose value differs from <paramref name="other"/>'s, as "section.key", or null.</summary>
    public RunConfigEntry? FirstDifference(RunConfig other, out string? otherValue)
    {
        Dictionary<string, string> theirs = other.Entries().ToDictionary(e => e.Field, e => e.Value, StringComparer.Ordinal);
        foreach (RunConfigEntry mine in Entries())
        {
            if (mine.Section == RunExportConfig.Section)
                continue; // what is exported does not change the experiment: it may be added or changed on a rerun
            if (!theirs.TryGetValue(mine.Field, out otherValue) || otherValue != mine.Value)
            {
                theirs.TryGetValue(mine.Field, out otherValue);
                return mine;
            }
        }
        otherValue = null;
        return null;
    }
}

/// <summary>One field of the resolved config.</summary>
public sealed record RunConfigEntry(string Section, string Key, string Value, string Comment)
{
    public string Field => Section.Length == 0 ? Key : Section + "." + Key;
}

public sealed record RunTrainConfig
{
    public string Mode { get; init; } = "lora";
    public float? Lr { get; init; }
    public float? DpoLr { get; init; }
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 4;
    public int GradAccum { get; init; } = 1;
    public int LoraRank { get; init; } = 16;
    public double LoraAlpha { get; init; } = 32;
    public int? MaxLength { get; init; }
    public bool? RestartFromBase { get; init; }
    public int CheckpointEvery { get; init; } = 50;

    public bool Full => Mode == "full";
}

public sealed record RunRolloutConfig
{
    public int? Samples { get; init; }
    public double? Temperature { get; init; }
    public int MaxNewTokens { get; init; } = 128;
    public bool IncludeExample { get; init; } = true;
    public bool ConstrainActions { get; init; }
    public int Concurrency { get; init; } = 64;
    public int? TaskLimit { get; init; }
    public int? MaxSteps { get; init; }
}

public sealed record RunEvalConfig
{
    public string Split { get; init; } = "test";
    public int? Limit { get; init; }
}

public sealed record RunEtoConfig
{
    public float[]? Beta { get; init; }
    public float[]? Lr { get; init; }

    public float BetaAt(int iteration) => At(Beta!, iteration);
    public float LrAt(int iteration) => At(Lr!, iteration);
    private static float At(float[] values, int iteration) => values[Math.Min(iteration - 1, values.Length - 1)];
}

public sealed record RunEefConfig
{
    public int Probes { get; init; } = 5;
    public bool Recovery { get; init; } = true;
    public bool OnlyUnsolved { get; init; } = true;
}

public sealed record RunCoevoConfig
{
    public float Beta { get; init; } = 0.1f;
    public float DpoWeight { get; init; } = 0.5f;
    public float SftWeight { get; init; } = 0.5f;
    public double NearSuccessFloor { get; init; } = EvaluationReport.NearSuccessFloor;
    public int MaxPairsPerTask { get; init; } = 2;
}

public sealed record RunExportConfig
{
    public const string Section = "export";

    /// <summary>onnx-adapter (ONNX Runtime adapter for the model's onnx/), peft, merged (standalone ORT GenAI folder).</summary>
    public static IReadOnlyList<string> FormatNames => ExportFormats.Names;

    public List<string> Formats { get; init; } = [];
    public string Dtype { get; init; } = "f32";
    public bool Verify { get; init; } = true;
}

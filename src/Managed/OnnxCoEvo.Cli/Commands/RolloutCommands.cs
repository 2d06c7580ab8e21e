using System.Globalization;
using CommandLine;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Core.Trajectories;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

/// <summary>Options that pick and build an environment (built-in or remote).</summary>
public abstract class EnvironmentOptions
{
    [Option("env", Required = true, HelpText = "webshop | household | NAME@http://host:port (an AgentGym-compatible server; NAME is the built-in twin).")]
    public string Env { get; set; } = "";

    [Option("env-seed", Default = 0UL, HelpText = "Seed of the synthetic WebShop catalog and the household worlds.")]
    public ulong EnvSeed { get; set; }

    [Option("webshop-data", HelpText = "Directory with WebShop's own items_shuffle*.json / items_ins_v2*.json / items_human_ins.json (default: the synthetic catalog).")]
    public string? WebShopData { get; set; }

    [Option("webshop-products", Default = 1000, HelpText = "Products in the synthetic WebShop catalog.")]
    public int WebShopProducts { get; set; }

    protected IEnvironmentSuite OpenEnvironment() => EnvironmentRegistry.Open(Env, new EnvironmentSettings
    {
        Seed = EnvSeed,
        WebShopDataDirectory = WebShopData,
        WebShopProducts = WebShopProducts,
    });
}

/// <summary>Options and the run loop shared by `expert`, `rollout` and `eval`: tasks of a split through the rollout farm into a resumable trajectories file.</summary>
public abstract class RolloutCommandBase : EnvironmentOptions, ICliCommand
{
    [Option("split", HelpText = "Task split: train | test (household also test_seen, test_unseen). Default: train, or test for eval.")]
    public string? Split { get; set; }

    [Option("limit", HelpText = "Only the first N tasks of the split.")]
    public int? Limit { get; set; }

    [Option("concurrency", Default = 64, HelpText = "Episodes in flight; each turn is one batched policy call over all of them.")]
    public int Concurrency { get; set; }

    [Option("max-steps", HelpText = "Steps per episode (default: the environment's: webshop 10, household 40).")]
    public int? MaxSteps { get; set; }

    [Option("time-limit", HelpText = "Wall-clock seconds per episode; slower episodes end with end_reason time_limit.")]
    public double? TimeLimit { get; set; }

    [Option("shard", HelpText = "i/n: run only tasks whose index % n == i (one worker of n, each with its own --out).")]
    public string? Shard { get; set; }

    [Option("seed", Default = 0UL, HelpText = "Seed of the policy's decisions (expert failure draws, sampling).")]
    public ulong Seed { get; set; }

    [Option("no-failures", HelpText = "Expert policy: never apply a failure mode (the expert at its best).")]
    public bool NoFailures { get; set; }

    [Option("search-with-instruction", HelpText = "Expert policy (webshop): the good search repeats the instruction's words when " +
        "they list the target on the first page (keywords otherwise); the style a small model learns fastest.")]
    public bool SearchWithInstruction { get; set; }

    [Option("failure-rates", HelpText = "Expert policy: override failure-mode rates, e.g. wrong_item=0.2,missing_option=0 (see `coevo env info`).")]
    public string? FailureRates { get; set; }

    [Option("adapter", HelpText = "Model policy: a LoRA adapter, a PEFT folder or an .onnx_adapter file.")]
    public string? Adapter { get; set; }

    [Option("temperature", Default = 0.0, HelpText = "Model policy: sampling temperature (0 = greedy).")]
    public double Temperature { get; set; }

    [Option("top-k", Default = 0, HelpText = "Model policy: sample among the k most likely tokens (0 = all).")]
    public int TopK { get; set; }

    [Option("top-p", Default = 1.0, HelpText = "Model policy: nucleus sampling mass (1 = off).")]
    public double TopP { get; set; }

    [Option("max-new-tokens", Default = 128, HelpText = "Model policy: tokens per assistant turn at most.")]
    public int MaxNewTokens { get; set; }

    [Option("no-icl", HelpText = "Model policy: leave the in-context example out of the prompt.")]
    public bool NoIcl { get; set; }

    [Option("constrain-actions", HelpText = "Model policy: decode each action inside the environment's current action space " +
        "(a click names a clickable, a command is admissible); the thought stays free.")]
    public bool ConstrainActions { get; set; }

    [Option("no-kv-reuse", HelpText = "Model policy: re-encode the whole conversation every turn instead of reusing the episode's KV cache.")]
    public bool NoKvReuse { get; set; }

    [Option("provider", Default = OrtExecutionProvider.Cpu, HelpText = "Model policy: ONNX Runtime execution provider: cpu | cuda | webgpu (cuda/webgpu need an ONNX Runtime build that has them, see COEVO_ORT_LIB).")]
    public OrtExecutionProvider Provider { get; set; }

    /// <summary>The model-policy knobs above (ignored by the expert, except --adapter, which it refuses).</summary>
    protected ModelPolicyOptions ModelOptions() => new()
    {
        Adapter = Adapter,
        Sampling = new Onnx.Generation.SamplingOptions { Temperature = Temperature, TopK = TopK, TopP = TopP },
        MaxNewTokens = MaxNewTokens,
        IncludeExample = !NoIcl,
        ReuseKvCache = !NoKvReuse,
        ConstrainActions = ConstrainActions,
        Seed = Seed,
        Provider = Provider,
    };

    protected abstract string DefaultSplit { get; }
    protected virtual string PolicySpec => PolicyFactory.Expert;
    protected virtual int SamplesPerTask => 1;
    protected abstract string OutputFile(IEnvironmentSuite suite, string split);
    protected virtual void AfterRun(EvaluationReport report, string outputFile) { }

    public int Run() => RunAsync().GetAwaiter().GetResult();

    private async Task<int> RunAsync()
    {
        IEnvironmentSuite suite = OpenEnvironment();
        string split = Split ?? DefaultSplit;
        IReadOnlyList<EnvironmentTask> tasks = suite.Tasks(split);
        if (Limit is { } limit)
        {
            if (limit < 1) throw new ArgumentException($"--limit must be at least 1, got {limit}");
            tasks = tasks.Take(limit).ToArray();
        }
        RolloutShard shard = Shard is null ? RolloutShard.Whole : RolloutShard.Parse(Shard);
        string output = OutputFile(suite, split);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(output));
        if (directory is not null) Directory.CreateDirectory(directory);

        IReadOnlySet<string> finished = RolloutPlan.ReadFinishedKeys(output);
        IReadOnlyList<RolloutWorkItem> work = RolloutPlan.Build(tasks, SamplesPerTask, shard, finished);
        var expertOptions = new ExpertOptions { Seed = Seed, NoFailures = NoFailures, SearchWithInstruction = SearchWithInstruction, FailureRates = PolicyFactory.ParseFailureRates(FailureRates) };
        await using IPolicy policy = PolicyFactory.Create(PolicySpec, suite, expertOptions, ModelOptions());
        var options = new RolloutOptions
        {
            Concurrency = Concurrency,
            MaxSteps = MaxSteps,
            EpisodeTimeLimit = TimeLimit is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };

        AnsiConsole.MarkupLine($"{Markup.Escape(suite.Name)} {Markup.Escape(split)}: {tasks.Count} tasks" +
            (shard.Count > 1 ? $", shard {shard}" : "") + $", policy {Markup.Escape(policy.Name)}, " +
            (finished.Count > 0 ? $"{finished.Count} episodes already in {Markup.Escape(output)}, " : "") + $"{work.Count} to run");

        RolloutSummary? summary = null;
        if (work.Count > 0)
        {
            using var stop = new CtrlCStop();
            try
            {
                using TrajectoryStore store = TrajectoryStore.OpenForAppend(output);
                var farm = new RolloutFarm(suite, policy, options);
                summary = await RolloutProgressView.RunAsync(suite.Name, work.Count,
                    progress => farm.RunAsync(work, new TrajectoryFileSink(store), progress, stop.Token)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                AnsiConsole.MarkupLine($"[yellow]stopped[/]: finished episodes are in {Markup.Escape(output)}; run the same command again to resume");
                return 1;
            }
        }

        // Report over everything the file holds for this split (earlier runs included).
        var taskIds = tasks.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        List<Trajectory> all = File.Exists(output)
            ? TrajectoryStore.ReadAll(output).Records.Where(t => taskIds.Contains(t.TaskId)).ToList()
            : [];
        EvaluationReport report = EvaluationReport.From(suite.Name, split, policy.Name, all, summary);
        WriteReport(report, summary, output);
        AfterRun(report, output);
        return summary is { Errors: > 0 } ? 1 : 0;
    }

    private static void WriteReport(EvaluationReport r, RolloutSummary? run, string output)
    {
        string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);
        var table = new KeyValueTable();
        table.Add("episodes", $"{r.Episodes} ({Path.GetFullPath(output)})");
        table.Add("score (mean reward x100)", F(r.Score));
        table.Add("success rate (reward = 1)", $"{F(100 * r.SuccessRate)}% ({r.Successes})");
        table.Add("near-success failures (0.6 <= r < 1)", $"{F(100 * r.NearSuccessShare)}%");
        table.Add("mean steps", F(r.MeanSteps, "0.00"));
        table.Add("end reasons", string.Join(", ", r.EndReasons.Select(kv => $"{kv.Key} {kv.Value}")));
        if (run is not null)
        {
            table.Add("this run", $"{run.Episodes} episodes, {run.Steps} steps in {F(run.Elapsed.TotalSeconds, "0.00")} s " +
                $"(policy {F(run.PolicyTime.TotalSeconds, "0.00")} s, environment {F(run.EnvironmentTime.TotalSeconds, "0.00")} s)");
            table.Add("throughput", $"{F(run.EpisodesPerSecond)} episodes/s, {F(run.StepsPerSecond)} steps/s" +
                (run.GeneratedTokens > 0 ? $", {F(run.GeneratedTokensPerSecond)} policy tokens/s" : ", policy tokens/s n/a (scripted)"));
            if (run.Errors > 0)
                table.Add("errors", $"{run.Errors} episodes failed and were not written (first: {run.FirstError}); rerun to retry them");
        }
        table.Write();
    }
}

[Verb("expert", HelpText = "Run the environment's scripted expert (with realistic failures) over a split and write its trajectories.")]
public sealed class ExpertCommand : RolloutCommandBase
{
    [Option("out", Required = true, HelpText = "Trajectories file (canonical JSONL); running again resumes, skipping tasks already written.")]
    public string Out { get; set; } = "";

    protected override string DefaultSplit => EnvironmentSplits.Train;
    protected override string OutputFile(IEnvironmentSuite suite, string split) => Out;
}

[Verb("rollout", HelpText = "Run a policy over a split with the rollout farm (many episodes at once) and write trajectories.")]
public sealed class RolloutCommand : RolloutCommandBase
{
    [Option("policy", Default = "expert", HelpText = "Policy: expert (the environment's scripted expert) | onnx:DIR (a model directory with onnx/ inside, or the onnx folder).")]
    public string Policy { get; set; } = "";

    [Option("out", Required = true, HelpText = "Trajectories file (canonical JSONL); running again resumes.")]
    public string Out { get; set; } = "";

    [Option("samples", Default = 1, HelpText = "Rollouts per task (RFT samples n per task).")]
    public int Samples { get; set; }

    protected override string DefaultSplit => EnvironmentSplits.Train;
    protected override string PolicySpec => Policy;
    protected override int SamplesPerTask => Samples;
    protected override string OutputFile(IEnvironmentSuite suite, string split) => Out;
}

[Verb("eval", HelpText = "Evaluate a policy on a split: prints mean reward x100 and success rate, writes summary.json and the trajectories.")]
public sealed class EvalCommand : RolloutCommandBase
{
    [Option("policy", Default = "expert", HelpText = "Policy: expert (the environment's scripted expert) | onnx:DIR (a model directory with onnx/ inside, or the onnx folder).")]
    public string Policy { get; set; } = "";

    [Option("out", HelpText = "Output directory for trajectories.jsonl and summary.json (default runs/eval/<env>-<split>-<policy>). Running again resumes.")]
    public string? Out { get; set; }

    [Option("json", HelpText = "Also write the summary JSON here.")]
    public string? Json { get; set; }

    protected override string DefaultSplit => EnvironmentSplits.Test;
    protected override string PolicySpec => Policy;

    private string Directory(IEnvironmentSuite suite, string split) =>
        Out ?? Path.Combine("runs", "eval", $"{suite.Name}-{split}-{Policy.Replace(':', '_').Replace('/', '_')}");

    protected override string OutputFile(IEnvironmentSuite suite, string split) => Path.Combine(Directory(suite, split), "trajectories.jsonl");

    protected override void AfterRun(EvaluationReport report, string outputFile)
    {
        string summary = Path.Combine(Path.GetDirectoryName(outputFile)!, "summary.json");
        report.Write(summary);
        if (Json is not null)
            report.Write(Json);
        AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(Json ?? summary)}");
    }
}

using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using CommandLine;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Onnx.Generation;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

/// <summary>One measured farm run of the model policy, with the KV cache reused across turns or re-encoded each turn.</summary>
public sealed record RolloutBenchRun(string Mode, int Episodes, long Steps, int PolicyCalls, long PromptTokens, long ReusedTokens,
    long PrefillTokens, double PrefillSeconds, long GeneratedTokens, double DecodeSeconds, double PolicySeconds, double WallSeconds)
{
    public double PrefillTokensPerSecond => PrefillSeconds > 0 ? PrefillTokens / PrefillSeconds : 0;
    public double DecodeTokensPerSecond => DecodeSeconds > 0 ? GeneratedTokens / DecodeSeconds : 0;
    public double EpisodesPerSecond => WallSeconds > 0 ? Episodes / WallSeconds : 0;
}

/// <summary>`coevo bench rollout` results: both runs and how much the KV reuse buys.</summary>
public sealed record RolloutBenchReport(string Command, DateTimeOffset StartedUtc, string Policy, string Environment, int Episodes, int Turns,
    int MaxNewTokens, RolloutBenchRun Reuse, RolloutBenchRun Reencode, bool SameTrajectories)
{
    /// <summary>Episodes/s with the cache reused over episodes/s with re-encoding.</summary>
    public double EpisodesPerSecondRatio => Reencode.EpisodesPerSecond > 0 ? Reuse.EpisodesPerSecond / Reencode.EpisodesPerSecond : 0;

    /// <summary>Policy time re-encoding over policy time reusing (the model-side speed-up).</summary>
    public double PolicyTimeRatio => Reuse.PolicySeconds > 0 ? Reencode.PolicySeconds / Reuse.PolicySeconds : 0;

    /// <summary>Tokens prefilled re-encoding over tokens prefilled reusing.</summary>
    public double PrefillTokensRatio => Reuse.PrefillTokens > 0 ? (double)Reencode.PrefillTokens / Reuse.PrefillTokens : 0;
}

[Verb("rollout", HelpText = "Measure a model policy in the rollout farm: prefill and decode tokens/s and episodes/s, reusing each episode's KV cache across turns and re-encoding, in one run.")]
public sealed class BenchRolloutCommand : ICliCommand
{
    [Option("policy", Required = true, HelpText = "onnx:DIR (a model directory with onnx/ inside, or the onnx folder).")]
    public string Policy { get; set; } = "";

    [Option("adapter", HelpText = "A LoRA adapter: a PEFT folder or an .onnx_adapter file.")]
    public string? Adapter { get; set; }

    [Option("env", Default = "webshop", HelpText = "webshop | household.")]
    public string Env { get; set; } = "";

    [Option("env-seed", Default = 0UL, HelpText = "Seed of the environment's catalog and worlds.")]
    public ulong EnvSeed { get; set; }

    [Option("episodes", Default = 4, HelpText = "Episodes per run (the first tasks of the train split), all in flight at once.")]
    public int Episodes { get; set; }

    [Option("turns", Default = 3, HelpText = "Steps per episode (the farm's max steps).")]
    public int Turns { get; set; }

    [Option("max-new-tokens", Default = 24, HelpText = "Tokens per assistant turn at most (greedy decoding).")]
    public int MaxNewTokens { get; set; }

    [Option("no-icl", HelpText = "Leave the in-context example out of the prompt (shorter prompts).")]
    public bool NoIcl { get; set; }

    [Option("constrain-actions", HelpText = "Decode each action inside the environment's current action space (as the demo's agents do).")]
    public bool ConstrainActions { get; set; }

    [Option("provider", Default = OrtExecutionProvider.Cpu, HelpText = "ONNX Runtime execution provider: cpu | cuda | webgpu.")]
    public OrtExecutionProvider Provider { get; set; }

    [Option("json", MetaValue = "FILE", HelpText = "Also write the results as JSON to FILE (atomically).")]
    public string? JsonPath { get; set; }

    public int Run() => RunAsync().GetAwaiter().GetResult();

    private async Task<int> RunAsync()
    {
        if (!Policy.StartsWith(OrtPolicy.SpecPrefix, StringComparison.Ordinal))
            throw new ArgumentException($"--policy must be a model policy ({OrtPolicy.SpecPrefix}DIR), got '{Policy}'");
        if (Episodes < 1) throw new ArgumentException($"--episodes must be at least 1, got {Episodes}");
        if (Turns < 1) throw new ArgumentException($"--turns must be at least 1, got {Turns}");
        DateTimeOffset started = DateTimeOffset.UtcNow;
        IEnvironmentSuite suite = EnvironmentRegistry.Open(Env, new EnvironmentSettings { Seed = EnvSeed });
        RolloutWorkItem[] work = suite.Tasks(EnvironmentSplits.Train).Take(Episodes).Select(t => new RolloutWorkItem(t)).ToArray();

        AnsiConsole.MarkupLine($"bench rollout: {Markup.Escape(Policy)} on {Markup.Escape(suite.Name)}, {work.Length} episodes x {Turns} turns, " +
            $"up to {MaxNewTokens} new tokens per turn, greedy");
        (RolloutBenchRun reuse, IReadOnlyList<Trajectory> reuseTrajectories) = await MeasureAsync(suite, work, reuseKvCache: true).ConfigureAwait(false);
        (RolloutBenchRun reencode, IReadOnlyList<Trajectory> reencodeTrajectories) = await MeasureAsync(suite, work, reuseKvCache: false).ConfigureAwait(false);
        bool same = Actions(reuseTrajectories).SequenceEqual(Actions(reencodeTrajectories));

        var report = new RolloutBenchReport(CommandLine(), started, Policy + (Adapter is null ? "" : " + " + Adapter), suite.Name, work.Length, Turns,
            MaxNewTokens, reuse, reencode, same);
        Write(report);
        if (JsonPath is not null)
        {
            AtomicFile.WriteAllText(JsonPath, JsonSerializer.Serialize(report, JsonOptions) + "\n");
            AnsiConsole.MarkupLine($"results written to [bold]{Markup.Escape(JsonPath)}[/]");
        }
        return 0;
    }

    private async Task<(RolloutBenchRun, IReadOnlyList<Trajectory>)> MeasureAsync(IEnvironmentSuite suite, RolloutWorkItem[] work, bool reuseKvCache)
    {
        var options = new ModelPolicyOptions { Adapter = Adapter, MaxNewTokens = MaxNewTokens, IncludeExample = !NoIcl, ReuseKvCache = reuseKvCache, ConstrainActions = ConstrainActions, Provider = Provider };
        await using IPolicy policy = PolicyFactory.Create(Policy, suite, new ExpertOptions(), options);
        var model = (OrtPolicy)policy;
        var farmOptions = new RolloutOptions { Concurrency = work.Length, MaxSteps = Turns, MaxEpisodeErrors = 0 };

        // Warm-up (first ORT runs allocate and plan): one episode, one turn, not counted.
        await new RolloutFarm(suite, policy, farmOptions with { MaxSteps = 1 }).RunAsync(work[..1], new InMemoryRolloutSink()).ConfigureAwait(false);
        model.Generator.ResetStatistics();

        var sink = new InMemoryRolloutSink();
        RolloutSummary summary = await new RolloutFarm(suite, policy, farmOptions).RunAsync(work, sink).ConfigureAwait(false);
        GeneratorStatistics stats = model.Generator.Statistics;
        var run = new RolloutBenchRun(reuseKvCache ? "reuse" : "re-encode", summary.Episodes, summary.Steps, summary.PolicyCalls,
            stats.PromptTokens, stats.ReusedTokens, stats.PrefillTokens, stats.PrefillTime.TotalSeconds, stats.GeneratedTokens,
            stats.DecodeTime.TotalSeconds, summary.PolicyTime.TotalSeconds, summary.Elapsed.TotalSeconds);
        return (run, sink.Trajectories);
    }

    private static IEnumerable<string> Actions(IReadOnlyList<Trajectory> trajectories) =>
        trajectories.OrderBy(t => t.TaskId, StringComparer.Ordinal)
            .Select(t => t.TaskId + "\n" + string.Join("\n", t.Turns.Select(turn => $"{turn.Role}: {turn.Content}")));

    private static void Write(RolloutBenchReport r)
    {
        static string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);
        var table = new KeyValueTable("", "reuse KV | re-encode");
        string Both(Func<RolloutBenchRun, string> cell) => $"{cell(r.Reuse)} | {cell(r.Reencode)}";
        table.Add("episodes, steps, policy calls", Both(x => $"{x.Episodes}, {x.Steps}, {x.PolicyCalls}"));
        table.Add("prompt tokens (reused from cache)", Both(x => $"{x.PromptTokens} ({x.ReusedTokens})"));
        table.Add("prefill tokens/s", Both(x => $"{F(x.PrefillTokensPerSecond)} ({x.PrefillTokens} in {F(x.PrefillSeconds, "0.000")} s)"));
        table.Add("decode tokens/s", Both(x => $"{F(x.DecodeTokensPerSecond)} ({x.GeneratedTokens} in {F(x.DecodeSeconds, "0.000")} s)"));
        table.Add("episodes/s", Both(x => $"{F(x.EpisodesPerSecond, "0.00")} (policy {F(x.PolicySeconds, "0.000")} s of {F(x.WallSeconds, "0.000")} s)"));
        table.Add("reuse vs re-encode", $"episodes/s x{F(r.EpisodesPerSecondRatio, "0.00")}, policy time x{F(r.PolicyTimeRatio, "0.00")}, " +
            $"prefilled tokens x{F(r.PrefillTokensRatio, "0.00")} fewer");
        table.Add("same trajectories", r.SameTrajectories ? "yes" : "no (greedy runs diverged: float differences between cached and re-encoded KV)");
        table.Write();
    }

    private string CommandLine() =>
        $"coevo bench rollout --policy {Policy} --env {Env} --episodes {Episodes} --turns {Turns} --max-new-tokens {MaxNewTokens}"
        + (Adapter is not null ? $" --adapter {Adapter}" : "") + (NoIcl ? " --no-icl" : "") + (ConstrainActions ? " --constrain-actions" : "");

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}

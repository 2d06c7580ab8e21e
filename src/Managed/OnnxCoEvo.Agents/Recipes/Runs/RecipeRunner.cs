using System.Diagnostics;
using System.Text.Json.Nodes;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Export;
using OnnxCoEvo.Onnx.Generation;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Agents.Recipes.Runs;

/// <summary>A policy the run can roll out: a model directory (its onnx/ built) and, with LoRA, a PEFT adapter on it.</summary>
public sealed record AgentCheckpoint(string Model, string? Adapter)
{
    public JsonObject ToJson() => new() { ["model"] = Model, ["adapter"] = Adapter };

    public static AgentCheckpoint FromJson(JsonObject marker, string source) =>
        new(marker["model"]?.GetValue<string>() ?? throw new DataFormatException(source, "model", "missing"),
            marker["adapter"]?.GetValue<string>());

    public override string ToString() => Adapter is null ? Model : $"{Model} + {Adapter}";
}

/// <summary>
/// Runs a recipe (papers.md §4-§6) as iterations of stages in runs/&lt;name&gt;/iter-NN/. Every stage writes its outputs,
/// then its marker (<see cref="StageLedger"/>); rollouts append to resumable trajectory files and training runs resume
/// from their checkpoints, so a killed run started again continues where it stopped. After every iteration the
/// current agent is evaluated greedily on the held-out split and report.md is refreshed.
/// </summary>
public sealed class RecipeRunner
{
    private readonly RunConfig _config;
    private readonly RunDirectory _run;
    private readonly Action<string> _log;
    private readonly AgentCheckpoint _start;
    private IEnvironmentSuite _suite = null!;
    private IReadOnlyList<EnvironmentTask> _trainTasks = [];
    private IReadOnlyList<EnvironmentTask> _evalTasks = [];
    private IReadOnlyList<Trajectory> _experts = [];
    private CancellationToken _stop;

    // What earlier iterations explored: RFT's and EEF's positive repository grows over iterations.
    private readonly List<Trajectory> _explorations = [];
    private readonly List<Trajectory> _eefSamples = [];

    /// <param name="config">A resolved config (<see cref="RunConfig.Resolve"/>).</param>
    /// <param name="runDirectory">Default runs/&lt;name&gt;.</param>
    public RecipeRunner(RunConfig config, string? runDirectory = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Iterations is null || config.Rollout.Samples is null)
            throw new ArgumentException("the run config must be resolved first (RunConfig.Resolve)", nameof(config));
        _config = config;
        _run = new RunDirectory(runDirectory ?? Path.Combine("runs", config.Name));
        _log = log ?? (_ => { });
        _start = new AgentCheckpoint(config.Model, null);
    }

    public RunDirectory Directory => _run;

    public async Task<RunReport> RunAsync(CancellationToken stop = default)
    {
        _stop = stop;
        _explorations.Clear();
        _eefSamples.Clear();
        _run.Claim(_config);
        _suite = EnvironmentRegistry.Open(_config.Env, new EnvironmentSettings { Seed = _config.EnvSeed, WebShopProducts = _config.WebshopProducts });
        _trainTasks = Limit(_suite.Tasks(EnvironmentSplits.Train), _config.Rollout.TaskLimit);
        _evalTasks = Limit(_suite.Tasks(_config.Eval.Split), _config.Eval.Limit);
        EnsureOnnx(_config.Model);
        _experts = await LoadExpertsAsync().ConfigureAwait(false);
        _log($"{_config.Recipe} on {_suite.Name}: {_trainTasks.Count} train tasks, {_experts.Count} expert trajectories " +
             $"({_experts.Count(t => t.MeetsSuccessRule)} successes), {_evalTasks.Count} {_config.Eval.Split} tasks, {_config.Iterations} iterations");

        await EvaluateAsync(0, _start).ConfigureAwait(false);
        RunReport report = RunReport.Write(_run, _config);
        AgentCheckpoint target = _start, failure = _start;
        for (int k = 1; k <= _config.Iterations; k++)
        {
            StageLedger iteration = _run.Iteration(k);
            switch (_config.Recipe)
            {
                case RecipeNames.Sft: target = SftIteration(iteration, k, target); break;
                case RecipeNames.Rft: target = await RftIterationAsync(iteration, k, target).ConfigureAwait(false); break;
                case RecipeNames.Eef: target = await EefIterationAsync(iteration, k, target).ConfigureAwait(false); break;
                case RecipeNames.Eto: target = await EtoIterationAsync(iteration, k, target).ConfigureAwait(false); break;
                default: (target, failure) = await CoevoIterationAsync(iteration, k, target, failure).ConfigureAwait(false); break;
            }
            await EvaluateAsync(k, target).ConfigureAwait(false);
            report = RunReport.Write(_run, _config);
        }
        if (_config.Export is { } export)
            ExportFinal(export, _config.IsCoevo ? [("target", target), ("failure", failure)] : [("target", target)]);
        _log($"report: {_run.Report}");
        return report;
    }

    private static IReadOnlyList<EnvironmentTask> Limit(IReadOnlyList<EnvironmentTask> tasks, int? limit) =>
        limit is { } n ? tasks.Take(n).ToArray() : tasks;

    // ---------------------------------------------------------------- recipes

    /// <summary>SFT (behaviour cloning, §4.1): the starting model fine-tuned on the expert successes (EEF's SFT POS); more iterations train on.</summary>
    private AgentCheckpoint SftIteration(StageLedger iteration, int k, AgentCheckpoint current)
    {
        int records = WriteSftData(iteration, "data", _experts.Where(t => t.MeetsSuccessRule).ToList(),
            new JsonObject { ["expert_successes"] = _experts.Count(t => t.MeetsSuccessRule) });
        return TrainSft(iteration, k, records, current);
    }

    /// <summary>RFT (§4.2): n samples per train task at temperature; successes join the positive set; SFT on experts + positives.</summary>
    private async Task<AgentCheckpoint> RftIterationAsync(StageLedger iteration, int k, AgentCheckpoint current)
    {
        IReadOnlyList<Trajectory> explored = await ExploreAsync(iteration, k, current).ConfigureAwait(false);
        _explorations.AddRange(explored);
        IReadOnlyList<Trajectory> positives = RftPositives.Select(_explorations);
        List<Trajectory> data = [.. _experts.Where(t => t.MeetsSuccessRule), .. positives];
        int records = WriteSftData(iteration, "data", data, new JsonObject
        {
            ["expert_successes"] = _experts.Count(t => t.MeetsSuccessRule),
            ["rollouts"] = explored.Count,
            ["rollout_successes"] = explored.Count(t => t.MeetsSuccessRule),
            ["positives"] = positives.Count,
            ["simulations_per_task"] = _config.Rollout.Samples,
        });
        return TrainSft(iteration, k, records, _config.Train.RestartFromBase == true ? _start : current);
    }

    /// <summary>
    /// EEF (§5): exploration A from s0 as in RFT, exploration B from M probe states of every failed expert trajectory
    /// (restored by replaying the expert's actions), then SFT on experts + positives + EEF samples (beneficial expert
    /// actions and the student's successful continuations trained, everything else in context only).
    /// </summary>
    private async Task<AgentCheckpoint> EefIterationAsync(StageLedger iteration, int k, AgentCheckpoint current)
    {
        IReadOnlyList<Trajectory> explored = await ExploreAsync(iteration, k, current).ConfigureAwait(false);
        (EefIterationResult eef, IReadOnlyList<Trajectory> probes) = await EefExplorationAsync(iteration, k, current, explored).ConfigureAwait(false);
        _explorations.AddRange(explored);
        IReadOnlyList<Trajectory> positives = RftPositives.Select(_explorations);
        List<Trajectory> data = [.. _experts.Where(t => t.MeetsSuccessRule), .. positives, .. _eefSamples];
        int records = WriteSftData(iteration, "data", data, EefCounts(eef, explored, probes, positives.Count));
        return TrainSft(iteration, k, records, _config.Train.RestartFromBase == true ? _start : current);
    }

    /// <summary>ETO (§4.3): greedy exploration once per train task, pairs against the expert's own reward, DPO from the current policy as reference.</summary>
    private async Task<AgentCheckpoint> EtoIterationAsync(StageLedger iteration, int k, AgentCheckpoint current)
    {
        IReadOnlyList<Trajectory> explored = await ExploreAsync(iteration, k, current, samples: 1).ConfigureAwait(false);
        EtoPairingResult pairing = EtoPairBuilder.Build(_experts, explored);
        int records = WritePairs(iteration, "pairs", "pairs.jsonl", pairing.Pairs, new JsonObject
        {
            ["rollouts"] = explored.Count,
            ["rollout_successes"] = explored.Count(t => t.MeetsSuccessRule),
            ["pairs"] = pairing.Pairs.Count,
            ["agent_wins"] = pairing.AgentWins,
            ["expert_wins"] = pairing.ExpertWins,
            ["ties"] = pairing.Ties,
            ["missing_expert"] = pairing.MissingExpert,
        });
        var loss = new PreferenceLossOptions { Beta = _config.Eto.BetaAt(k) };
        return TrainDpo(iteration, "train", "train", "pairs.jsonl", records, current, _config.Eto.LrAt(k), loss, k);
    }

    /// <summary>
    /// Co-evolving agents (§6): both agents act; the failure agent learns failure-vs-failure pairs by DPO; its new
    /// rollouts are the hard negatives; the target learns expert-vs-failure and failure-vs-failure pairs with
    /// DPO + SFT. With eef+coevo the target first takes an SFT step on experts + positives + EEF samples.
    /// </summary>
    private async Task<(AgentCheckpoint Target, AgentCheckpoint Failure)> CoevoIterationAsync(StageLedger iteration, int k,
        AgentCheckpoint target, AgentCheckpoint failure)
    {
        var options = new CoevoOptions { NearSuccessFloor = _config.Coevo.NearSuccessFloor, MaxPairsPerTask = _config.Coevo.MaxPairsPerTask };
        double floor = options.NearSuccessFloor;
        IReadOnlyList<Trajectory> targetRollouts = await RolloutAsync(iteration, "rollouts-target", "rollouts-target.jsonl", target,
            Work(_trainTasks, 1), _config.Rollout.Temperature ?? 0, Seed("rollouts-target", k)).ConfigureAwait(false);
        IReadOnlyList<Trajectory> failureRollouts = await RolloutAsync(iteration, "rollouts-failure", "rollouts-failure.jsonl", failure,
            Work(_trainTasks, 1), _config.Rollout.Temperature ?? 0, Seed("rollouts-failure", k)).ConfigureAwait(false);

        IReadOnlyList<PreferencePair> failurePairs = CoevoPairBuilder.FailureAgentPairs(targetRollouts, failureRollouts, options);
        int failureRecords = WritePairs(iteration, "failure-pairs", "failure-pairs.jsonl", failurePairs, new JsonObject
        {
            ["target_rollouts"] = targetRollouts.Count,
            ["target_successes"] = targetRollouts.Count(t => t.MeetsSuccessRule),
            ["failure_agent_rollouts"] = failureRollouts.Count,
            ["failure_agent_near_success_share"] = CoevoPairBuilder.NearSuccessShare(failureRollouts, floor),
            ["failure_pairs"] = failurePairs.Count,
        });
        var failureLoss = new PreferenceLossOptions { Beta = _config.Coevo.Beta };
        AgentCheckpoint newFailure = TrainDpo(iteration, "failure-train", "train-failure", "failure-pairs.jsonl", failureRecords, failure,
            _config.Train.DpoLr!.Value, failureLoss, k);

        IReadOnlyList<Trajectory> hard = await RolloutAsync(iteration, "rollouts-hard", "rollouts-hard.jsonl", newFailure,
            Work(_trainTasks, 1), _config.Rollout.Temperature ?? 0, Seed("rollouts-hard", k)).ConfigureAwait(false);

        AgentCheckpoint dpoStart = target;
        if (_config.UsesEef)
        {
            (EefIterationResult eef, IReadOnlyList<Trajectory> probes) = await EefExplorationAsync(iteration, k, target, targetRollouts).ConfigureAwait(false);
            _explorations.AddRange(targetRollouts);
            IReadOnlyList<Trajectory> positives = RftPositives.Select(_explorations);
            List<Trajectory> data = [.. _experts.Where(t => t.MeetsSuccessRule), .. positives, .. _eefSamples];
            int sftRecords = WriteSftData(iteration, "eef-data", data, EefCounts(eef, targetRollouts, probes, positives.Count));
            dpoStart = TrainSft(iteration, k, sftRecords, target, stage: "target-sft", folder: "train-target-sft", dataFile: "eef-data.jsonl");
        }

        CoevoTargetPairs pairs = CoevoPairBuilder.TargetPairs(_experts, targetRollouts, hard, options);
        int records = WritePairs(iteration, "pairs", "pairs.jsonl", pairs.All, new JsonObject
        {
            ["hard_negative_rollouts"] = hard.Count,
            ["hard_negative_near_success_share"] = CoevoPairBuilder.NearSuccessShare(hard, floor),
            ["expert_vs_target"] = pairs.ExpertVsTarget.Count,
            ["expert_vs_failure_agent"] = pairs.ExpertVsFailureAgent.Count,
            ["failure_vs_failure"] = pairs.FailureVsFailure.Count,
            ["pairs"] = pairs.All.Count,
        });
        var targetLoss = new PreferenceLossOptions
        {
            Beta = _config.Coevo.Beta,
            DpoWeight = _config.Coevo.DpoWeight,
            ChosenNllWeight = _config.Coevo.SftWeight,
        };
        AgentCheckpoint newTarget = TrainDpo(iteration, "train", "train", "pairs.jsonl", records, dpoStart, _config.Train.DpoLr!.Value, targetLoss, k);
        return (newTarget, newFailure);
    }

    // ---------------------------------------------------------------- shared stages

    private Task<IReadOnlyList<Trajectory>> ExploreAsync(StageLedger iteration, int k, AgentCheckpoint current, int? samples = null) =>
        RolloutAsync(iteration, "rollouts", "rollouts.jsonl", current, Work(_trainTasks, samples ?? _config.Rollout.Samples!.Value),
            _config.Rollout.Temperature ?? 0, Seed("rollouts", k));

    /// <summary>EEF's exploration B: the student from M states of every failed expert trajectory, and the labels and samples.</summary>
    private async Task<(EefIterationResult Result, IReadOnlyList<Trajectory> Probes)> EefExplorationAsync(StageLedger iteration, int k,
        AgentCheckpoint current, IReadOnlyList<Trajectory> fromStart)
    {
        Dictionary<string, EnvironmentTask> tasks = _trainTasks.ToDictionary(t => t.Id, StringComparer.Ordinal);
        List<Trajectory> failedExperts = _experts.Where(t => !t.MeetsSuccessRule && tasks.ContainsKey(t.TaskId)).ToList();
        var work = new List<RolloutWorkItem>();
        foreach (Trajectory expert in failedExperts)
            foreach (EefProbe probe in EefProbePlanner.Plan(expert, _config.Eef.Probes))
                work.Add(new RolloutWorkItem(tasks[expert.TaskId], 0, expert, probe.ReplaySteps));
        IReadOnlyList<Trajectory> probes = await RolloutAsync(iteration, "probes", "probes.jsonl", current, work,
            _config.Rollout.Temperature ?? 0, Seed("probes", k)).ConfigureAwait(false);
        EefIterationResult eef = EefSampleBuilder.Build(failedExperts, [.. fromStart, .. probes], new EefOptions
        {
            Probes = _config.Eef.Probes,
            RecoverySamples = _config.Eef.Recovery,
            OnlyUnsolvedTasks = _config.Eef.OnlyUnsolved,
        });
        _eefSamples.AddRange(eef.Samples);
        return (eef, probes);
    }

    private JsonObject EefCounts(EefIterationResult eef, IReadOnlyList<Trajectory> explored, IReadOnlyList<Trajectory> probes, int positives) => new()
    {
        ["expert_successes"] = _experts.Count(t => t.MeetsSuccessRule),
        ["rollouts"] = explored.Count,
        ["rollout_successes"] = explored.Count(t => t.MeetsSuccessRule),
        ["positives"] = positives,
        ["failed_experts"] = eef.FailedExperts,
        ["probes"] = eef.Probes,
        ["probe_rollouts"] = probes.Count,
        ["probe_successes"] = eef.ProbeSuccesses,
        ["beneficial_segments"] = eef.Beneficial,
        ["harmful_segments"] = eef.Harmful,
        ["eef_new_positives"] = eef.NewPositives,
        ["eef_recovery_samples"] = eef.RecoverySamples,
        ["eef_samples"] = eef.Samples.Count,
        ["eef_samples_all_iterations"] = _eefSamples.Count,
        ["simulations_per_task"] = _config.Rollout.Samples!.Value + _config.Eef.Probes,
    };

    private IReadOnlyList<RolloutWorkItem> Work(IReadOnlyList<EnvironmentTask> tasks, int samples) =>
        RolloutPlan.Build(tasks, samples, RolloutShard.Whole);

    private ulong Seed(string stage, int iteration) => DeterministicRandom.DeriveSeed(_config.Seed, stage, (ulong)iteration);

    /// <summary>
    /// A rollout stage: the work items not yet in the stage's trajectories file run through the farm (a killed stage
    /// keeps every episode it wrote); the stage's trajectories are returned in work order, one per key.
    /// </summary>
    private async Task<IReadOnlyList<Trajectory>> RolloutAsync(StageLedger ledger, string stage, string fileName, AgentCheckpoint agent,
        IReadOnlyList<RolloutWorkItem> work, double temperature, ulong seed, Func<IReadOnlyList<Trajectory>, JsonObject>? finish = null)
    {
        return await RolloutAsync(ledger, stage, fileName, () => OpenPolicy(agent, temperature, seed), work, finish).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<Trajectory>> RolloutAsync(StageLedger ledger, string stage, string fileName, Func<IPolicy> openPolicy,
        IReadOnlyList<RolloutWorkItem> work, Func<IReadOnlyList<Trajectory>, JsonObject>? finish = null, int? maxSteps = null)
    {
        string path = ledger.File(fileName);
        IReadOnlyList<Trajectory>? read = null; // the stage's trajectories when this call ran it (a finished stage is read below)
        await ledger.RunOnceAsync(stage, async () =>
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            IReadOnlySet<string> finished = RolloutPlan.ReadFinishedKeys(path);
            List<RolloutWorkItem> todo = work.Where(w => !finished.Contains(w.Key)).ToList();
            _log($"{Path.GetFileName(ledger.Directory)}/{stage}: {work.Count} episodes" +
                 (finished.Count > 0 ? $", {work.Count - todo.Count} written before" : ""));
            var clock = Stopwatch.StartNew();
            if (todo.Count == 0 && !File.Exists(path))
                AtomicFile.WriteAllText(path, ""); // a stage with nothing to run still leaves its (empty) file
            if (todo.Count > 0)
            {
                await using IPolicy policy = openPolicy();
                using TrajectoryStore store = TrajectoryStore.OpenForAppend(path);
                var farm = new RolloutFarm(_suite, policy, new RolloutOptions { Concurrency = _config.Rollout.Concurrency, MaxSteps = maxSteps ?? _config.Rollout.MaxSteps });
                RolloutSummary summary = await farm.RunAsync(todo, new TrajectoryFileSink(store),
                    RunProgress.Rollouts($"{Path.GetFileName(ledger.Directory)}/{stage}", _log), _stop).ConfigureAwait(false);
                if (summary.Errors > 0)
                    throw new InvalidOperationException(
                        $"{path}: {summary.Errors} episodes failed and were not written (first: {summary.FirstError}); run again to retry them");
            }
            IReadOnlyList<Trajectory> all = read = ReadStage(path, work);
            JsonObject counts = finish?.Invoke(all) ?? [];
            counts["episodes"] = all.Count;
            counts["successes"] = all.Count(t => t.MeetsSuccessRule);
            counts["mean_reward"] = all.Count == 0 ? 0 : all.Average(t => t.Reward);
            counts["resumed_episodes"] = work.Count - todo.Count;
            counts["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3);
            return counts;
        }, _log).ConfigureAwait(false);
        return read ?? ReadStage(path, work);
    }

    /// <summary>The stage file's trajectories for the work items, in work order, the first one written per key.</summary>
    private static IReadOnlyList<Trajectory> ReadStage(string path, IReadOnlyList<RolloutWorkItem> work)
    {
        if (!File.Exists(path))
            return [];
        var byKey = new Dictionary<string, Trajectory>(StringComparer.Ordinal);
        foreach (Trajectory t in TrajectoryStore.ReadAll(path).Records)
            byKey.TryAdd(RolloutPlan.KeyOf(t), t);
        return work.Select(w => byKey.GetValueOrDefault(w.Key)).OfType<Trajectory>().ToList();
    }

    private IPolicy OpenPolicy(AgentCheckpoint agent, double temperature, ulong seed) =>
        OrtPolicy.Open(agent.Model, _suite.Protocol, new ModelPolicyOptions
        {
            Adapter = agent.Adapter,
            Sampling = temperature > 0 ? new SamplingOptions { Temperature = temperature } : SamplingOptions.Greedy,
            MaxNewTokens = _config.Rollout.MaxNewTokens,
            IncludeExample = _config.Rollout.IncludeExample,
            ConstrainActions = _config.Rollout.ConstrainActions,
            Seed = seed,
        });

    /// <summary>The held-out split, greedily: eval/trajectories.jsonl and eval/summary.json (score, win rate, failure and near-success shares).</summary>
    private async Task EvaluateAsync(int k, AgentCheckpoint agent)
    {
        StageLedger ledger = _run.Iteration(k);
        string trajectories = Path.Combine("eval", "trajectories.jsonl");
        await RolloutAsync(ledger, "eval", trajectories, agent, Work(_evalTasks, 1), 0, Seed("eval", k), all =>
        {
            EvaluationReport report = EvaluationReport.From(_suite.Name, _config.Eval.Split, agent.ToString(), all);
            report.Write(ledger.File(Path.Combine("eval", "summary.json")));
            _log($"{Path.GetFileName(ledger.Directory)}: score {report.Score:0.0}, win rate {100 * report.SuccessRate:0.0}%, " +
                 $"near-success {100 * report.NearSuccessShare:0.0}% ({agent})");
            return new JsonObject { ["score"] = report.Score, ["success_rate"] = report.SuccessRate, ["agent"] = agent.ToJson() };
        }).ConfigureAwait(false);
    }

    /// <summary>The expert trajectories of the train tasks: from the config's file, or written by the scripted expert (resumable).</summary>
    private async Task<IReadOnlyList<Trajectory>> LoadExpertsAsync()
    {
        var trainIds = _trainTasks.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        if (_config.Experts is { } path)
        {
            TrajectoryDataset dataset = DatasetFiles.ReadTrajectories(path, DatasetFiles.ResolveFormat(path, null), _suite.Name, EnvironmentSplits.Train);
            List<Trajectory> experts = dataset.Trajectories.Where(t => trainIds.Contains(t.TaskId)).ToList();
            if (experts.Count == 0)
                throw new DataFormatException(path, "task ids", $"none of its {dataset.Trajectories.Count} trajectories is a task of the {_suite.Name} train split in use");
            return experts;
        }
        // The expert plays under the environment's own step budget (rollout.max_steps limits the student only).
        var expertOptions = new ExpertOptions { Seed = _config.Seed };
        return await RolloutAsync(_run.Root, "experts", Path.GetFileName(_run.Experts), () => _suite.CreateExpert(expertOptions),
            Work(_trainTasks, 1), maxSteps: _suite.Protocol.MaxSteps).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- data and training

    private int WriteSftData(StageLedger iteration, string stage, IReadOnlyList<Trajectory> data, JsonObject counts)
    {
        iteration.RunOnce(stage, () =>
        {
            DatasetFiles.WriteTrajectories(iteration.File(stage + ".jsonl"), TrajectoryFormat.Canonical, data);
            counts["records"] = data.Count;
            return WriteCounts(iteration, stage, counts);
        }, _log);
        return iteration.Read(stage)!["records"]!.GetValue<int>();
    }

    private int WritePairs(StageLedger iteration, string stage, string fileName, IReadOnlyList<PreferencePair> pairs, JsonObject counts)
    {
        iteration.RunOnce(stage, () =>
        {
            DatasetFiles.WritePairs(iteration.File(fileName), TrajectoryFormat.CanonicalPairs, pairs);
            counts["records"] = pairs.Count;
            return WriteCounts(iteration, stage, counts);
        }, _log);
        return iteration.Read(stage)!["records"]!.GetValue<int>();
    }

    /// <summary>counts.json gathers every data stage's counts of the iteration (what the report shows).</summary>
    private JsonObject WriteCounts(StageLedger iteration, string stage, JsonObject counts)
    {
        string path = iteration.File("counts.json");
        JsonObject all = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [] : [];
        all[stage] = counts.DeepClone();
        AtomicFile.WriteAllText(path, all.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        _log($"{Path.GetFileName(iteration.Directory)}/{stage}: {string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"))}");
        return counts;
    }

    private AgentCheckpoint TrainSft(StageLedger iteration, int k, int records, AgentCheckpoint origin, string stage = "train",
        string folder = "train", string dataFile = "data.jsonl")
    {
        var options = TrainingOptions(TrainingObjective.Sft, _config.Train.Lr!.Value, k) with { Schedule = "cosine", WarmupRatio = 0.03 };
        return Train(iteration, stage, folder, dataFile, TrajectoryFormat.Canonical, records, origin, options);
    }

    private AgentCheckpoint TrainDpo(StageLedger iteration, string stage, string folder, string dataFile, int records, AgentCheckpoint origin,
        float lr, PreferenceLossOptions loss, int k)
    {
        // ETO's DPO: constant_with_warmup, warmup 0.1; the reference is the policy at the start of the phase.
        var options = TrainingOptions(TrainingObjective.Dpo, lr, k) with
        {
            Schedule = "constant_with_warmup",
            WarmupRatio = 0.1,
            Dpo = loss,
            Reference = DpoReference.Start,
        };
        return Train(iteration, stage, folder, dataFile, TrajectoryFormat.CanonicalPairs, records, origin, options);
    }

    private TrainingOptions TrainingOptions(TrainingObjective objective, float lr, int k) => new()
    {
        Objective = objective,
        Epochs = _config.Train.Epochs,
        MicroBatchSize = _config.Train.BatchSize,
        GradientAccumulation = _config.Train.GradAccum,
        LearningRate = lr,
        Seed = DeterministicRandom.DeriveSeed(_config.Seed, "train-order", (ulong)k),
        CheckpointEvery = _config.Train.CheckpointEvery,
    };

    /// <summary>
    /// One training stage: LoRA continues the agent's adapter (or starts one) on the starting model; full fine-tuning
    /// trains the agent's model into train/model and builds its ONNX. No data: the agent carries over unchanged.
    /// </summary>
    private AgentCheckpoint Train(StageLedger iteration, string stage, string folder, string dataFile, TrajectoryFormat format, int records,
        AgentCheckpoint origin, TrainingOptions options)
    {
        JsonObject marker = iteration.RunOnce(stage, () =>
        {
            if (records == 0)
            {
                _log($"{Path.GetFileName(iteration.Directory)}/{stage}: no training data, the agent carries over");
                JsonObject skipped = origin.ToJson();
                skipped["skipped"] = "no training data";
                return skipped;
            }
            bool full = _config.Train.Full;
            var spec = new TrainingJobSpec
            {
                ModelDirectory = origin.Model,
                DataPath = iteration.File(dataFile),
                DataFormat = TrajectoryFormats.Name(format),
                OutputDirectory = iteration.File(folder),
                Lora = full ? null : new LoraConfig { Rank = _config.Train.LoraRank, Alpha = _config.Train.LoraAlpha },
                InitialAdapter = full ? null : origin.Adapter,
                Options = options,
                MaxLength = _config.Train.MaxLength,
                Overlength = OverlengthPolicy.Skip,
                InitSeed = DeterministicRandom.DeriveSeed(_config.Seed, "adapter-init", (ulong)options.Seed),
            };
            _log($"{Path.GetFileName(iteration.Directory)}/{stage}: {options.Objective.ToString().ToLowerInvariant()} on {records} records from {origin}");
            TrainingJobResult result = TrainingJob.Run(spec, null, RunProgress.Training($"{Path.GetFileName(iteration.Directory)}/{stage}", _log), _stop);
            if (!result.Summary.Completed || result.FinalOutput is null)
                throw new OperationCanceledException($"{stage} stopped at step {result.Summary.FinalStep} of {result.Summary.TotalSteps}; run again to resume");
            if (full)
                EnsureOnnx(result.FinalOutput);
            AgentCheckpoint trained = full ? new AgentCheckpoint(result.FinalOutput, null) : origin with { Adapter = result.FinalOutput };
            JsonObject done = trained.ToJson();
            done["records_kept"] = result.Dataset.Kept;
            done["skipped_too_long"] = result.Dataset.SkippedTooLong;
            done["steps"] = result.Summary.TotalSteps;
            done["first_loss"] = result.Summary.FirstLoss;
            done["last_loss"] = result.Summary.LastLoss;
            done["seconds"] = Math.Round(result.Summary.Elapsed.TotalSeconds, 3);
            _log($"{Path.GetFileName(iteration.Directory)}/{stage}: {result.Summary.TotalSteps} steps, loss {result.Summary.FirstLoss:0.000} -> {result.Summary.LastLoss:0.000}");
            return done;
        }, _log);
        return AgentCheckpoint.FromJson(marker, iteration.MarkerPath(stage));
    }

    /// <summary>
    /// The "export" stage of the run directory: each agent's final adapter in every configured format under
    /// export/&lt;agent&gt;/, verified against the trainer's forward unless the config says not to (a failed check fails
    /// the stage, so it is not marked done).
    /// </summary>
    private void ExportFinal(RunExportConfig export, IReadOnlyList<(string Name, AgentCheckpoint Agent)> agents)
    {
        _run.Root.RunOnce(RunExportConfig.Section, () =>
        {
            var done = new JsonObject();
            foreach ((string name, AgentCheckpoint agent) in agents)
            {
                if (agent.Adapter is null)
                {
                    done[name] = new JsonObject { ["skipped"] = "no adapter (no training data)" };
                    continue;
                }
                var outcomes = ExportJob.RunAll(agent.Model, agent.Adapter, export.Formats.Select(ExportFormats.Parse).ToList(),
                    Path.Combine(_run.Path, RunExportConfig.Section, name), export.Dtype == "f16" ? MergedPrecision.Float16 : MergedPrecision.Float32, export.Verify);
                var entries = new JsonArray();
                foreach (ExportOutcome o in outcomes)
                {
                    entries.Add(new JsonObject
                    {
                        ["format"] = ExportFormats.Name(o.Format), ["path"] = o.Path, ["bytes"] = o.Bytes,
                        ["max_abs_error"] = o.Verification?.MaxAbsError, ["max_rel_error"] = o.Verification?.MaxRelativeError,
                        ["greedy_identical"] = o.Verification?.GreedyIdentical,
                    });
                    _log($"export/{name}: {o.Path}" + (o.Verification is { } v ? $" ({v.Summary()})" : ""));
                }
                done[name] = entries;
            }
            return done;
        }, _log);
    }

    /// <summary>Builds DIR/onnx unless it is there (the tiny model takes a fraction of a second).</summary>
    private void EnsureOnnx(string modelDirectory)
    {
        string onnx = Path.Combine(modelDirectory, OnnxDecoderExport.DefaultSubdirectory);
        if (File.Exists(Path.Combine(onnx, OnnxDecoderExport.ModelFileName)) && File.Exists(Path.Combine(onnx, "genai_config.json")))
            return;
        OnnxDecoderExportResult built = OnnxDecoderExport.Export(modelDirectory);
        _log($"built {built.OutputDirectory} in {built.Elapsed.TotalSeconds:0.00} s");
    }
}

using System.Numerics.Tensors;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Training.Backends;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Parameters;
using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Tests.Training;

/// <summary>The CPU backend and the run loop end to end on the tiny preset: overfitting, DPO, resume, divergence.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<TrainingSequence> OneBatch(int count)
    {
        var encoder = new ConversationEncoder(ChatTemplates.Create("plain", TinyTokenizerFactory.Create()));
        return Enumerable.Range(0, count).Select(i => encoder.Encode(TrainingSamples.Episode(i).Turns)).ToList();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_tiny_model_overfits_one_batch(bool lora)
    {
        string model = TrainingSamples.TinyModel(_dir);
        ModelConfig config = ModelConfig.Load(model);
        ParameterSet parameters = LlamaCpuModel.LoadBaseParameters(model, config, trainable: !lora);
        LoraConfig? adapter = null;
        if (lora)
        {
            // A random init caps the logits: final norm weight 1 and head rows of norm ~0.2 give |logit| <~ 2.5, so a frozen
            // head cannot reach one token's probability above ~1% (loss ~4.5 at best). Trained models carry far larger
            // final-norm weights; give this one a trained-like scale so the adapter alone can memorise.
            TensorPrimitives.Multiply(parameters["model.norm.weight"].Value, 10f, parameters["model.norm.weight"].Value);
            adapter = new LoraConfig { Rank = 8, Alpha = 16 };
            LlamaCpuModel.AddLoraParameters(parameters, config, adapter, seed: 1);
        }
        using var backend = CpuTrainerBackend.FromParameters(config, parameters, adapter);
        var batch = OneBatch(2);
        var settings = new StepSettings(3e-3f, 1f);
        double first = backend.SftStep([batch], settings).Loss;
        double last = first;
        for (int i = 0; i < 50; i++)
            last = backend.SftStep([batch], settings).Loss;
        Assert.True(first > 4, $"a random model starts near ln(vocab) or above: {first}");
        Assert.True(last < 0.1, $"{(lora ? "LoRA" : "full")}: loss {first:0.000} -> {last:0.000} after 51 steps");
        // Every trained token of the batch is now near certain: the batch is memorised.
        double[] sums = backend.SequenceLogProbs(batch);
        Assert.All(sums, s => Assert.True(s > -3, $"sequence log-prob {s}"));
    }

    [Fact]
    public void Gradient_accumulation_over_micro_batches_equals_one_big_batch()
    {
        string model = TrainingSamples.TinyModel(_dir);
        var lora = new LoraConfig { Rank = 4, Alpha = 8 };
        using var whole = CpuTrainerBackend.Create(new CpuTrainerBackendOptions { ModelDirectory = model, Lora = lora, Seed = 1 });
        using var split = CpuTrainerBackend.Create(new CpuTrainerBackendOptions { ModelDirectory = model, Lora = lora, Seed = 1 });
        // Unequal micro-batches: the per-micro-batch-mean bug would weight the lone sequence's tokens double.
        var batch = OneBatch(3);
        var settings = new StepSettings(1e-3f, 0f);
        for (int step = 0; step < 2; step++)
        {
            StepResult a = whole.SftStep([batch], settings);
            StepResult b = split.SftStep([batch.Take(2).ToList(), batch.Skip(2).ToList()], settings);
            Assert.Equal(a.Loss, b.Loss, 5);
            Assert.Equal(a.GradNorm, b.GradNorm, 4);
        }
        // Weights agree to a tenth of one step's change (lr 1e-3): the sums over tokens round differently when split, and
        // Adam's m / sqrt(v) magnifies that where a gradient is near zero. The per-micro-batch-mean bug moves the loss
        // above by ~1e-2 and the weights by a whole step.
        var wa = whole.GetTrainable();
        var wb = split.GetTrainable();
        for (int i = 0; i < wa.Count; i++)
            for (int j = 0; j < wa[i].Values.Length; j++)
                Assert.True(Math.Abs(wa[i].Values[j] - wb[i].Values[j]) <= 1e-4f, $"{wa[i].Name}[{j}]");
    }

    [Fact]
    public void Dpo_raises_the_reward_margin_and_keeps_the_reference_fixed()
    {
        string model = TrainingSamples.TinyModel(_dir);
        var job = new TrainingJobSpec
        {
            ModelDirectory = model,
            DataPath = TrainingSamples.WritePairs(_dir, 4),
            OutputDirectory = _dir.File("dpo"),
            Lora = new LoraConfig { Rank = 8, Alpha = 16 },
            Options = new TrainingOptions
            {
                Objective = TrainingObjective.Dpo,
                Epochs = 6,
                MicroBatchSize = 2,
                GradientAccumulation = 2,
                LearningRate = 5e-3f,
                Schedule = "constant",
                WarmupRatio = 0,
                Dpo = new PreferenceLossOptions { Beta = 0.1 },
                CheckpointEvery = 0,
            },
        };
        TrainingJobResult result = TrainingJob.Run(job);
        Assert.True(result.Summary.Completed);
        Assert.Equal(0.0, result.Summary.FirstRewardMargin!.Value, 6); // policy == reference at the start
        Assert.True(result.Summary.LastRewardMargin > 0.5, $"margin {result.Summary.LastRewardMargin}");
        Assert.True(result.Summary.LastLoss < Math.Log(2) - 0.1, $"loss {result.Summary.FirstLoss} -> {result.Summary.LastLoss}");
        Assert.True(File.Exists(Path.Combine(_dir.File("dpo"), "reference_logps.json")));
        PreferenceEvaluation final = result.Summary.FinalPreferences!;
        Assert.Equal(4, final.Pairs);
        Assert.True(final.Margin > 0.5 && final.Accuracy == 1, $"over all pairs: margin {final.Margin}, accuracy {final.Accuracy}");
        Assert.True(File.Exists(Path.Combine(result.FinalOutput!, "adapter_model.safetensors")));
    }

    private TrainingJobSpec ResumableSft(string model, string data, string outName, int checkpointEvery = 2) => new()
    {
        ModelDirectory = model,
        DataPath = data,
        OutputDirectory = _dir.File(outName),
        Lora = new LoraConfig { Rank = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj", "down_proj"] },
        Options = new TrainingOptions
        {
            Epochs = 2,
            MicroBatchSize = 2,
            GradientAccumulation = 2,
            LearningRate = 1e-3f,
            WarmupSteps = 1,
            CheckpointEvery = checkpointEvery,
            KeepCheckpoints = 3,
        },
        InitSeed = 9,
    };

    [Fact]
    public void A_stopped_run_resumes_bit_identically_to_an_uninterrupted_one()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 10); // 3 steps per epoch (4, 4, 2 samples), 6 steps

        TrainingJobResult straight = TrainingJob.Run(ResumableSft(model, data, "straight"));
        Assert.True(straight.Summary.Completed);
        Assert.Equal(6, straight.Summary.FinalStep);

        // Stop after step 3 (a checkpoint is written on stop), then run the same command again.
        using var stop = new CancellationTokenSource();
        var stopAtThree = new SyncProgress(p => { if (p.Step == 3) stop.Cancel(); });
        TrainingJobResult first = TrainingJob.Run(ResumableSft(model, data, "resumed"), progress: stopAtThree, stop: stop.Token);
        Assert.True(first.Summary.Stopped);
        Assert.Null(first.FinalOutput);
        Assert.Equal(3, first.Summary.FinalStep);
        TrainingJobResult second = TrainingJob.Run(ResumableSft(model, data, "resumed"));
        Assert.Equal(3, second.Summary.StartStep);
        Assert.True(second.Summary.Completed);

        AssertSameFiles(straight.FinalOutput!, second.FinalOutput!, "adapter_model.safetensors");
        Assert.Equal(File.ReadAllLines(Path.Combine(_dir.File("straight"), "metrics.jsonl")).Select(StripTiming),
                     File.ReadAllLines(Path.Combine(_dir.File("resumed"), "metrics.jsonl")).Select(StripTiming));

        // A hard kill after checkpoint 4 (simulated: drop the later checkpoint, keep the metrics lines past it) resumes too.
        var store = new RunCheckpointStore(Path.Combine(_dir.File("resumed"), "checkpoints"), keep: 3);
        Assert.Equal(6, store.Latest()!.Step);
        Directory.Delete(store.Latest()!.Directory, recursive: true);
        Directory.Delete(Path.Combine(_dir.File("resumed"), TrainingJob.AdapterFolder), recursive: true);
        TrainingJobResult third = TrainingJob.Run(ResumableSft(model, data, "resumed"));
        Assert.Equal(4, third.Summary.StartStep);
        AssertSameFiles(straight.FinalOutput!, third.FinalOutput!, "adapter_model.safetensors");
        Assert.Equal(6, File.ReadAllLines(Path.Combine(_dir.File("resumed"), "metrics.jsonl")).Length);
    }

    [Fact]
    public void Resuming_with_other_data_is_refused()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 4);
        TrainingJob.Run(ResumableSft(model, data, "run"));
        string other = TrainingSamples.WriteSft(_dir, 5, "other.jsonl");
        string config = Path.Combine(_dir.File("run"), "train_config.json");
        string before = File.ReadAllText(config);
        var e = Assert.Throws<InvalidOperationException>(() => TrainingJob.Run(ResumableSft(model, other, "run")));
        Assert.Contains("different run", e.Message);
        Assert.Contains("'data'", e.Message);
        Assert.Equal(before, File.ReadAllText(config));
    }

    [Fact]
    public void A_diverging_loss_stops_with_a_clear_message_and_the_last_checkpoint_stays_intact()
    {
        string model = TrainingSamples.TinyModel(_dir);
        string data = TrainingSamples.WriteSft(_dir, 8);
        // Full fine-tuning at rate 1e36: step 1 moves every weight by about 1e36 (still finite), so step 2's logits
        // overflow and its loss is NaN.
        var spec = ResumableSft(model, data, "nan", checkpointEvery: 1);
        spec = spec with
        {
            Lora = null,
            Options = spec.Options with { LearningRate = 1e36f, WarmupSteps = 0, Schedule = "constant", MaxGradNorm = 0 },
        };
        var e = Assert.Throws<TrainingDivergedException>(() => TrainingJob.Run(spec));
        Assert.Contains("no weight was changed", e.Message);
        Assert.StartsWith("step 2:", e.Message);
        var store = new RunCheckpointStore(Path.Combine(_dir.File("nan"), "checkpoints"), keep: 3);
        var latest = store.Latest();
        Assert.NotNull(latest);
        Assert.Contains(latest.Directory, e.Message);
        // Complete and valid against the run's layout: a backend built like the run's loads it.
        using var backend = CpuTrainerBackend.Create(new CpuTrainerBackendOptions { ModelDirectory = model, Lora = spec.Lora });
        var loaded = store.Load(latest, backend);
        Assert.Equal(latest.Step, loaded.Step);
        Assert.All(loaded.Trainable, t => Assert.All(t.Values, v => Assert.True(float.IsFinite(v))));
    }

    private static string StripTiming(string line) => System.Text.RegularExpressions.Regex.Replace(line, "\"tokens_per_s\":[0-9.eE+-]+", "");

    private static void AssertSameFiles(string a, string b, string name) =>
        Assert.True(File.ReadAllBytes(Path.Combine(a, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, name))), $"{name} differs");

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the callback on the training thread.</summary>
    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

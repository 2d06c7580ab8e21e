using System.Security.Cryptography;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Tests.Training;

public class CheckpointTests
{
    private static ParameterSet NewParameters(bool filled)
    {
        var set = new ParameterSet
        {
            new Parameter("model.embed_tokens.weight", [4, 3], new float[12], trainable: false),
            new Parameter("model.layers.0.self_attn.q_proj.lora_A.weight", [2, 3], new float[6], trainable: true),
            new Parameter("model.layers.0.self_attn.q_proj.lora_B.weight", [3, 2], new float[6], trainable: true),
            new Parameter("model.norm.weight", [9], new float[9], trainable: true),
        };
        if (filled)
        {
            for (int k = 0; k < set.Count; k++)
                for (int i = 0; i < set[k].Length; i++)
                    set[k].Value[i] = MathF.Sin(1 + 7 * k + i);
        }
        return set;
    }

    /// <summary>A parameter set and optimizer after <paramref name="steps"/> AdamW updates with made-up gradients.</summary>
    private static (ParameterSet Parameters, AdamW Optimizer) Trained(int steps)
    {
        ParameterSet set = NewParameters(filled: true);
        var optimizer = new AdamW(set, new AdamWOptions { WeightDecay = 0.01 });
        for (int s = 0; s < steps; s++)
        {
            foreach (Parameter p in set.Trainable)
                for (int i = 0; i < p.Length; i++)
                    p.Grad[i] = MathF.Cos(s + 3 * i) / (1 + i);
            optimizer.Step(1e-2f);
        }
        return (set, optimizer);
    }

    /// <summary>Trains <paramref name="steps"/> steps and saves checkpoint-{steps} into <paramref name="runDirectory"/>.</summary>
    private static (ParameterSet Parameters, AdamW Optimizer, string Path) SaveTrained(string runDirectory, int steps)
    {
        (ParameterSet set, AdamW optimizer) = Trained(steps);
        return (set, optimizer, TrainingCheckpoint.Save(runDirectory, set, optimizer, State(steps)));
    }

    private static TrainerState State(long step)
    {
        var random = new Xoshiro256StarStar(42);
        for (int i = 0; i < 5; i++)
            random.NextUInt64();
        return new TrainerState
        {
            GlobalStep = step,
            Epoch = 1,
            EpochPosition = 17,
            RngState = random.GetState(),
            LearningRate = 1.5e-5,
            Schedule = new LearningRateSchedule(LearningRateScheduleKind.Cosine, 2e-5, totalSteps: 300, warmupSteps: 9),
            LossHistory = [new LossRecord(step - 1, 0.6931471805599453, 1.4e-5, 0.25), new LossRecord(step, double.NaN, 1.5e-5, 3.5)],
            Metadata = new Dictionary<string, string> { ["config_sha256"] = "ab12", ["data"] = "train.jsonl:1234" },
        };
    }

    private static IEnumerable<uint> Bits(IEnumerable<float> values) => values.Select(BitConverter.SingleToUInt32Bits);

    [Fact]
    public void SaveThenLoad_RestoresParametersOptimizerAndStateBitForBit()
    {
        using var run = new TempDirectory();
        (ParameterSet saved, AdamW savedOptimizer, string path) = SaveTrained(run.Path, steps: 3);
        Assert.Equal(Path.Combine(run.Path, "checkpoint-000003"), path);
        Assert.Equal(path, TrainingCheckpoint.Latest(run.Path));

        ParameterSet loaded = NewParameters(filled: false);
        var loadedOptimizer = new AdamW(loaded, new AdamWOptions { WeightDecay = 0.01 });
        TrainerState state = TrainingCheckpoint.Load(path, loaded, loadedOptimizer);

        Assert.Equal(State(3), state);
        Assert.True(double.IsNaN(state.LossHistory[1].Loss));
        foreach (Parameter p in saved.Trainable)
            Assert.Equal(Bits(p.Value), Bits(loaded[p.Name].Value));
        Assert.All(loaded["model.embed_tokens.weight"].Value, v => Assert.Equal(0f, v)); // frozen weights are not in the checkpoint
        Assert.Equal(3, loadedOptimizer.StepCount);
        AdamWState expected = savedOptimizer.ExportState(), actual = loadedOptimizer.ExportState();
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        for (int i = 0; i < expected.Tensors.Count; i++)
            Assert.Equal(Bits(expected.Tensors[i].Values), Bits(actual.Tensors[i].Values));

        // The restored generator continues the saved stream.
        var original = Xoshiro256StarStar.FromState(State(3).RngState.ToArray());
        var resumed = Xoshiro256StarStar.FromState(state.RngState.ToArray());
        Assert.Equal(original.NextUInt64(), resumed.NextUInt64());
    }

    [Fact]
    public void RandomState_ResumesTheStreamExactly()
    {
        var random = new Xoshiro256StarStar(7);
        random.NextUInt64();
        var copy = Xoshiro256StarStar.FromState(random.GetState());
        Assert.Equal(Enumerable.Range(0, 5).Select(_ => random.NextUInt64()).ToArray(), Enumerable.Range(0, 5).Select(_ => copy.NextUInt64()).ToArray());
        Assert.Throws<ArgumentException>(() => Xoshiro256StarStar.FromState([0, 0, 0, 0]));
    }

    private static Dictionary<string, string> HashFiles(string directory) =>
        Directory.EnumerateFiles(directory).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void CrashMidWrite_LeavesThePreviousCheckpointIntact_AndLatestStillFindsIt()
    {
        using var run = new TempDirectory();
        (ParameterSet set, AdamW optimizer, string first) = SaveTrained(run.Path, steps: 1);
        Dictionary<string, string> before = HashFiles(first);

        set.Trainable[0].Value[0] = 123f;
        var crash = new CheckpointSaveOptions
        {
            FileWritten = path =>
            {
                if (Path.GetFileName(path) == TrainingCheckpoint.TrainableFileName)
                    throw new IOException("simulated crash after the first file");
            },
        };
        Assert.Throws<IOException>(() => TrainingCheckpoint.Save(run.Path, set, optimizer, State(2), crash));

        Assert.Equal(first, TrainingCheckpoint.Latest(run.Path));
        Assert.Equal(before, HashFiles(first));
        Assert.False(Directory.Exists(Path.Combine(run.Path, "checkpoint-000002")));

        // What a killed process leaves (a staging directory, a directory missing a file) is not a checkpoint either.
        string staging = Path.Combine(run.Path, "checkpoint-000005.tmp-0123abcd");
        Directory.CreateDirectory(staging);
        foreach (string name in TrainingCheckpoint.FileNames)
            File.Copy(Path.Combine(first, name), Path.Combine(staging, name));
        string incomplete = Path.Combine(run.Path, "checkpoint-000004");
        Directory.CreateDirectory(incomplete);
        File.Copy(Path.Combine(first, TrainingCheckpoint.TrainableFileName), Path.Combine(incomplete, TrainingCheckpoint.TrainableFileName));
        Assert.Equal(first, TrainingCheckpoint.Latest(run.Path));
    }

    [Fact]
    public void Save_NeverOverwritesAnExistingCheckpoint()
    {
        using var run = new TempDirectory();
        (ParameterSet set, AdamW optimizer, string path) = SaveTrained(run.Path, steps: 1);
        Dictionary<string, string> before = HashFiles(path);
        set.Trainable[0].Value[0] = -1f;
        Assert.Throws<IOException>(() => TrainingCheckpoint.Save(run.Path, set, optimizer, State(1)));
        Assert.Equal(before, HashFiles(path));
        Assert.Single(Directory.EnumerateDirectories(run.Path));
    }

    [Fact]
    public void KeepLast_PrunesOlderCheckpointsAndLeftoverStaging()
    {
        using var run = new TempDirectory();
        (ParameterSet set, AdamW optimizer) = Trained(steps: 1);
        Directory.CreateDirectory(Path.Combine(run.Path, "checkpoint-000002.tmp-deadbeef"));
        foreach (long step in new long[] { 1, 2, 3, 4 })
            TrainingCheckpoint.Save(run.Path, set, optimizer, State(step), new CheckpointSaveOptions { KeepLast = 2 });
        Assert.Equal(["checkpoint-000003", "checkpoint-000004"], Directory.EnumerateDirectories(run.Path).Select(Path.GetFileName).Order());
        Assert.Equal([3L, 4L], TrainingCheckpoint.List(run.Path).Select(c => c.Step));
    }

    [Fact]
    public void CorruptTrainerState_IsAClearErrorAndChangesNothing()
    {
        using var run = new TempDirectory();
        string path = SaveTrained(run.Path, steps: 2).Path;
        string statePath = Path.Combine(path, TrainerState.FileName);

        File.WriteAllText(statePath, "{\"format\": \"coevo-trainer-state\", \"version\": 1, \"global_step\": 2,");
        ParameterSet fresh = NewParameters(filled: false);
        var freshOptimizer = new AdamW(fresh);
        var e = Assert.Throws<DataFormatException>(() => TrainingCheckpoint.Load(path, fresh, freshOptimizer));
        Assert.Equal(statePath, e.FilePath);
        Assert.Contains("not valid JSON", e.Problem);
        Assert.All(fresh.Trainable, p => Assert.All(p.Value, v => Assert.Equal(0f, v)));
        Assert.Equal(0, freshOptimizer.StepCount);

        string json = State(2).ToJson();
        File.WriteAllText(statePath, json.Replace("\"global_step\": 2", "\"global_step\": \"two\""));
        Fault.Expect(() => TrainingCheckpoint.Load(path, fresh, freshOptimizer), statePath, "$.global_step", "is not a 64-bit integer");
        File.WriteAllText(statePath, json.Replace("\"global_step\": 2", "\"global_step\": 7"));
        Fault.Expect(() => TrainingCheckpoint.Load(path, fresh, freshOptimizer), statePath, "$.global_step", "is 7 but the directory is checkpoint-000002");
        File.WriteAllText(statePath, json.Replace("\"rng_state\": [", "\"rng_state\": [\"x\", "));
        Fault.Expect(() => TrainingCheckpoint.Load(path, fresh, freshOptimizer), statePath, "$.rng_state[0]", "\"x\" is not an unsigned 64-bit integer");
    }

    [Fact]
    public void Load_RejectsTensorsThatDoNotFitTheParameterSet()
    {
        using var run = new TempDirectory();
        (ParameterSet set, _, string path) = SaveTrained(run.Path, steps: 1);
        string trainable = Path.Combine(path, TrainingCheckpoint.TrainableFileName);

        var wider = new ParameterSet
        {
            new Parameter("model.layers.0.self_attn.q_proj.lora_A.weight", [2, 4], new float[8], trainable: true),
            new Parameter("model.layers.0.self_attn.q_proj.lora_B.weight", [3, 2], new float[6], trainable: true),
            new Parameter("model.norm.weight", [9], new float[9], trainable: true),
        };
        Fault.Expect(() => TrainingCheckpoint.Load(path, wider, new AdamW(wider)), trainable,
            "tensor 'model.layers.0.self_attn.q_proj.lora_A.weight'", "has shape [2, 3] but the model needs [2, 4]");

        var fewer = new ParameterSet { new Parameter("model.norm.weight", [9], new float[9], trainable: true) };
        Fault.Expect(() => TrainingCheckpoint.Load(path, fewer, new AdamW(fewer)), trainable,
            "tensor 'model.layers.0.self_attn.q_proj.lora_A.weight'", "is not a trainable parameter of the model");

        SafeTensorsWriter.Write(trainable, set.Trainable.Select(p => TensorData.FromFloat32(p.Name, p.Shape.Select(d => (long)d).ToArray(), p.Value, TensorDType.BF16)).ToList());
        ParameterSet fresh = NewParameters(filled: false);
        Fault.Expect(() => TrainingCheckpoint.Load(path, fresh, new AdamW(fresh)), trainable,
            "tensor 'model.layers.0.self_attn.q_proj.lora_A.weight' field dtype", "is BF16; expected F32");
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Checkpoints;

public sealed record CheckpointSaveOptions
{
    /// <summary>After a successful save, delete all but the newest this many complete checkpoints; null keeps all.</summary>
    public int? KeepLast { get; init; }

    /// <summary>
    /// Called with each file's path once it is complete in the staging directory (for progress; tests throw from it to
    /// simulate a crash part-way through).
    /// </summary>
    public Action<string>? FileWritten { get; init; }
}

/// <summary>
/// A resumable training checkpoint: the directory "checkpoint-{step:D6}" in a run directory holding
/// <see cref="TrainableFileName"/> (the trainable parameters by name: adapter factors or full weights),
/// <see cref="OptimizerFileName"/> (AdamW moments, step in the metadata) and <see cref="TrainerState.FileName"/>.
/// A checkpoint is written into a staging directory and renamed into place whole (<see cref="AtomicDirectory"/>), so a
/// directory with the final name is always complete, and an existing checkpoint is never overwritten.
/// </summary>
/// <summary>A checkpoint read back: the trainer state, the trainable tensors and the optimizer state.</summary>
public sealed record CheckpointContents(TrainerState State, IReadOnlyList<NamedTensor> Trainable, AdamWState Optimizer);

public static partial class TrainingCheckpoint
{
    public const string DirectoryPrefix = "checkpoint-";
    public const string TrainableFileName = "trainable.safetensors";
    public const string OptimizerFileName = "optimizer.safetensors";

    private const string OptimizerStepKey = "step";

    public static IReadOnlyList<string> FileNames { get; } = [TrainableFileName, OptimizerFileName, TrainerState.FileName];

    [GeneratedRegex(@"^checkpoint-(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex CheckpointName();

    public static string DirectoryName(long step) =>
        DirectoryPrefix + step.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes "checkpoint-{GlobalStep:D6}" into <paramref name="runDirectory"/> and returns its path. Throws
    /// <see cref="IOException"/> when that checkpoint exists already; on any failure nothing but a staging directory
    /// (ignored by readers, removed by <see cref="Prune"/>) is left behind.
    /// </summary>
    public static string Save(string runDirectory, ParameterSet parameters, AdamW optimizer, TrainerState state, CheckpointSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        IReadOnlyList<Parameter> trainable = parameters.Trainable;
        if (!trainable.Select(p => p.Name).SequenceEqual(optimizer.Parameters.Select(p => p.Name)))
            throw new ArgumentException("the optimizer's parameters are not the parameter set's trainable parameters");
        return Save(runDirectory, trainable.Select(p => new NamedTensor(p.Name, p.Shape, p.Value)).ToList(),
            new AdamWState(optimizer.StepCount, optimizer.StateTensors()), state, options);
    }

    /// <summary>
    /// The backend-neutral form: trainable tensors and optimizer state as named tensors (what
    /// <c>ITrainerBackend.GetTrainable</c> and <c>GetOptimizerState</c> return).
    /// </summary>
    public static string Save(string runDirectory, IReadOnlyList<NamedTensor> trainable, AdamWState optimizer, TrainerState state,
        CheckpointSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainable);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        state.Validate();
        options ??= new CheckpointSaveOptions();

        Directory.CreateDirectory(runDirectory);
        string target = Path.Combine(Path.GetFullPath(runDirectory), DirectoryName(state.GlobalStep));
        if (Directory.Exists(target))
            throw new IOException($"{target} already exists; a checkpoint is never overwritten");
        string staging = AtomicDirectory.CreateStaging(target);
        try
        {
            WriteFile(staging, TrainableFileName, options, path => ExpectedTensors.Write(path, trainable,
                new Dictionary<string, string> { ["format"] = "pt" }));
            WriteFile(staging, OptimizerFileName, options, path => ExpectedTensors.Write(path, optimizer.Tensors,
                new Dictionary<string, string>
                {
                    ["optimizer"] = "adamw",
                    [OptimizerStepKey] = optimizer.Step.ToString(CultureInfo.InvariantCulture),
                }));
            WriteFile(staging, TrainerState.FileName, options, path => AtomicFile.WriteAllText(path, state.ToJson()));
            AtomicDirectory.Publish(staging, target);
        }
        catch
        {
            AtomicDirectory.DeleteQuietly(staging);
            throw;
        }
        if (options.KeepLast is int keep)
            Prune(runDirectory, keep);
        return target;
    }

    private static void WriteFile(string directory, string fileName, CheckpointSaveOptions options, Action<string> write)
    {
        string path = Path.Combine(directory, fileName);
        write(path);
        options.FileWritten?.Invoke(path);
    }

    /// <summary>The complete checkpoints of a run (every file present), oldest first; staging directories are ignored.</summary>
    public static IReadOnlyList<(long Step, string Path)> List(string runDirectory)
    {
        if (!Directory.Exists(runDirectory))
            return [];
        var found = new List<(long, string)>();
        foreach (string directory in Directory.EnumerateDirectories(runDirectory))
        {
            Match match = CheckpointName().Match(Path.GetFileName(directory));
            if (match.Success && long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long step)
                && FileNames.All(name => File.Exists(Path.Combine(directory, name))))
                found.Add((step, directory));
        }
        return found.OrderBy(c => c.Item1).ToList();
    }

    /// <summary>The newest complete checkpoint of a run, or null when there is none.</summary>
    public static string? Latest(string runDirectory) => List(runDirectory) is { Count: > 0 } all ? all[^1].Path : null;

    /// <summary>
    /// Deletes all but the newest <paramref name="keepLast"/> complete checkpoints, and staging directories left by failed
    /// saves (a run directory has one writer). Each checkpoint is first renamed to a staging name, so a crash mid-delete
    /// never leaves a partial directory under a checkpoint name.
    /// </summary>
    public static void Prune(string runDirectory, int keepLast)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keepLast, 1);
        IReadOnlyList<(long Step, string Path)> all = List(runDirectory);
        foreach ((_, string path) in all.Take(Math.Max(0, all.Count - keepLast)))
        {
            string doomed = $"{path}{AtomicDirectory.StagingMarker}pruned-{Guid.NewGuid():N}";
            Directory.Move(path, doomed);
            AtomicDirectory.DeleteQuietly(doomed);
        }
        foreach (string leftover in Directory.EnumerateDirectories(runDirectory, DirectoryPrefix + "*" + AtomicDirectory.StagingMarker + "*"))
            AtomicDirectory.DeleteQuietly(leftover);
    }

    /// <summary>
    /// Reads a checkpoint into <paramref name="parameters"/> (its trainable parameters) and <paramref name="optimizer"/>,
    /// returning the trainer state. Every file is validated first (see <see cref="Read"/>), so a bad checkpoint throws
    /// and changes nothing.
    /// </summary>
    public static TrainerState Load(string checkpointDirectory, ParameterSet parameters, AdamW optimizer)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        IReadOnlyList<Parameter> trainable = parameters.Trainable;
        CheckpointContents contents = Read(checkpointDirectory, trainable.Select(p => (p.Name, p.Shape)).ToList(), optimizer.StateLayout.ToList());
        optimizer.ImportState(contents.Optimizer);
        for (int i = 0; i < trainable.Count; i++)
            contents.Trainable[i].Values.CopyTo(trainable[i].Value, 0);
        return contents.State;
    }

    /// <summary>
    /// Reads and validates a whole checkpoint against the layouts the caller expects (tensor names, shapes and dtype F32;
    /// the optimizer step; trainer_state.json; the step against the directory name). Faults are
    /// <see cref="DataFormatException"/>s naming the file and tensor or field. Tensors come back in layout order.
    /// </summary>
    public static CheckpointContents Read(string checkpointDirectory, IReadOnlyList<(string Name, int[] Shape)> trainableLayout,
        IReadOnlyList<(string Name, int[] Shape)> optimizerLayout)
    {
        foreach (string name in FileNames)
            if (!File.Exists(Path.Combine(checkpointDirectory, name)))
                throw new FileNotFoundException($"{checkpointDirectory} is not a complete checkpoint: {name} is missing", Path.Combine(checkpointDirectory, name));

        string statePath = Path.Combine(checkpointDirectory, TrainerState.FileName);
        TrainerState state = TrainerState.Load(statePath);
        Match match = CheckpointName().Match(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(checkpointDirectory))));
        if (match.Success && long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) != state.GlobalStep)
            throw new DataFormatException(statePath, "$.global_step", $"is {state.GlobalStep} but the directory is {match.Value}");

        float[][] values = new ExpectedTensors(trainableLayout.Select(p => (p.Name, TensorShape.ToLong(p.Shape))).ToList())
        {
            DescribeUnknown = _ => "is not a trainable parameter of the model",
        }.ReadFrom(Path.Combine(checkpointDirectory, TrainableFileName));

        string optimizerPath = Path.Combine(checkpointDirectory, OptimizerFileName);
        long optimizerStep = 0;
        float[][] moments = new ExpectedTensors(optimizerLayout.Select(t => (t.Name, TensorShape.ToLong(t.Shape))).ToList())
        {
            DescribeUnknown = _ => "is not an AdamW moment of a trainable parameter",
        }.ReadFrom(optimizerPath, file => optimizerStep = ReadOptimizerStep(file));

        return new CheckpointContents(state,
            trainableLayout.Select((t, i) => new NamedTensor(t.Name, t.Shape, values[i])).ToList(),
            new AdamWState(optimizerStep, optimizerLayout.Select((t, i) => new NamedTensor(t.Name, t.Shape, moments[i])).ToList()));
    }

    private static long ReadOptimizerStep(SafeTensorsFile file)
    {
        string position = $"__metadata__ field {OptimizerStepKey}";
        if (!file.Metadata.TryGetValue(OptimizerStepKey, out string? text))
            throw new DataFormatException(file.FilePath, position, "missing: the optimizer's step count");
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            throw new DataFormatException(file.FilePath, position, $"\"{text}\" is not a non-negative integer");
        return step;
    }
}

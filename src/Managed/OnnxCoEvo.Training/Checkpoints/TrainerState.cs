using System.Globalization;
using System.Text;
using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Json;
using OnnxCoEvo.Training.Optim;

namespace OnnxCoEvo.Training.Checkpoints;

/// <summary>One logged optimizer step; a non-finite value is stored as JSON null and read back as NaN.</summary>
public sealed record LossRecord(long Step, double Loss, double LearningRate, double GradNorm);

/// <summary>
/// Where a training run stands, for resuming it exactly: trainer_state.json of a checkpoint. The trainer owns the
/// meaning of <see cref="EpochPosition"/> (how far into the epoch's order it has consumed) and of <see cref="Metadata"/>
/// (config hash, data file fingerprint, ...).
/// </summary>
public sealed record TrainerState
{
    public const string FileName = "trainer_state.json";
    public const string FormatName = "coevo-trainer-state";
    public const int FormatVersion = 1;

    /// <summary>Optimizer updates completed; the checkpoint directory is named after it.</summary>
    public required long GlobalStep { get; init; }

    /// <summary>The epoch in progress, 0-based.</summary>
    public int Epoch { get; init; }

    /// <summary>Items of the current epoch's order already consumed.</summary>
    public long EpochPosition { get; init; }

    /// <summary>The four words of the trainer's global xoshiro256** generator (<c>Xoshiro256StarStar.GetState</c>).</summary>
    public required IReadOnlyList<ulong> RngState { get; init; }

    /// <summary>The rate of the last update.</summary>
    public double LearningRate { get; init; }

    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>The most recent log entries (the trainer decides how many to keep).</summary>
    public IReadOnlyList<LossRecord> LossHistory { get; init; } = [];

    /// <summary>Free-form strings the trainer records and checks on resume.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (GlobalStep < 0)
            throw new ArgumentException($"trainer state global_step must be >= 0, is {GlobalStep}");
        if (Epoch < 0 || EpochPosition < 0)
            throw new ArgumentException($"trainer state epoch {Epoch} and epoch_position {EpochPosition} must be >= 0");
        if (RngState.Count != 4 || RngState.All(word => word == 0))
            throw new ArgumentException("trainer state rng_state must be 4 words, not all zero (xoshiro256** state)");
        if (!double.IsFinite(LearningRate) || LearningRate < 0)
            throw new ArgumentException($"trainer state learning_rate must be finite and >= 0, is {LearningRate}");
    }

    public string ToJson()
    {
        Validate();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", FormatName);
            json.WriteNumber("version", FormatVersion);
            json.WriteNumber("global_step", GlobalStep);
            json.WriteNumber("epoch", Epoch);
            json.WriteNumber("epoch_position", EpochPosition);
            // Strings: a 64-bit word does not survive readers that hold JSON numbers as doubles.
            json.WriteStartArray("rng_state");
            foreach (ulong word in RngState)
                json.WriteStringValue(word.ToString(CultureInfo.InvariantCulture));
            json.WriteEndArray();
            json.WriteNumber("learning_rate", LearningRate);
            if (Schedule is { } schedule)
            {
                json.WriteStartObject("lr_schedule");
                json.WriteString("name", schedule.Name);
                json.WriteNumber("peak_learning_rate", schedule.PeakLearningRate);
                json.WriteNumber("warmup_steps", schedule.WarmupSteps);
                json.WriteNumber("total_steps", schedule.TotalSteps);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("lr_schedule");
            }
            json.WriteStartArray("loss_history");
            foreach (LossRecord entry in LossHistory)
            {
                json.WriteStartObject();
                json.WriteNumber("step", entry.Step);
                WriteNumberOrNull(json, "loss", entry.Loss);
                WriteNumberOrNull(json, "learning_rate", entry.LearningRate);
                WriteNumberOrNull(json, "grad_norm", entry.GradNorm);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("metadata");
            foreach ((string key, string value) in Metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                json.WriteString(key, value);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
            json.WriteNumber(name, value);
        else
            json.WriteNull(name);
    }

    /// <summary>Reads trainer_state.json; every fault is a <see cref="DataFormatException"/> naming the file and the JSON path.</summary>
    public static TrainerState Load(string path) => Parse(File.ReadAllBytes(path), path);

    public static TrainerState Parse(ReadOnlyMemory<byte> utf8Json, string filePath = FileName)
    {
        var source = new JsonSource(filePath) { Style = JsonStyle.Config };
        using JsonDocument document = source.Parse(utf8Json, JsonSyntaxErrorFormat.LineByte);
        LocatedJson root = source.Root(document).ExpectKind(JsonValueKind.Object);
        if (root.RequiredString("format") is var format and not FormatName)
            throw root.FieldError("format", $"is '{format}'; expected '{FormatName}'");
        if (root.RequiredInt32("version") is var version and not FormatVersion)
            throw root.FieldError("version", $"is {version}; this build reads version {FormatVersion}");

        LocatedJson rng = root.Required("rng_state").ExpectKind(JsonValueKind.Array);
        var rngState = rng.Items().Select(word => ulong.TryParse(word.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? value
            : throw word.Error($"\"{word.Element.GetString()}\" is not an unsigned 64-bit integer")).ToArray();
        if (rngState.Length != 4 || rngState.All(w => w == 0))
            throw rng.Error("must be 4 words, not all zero (xoshiro256** state)");

        var history = new List<LossRecord>();
        if (root.Optional("loss_history") is { } entries)
        {
            foreach (LocatedJson entry in entries.Items())
            {
                history.Add(new LossRecord(ReadInt64(entry.Required("step"), 0),
                    ReadDoubleOrNaN(entry, "loss"), ReadDoubleOrNaN(entry, "learning_rate"), ReadDoubleOrNaN(entry, "grad_norm")));
            }
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.OptionalObject("metadata") is { } map)
            foreach ((string key, LocatedJson value) in map.Members())
                metadata[key] = value.GetString();

        double learningRate = root.RequiredDouble("learning_rate");
        if (!(learningRate >= 0))
            throw root.FieldError("learning_rate", $"is {learningRate}; must be >= 0");
        return new TrainerState
        {
            GlobalStep = ReadInt64(root.Required("global_step"), 0),
            Epoch = (int)ReadInt64(root.Required("epoch"), 0, int.MaxValue),
            EpochPosition = ReadInt64(root.Required("epoch_position"), 0),
            RngState = rngState,
            LearningRate = learningRate,
            Schedule = root.OptionalObject("lr_schedule") is { } schedule ? ParseSchedule(schedule) : null,
            LossHistory = history,
            Metadata = metadata,
        };
    }

    private static LearningRateSchedule ParseSchedule(LocatedJson schedule)
    {
        string name = schedule.RequiredString("name");
        if (!LearningRateSchedule.TryParseKind(name, out LearningRateScheduleKind kind))
            throw schedule.FieldError("name", $"unknown learning-rate schedule '{name}'");
        try
        {
            return new LearningRateSchedule(kind, schedule.RequiredDouble("peak_learning_rate"),
                ReadInt64(schedule.Required("total_steps"), 1), ReadInt64(schedule.Required("warmup_steps"), 0));
        }
        catch (ArgumentException e)
        {
            throw schedule.Error(e.Message);
        }
    }

    private static long ReadInt64(LocatedJson value, long min, long max = long.MaxValue)
    {
        if (value.Kind != JsonValueKind.Number || !value.Element.TryGetInt64(out long number))
            throw value.Error($"{value.Element.GetRawText()} is not a 64-bit integer");
        if (number < min || number > max)
            throw value.Error($"is {number}; must be in [{min}, {max}]");
        return number;
    }

    private static double ReadDoubleOrNaN(LocatedJson entry, string name) => entry.OptionalDouble(name) ?? double.NaN;

    public bool Equals(TrainerState? other) =>
        other is not null && GlobalStep == other.GlobalStep && Epoch == other.Epoch && EpochPosition == other.EpochPosition
        && RngState.SequenceEqual(other.RngState) && LearningRate.Equals(other.LearningRate) && Equals(Schedule, other.Schedule)
        && LossHistory.SequenceEqual(other.LossHistory)
        && Metadata.Count == other.Metadata.Count && Metadata.All(m => other.Metadata.TryGetValue(m.Key, out string? v) && v == m.Value);

    public override int GetHashCode() => HashCode.Combine(GlobalStep, Epoch, EpochPosition, LearningRate);
}

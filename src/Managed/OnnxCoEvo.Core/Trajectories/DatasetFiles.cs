namespace OnnxCoEvo.Core.Trajectories;

/// <summary>Trajectories read from a file in any supported format, with the torn tail a JSONL file may have.</summary>
public sealed record TrajectoryDataset(string Path, TrajectoryFormat Format, IReadOnlyList<Trajectory> Trajectories, JsonlTornTail? TornTail);

/// <summary>Preference pairs read from a file in any supported format, with those dropped for breaking the rules.</summary>
public sealed record PreferenceDataset(string Path, TrajectoryFormat Format, IReadOnlyList<PreferencePair> Pairs,
    IReadOnlyList<DroppedPreferencePair> Dropped, JsonlTornTail? TornTail);

/// <summary>
/// One entry point for every dataset file the CLI and the trainer take: detects (or is told) the format, reads
/// trajectories or preference pairs, and writes them in any format that can hold them. ETO explored outputs are one
/// file per episode, so for them the path may also be a directory of *.json files.
/// </summary>
public static class DatasetFiles
{
    /// <summary>Environments a file name may start with, to infer the environment of ETO files that do not say it.</summary>
    public static IReadOnlyList<string> KnownEnvironments { get; } = ["webshop", "household", "alfworld", "sciworld"];

    public static bool HoldsPairs(TrajectoryFormat format) =>
        format is TrajectoryFormat.CanonicalPairs or TrajectoryFormat.EtoDpo or TrajectoryFormat.TrlDpo;

    public static TrajectoryFormat ParseFormat(string formatName) =>
        TrajectoryFormats.TryParse(formatName, out TrajectoryFormat named) ? named
            : throw new ArgumentException($"unknown dataset format '{formatName}'; use one of {string.Join(", ", Enum.GetValues<TrajectoryFormat>().Select(TrajectoryFormats.Name))}");

    /// <summary>The named format, or the detected one when <paramref name="formatName"/> is null.</summary>
    public static TrajectoryFormat ResolveFormat(string path, string? formatName)
    {
        if (formatName is not null)
            return ParseFormat(formatName);
        if (Directory.Exists(path))
            return TrajectoryFormat.EtoExplored;
        return TrajectoryFormats.Detect(path);
    }

    public static TrajectoryDataset ReadTrajectories(string path, TrajectoryFormat format, string? environment = null, string? split = null)
    {
        if (HoldsPairs(format))
            throw new ArgumentException($"{path}: holds preference pairs ({TrajectoryFormats.Name(format)}), not trajectories");
        switch (format)
        {
            case TrajectoryFormat.Canonical:
                JsonlReadResult<Trajectory> canonical = TrajectoryStore.ReadAll(path);
                return new(path, format, canonical.Records, canonical.TornTail);
            case TrajectoryFormat.EtoSft:
                string env = environment ?? InferEnvironment(path, format);
                return new(path, format, EtoSftFormat.Read(path).Select(i => EtoSftFormat.ToTrajectory(i, env, split)).ToList(), null);
            case TrajectoryFormat.AgentGym:
                return new(path, format, AgentTrajFormat.Read(path).Select(i => AgentTrajFormat.ToTrajectory(i, split)).ToList(), null);
            case TrajectoryFormat.EtoExplored:
                var options = new EtoExploredReadOptions { Environment = environment ?? InferEnvironment(path, format), Split = split };
                IEnumerable<string> files = Directory.Exists(path)
                    ? Directory.EnumerateFiles(path, "*.json").Order(StringComparer.Ordinal)
                    : [path];
                return new(path, format, files.Select(f => EtoExploredFormat.Read(f, options)).ToList(), null);
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
    }

    public static PreferenceDataset ReadPairs(string path, TrajectoryFormat format, bool dropInvalidPairs = false)
    {
        PreferencePairReadResult result = format switch
        {
            TrajectoryFormat.EtoDpo => EtoDpoFormat.Read(path, dropInvalidPairs),
            TrajectoryFormat.TrlDpo => TrlDpoFormat.Read(path, dropInvalidPairs),
            TrajectoryFormat.CanonicalPairs => ReadCanonicalPairs(path),
            _ => throw new ArgumentException($"{path}: holds trajectories ({TrajectoryFormats.Name(format)}), not preference pairs"),
        };
        return new(path, format, result.Pairs, result.Dropped, result.TornTail);
    }

    public static void WriteTrajectories(string path, TrajectoryFormat format, IEnumerable<Trajectory> trajectories)
    {
        switch (format)
        {
            case TrajectoryFormat.Canonical: JsonlReader.WriteFile(path, TrajectoryJson.Codec, trajectories); break;
            case TrajectoryFormat.EtoSft: EtoSftFormat.Write(path, trajectories.Select(EtoSftFormat.FromTrajectory)); break;
            case TrajectoryFormat.AgentGym: AgentTrajFormat.Write(path, trajectories.Select(AgentTrajFormat.FromTrajectory)); break;
            default: throw new ArgumentException($"trajectories cannot be written as {TrajectoryFormats.Name(format)}; use jsonl, eto-sft or agentgym");
        }
    }

    public static void WritePairs(string path, TrajectoryFormat format, IEnumerable<PreferencePair> pairs)
    {
        switch (format)
        {
            case TrajectoryFormat.CanonicalPairs: JsonlReader.WriteFile(path, PreferencePairJson.Codec, pairs); break;
            case TrajectoryFormat.EtoDpo: EtoDpoFormat.Write(path, pairs); break;
            case TrajectoryFormat.TrlDpo: TrlDpoFormat.Write(path, pairs); break;
            default: throw new ArgumentException($"preference pairs cannot be written as {TrajectoryFormats.Name(format)}; use pairs-jsonl, eto-dpo or trl-dpo");
        }
    }

    /// <summary>Canonical pair files are written valid by this toolkit, so a broken pair there is an error, never dropped.</summary>
    private static PreferencePairReadResult ReadCanonicalPairs(string path)
    {
        JsonlReadResult<PreferencePair> read = JsonlReader.ReadAll(path, PreferencePairJson.Codec);
        return new PreferencePairReadResult(read.Records, [], read.TornTail);
    }

    private static string InferEnvironment(string path, TrajectoryFormat format)
    {
        string name = System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path))).ToLowerInvariant();
        return KnownEnvironments.FirstOrDefault(e => name.StartsWith(e, StringComparison.Ordinal))
            ?? throw new ArgumentException($"{path}: {TrajectoryFormats.Name(format)} files do not name their environment and the file name does not start with one of {string.Join(", ", KnownEnvironments)}; pass --env");
    }
}

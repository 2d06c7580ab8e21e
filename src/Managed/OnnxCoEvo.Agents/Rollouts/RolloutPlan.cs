using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Rollouts;

/// <summary>
/// "--shard i/n": worker i of n takes the tasks whose index % n == i, so shards never overlap whatever order the task
/// list is in, and each worker writes its own file.
/// </summary>
public readonly record struct RolloutShard(int Index, int Count)
{
    public static readonly RolloutShard Whole = new(0, 1);

    public bool Contains(EnvironmentTask task) => Count <= 1 || task.Index % Count == Index;

    public static RolloutShard Parse(string text)
    {
        int slash = text.IndexOf('/');
        if (slash <= 0
            || !int.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            || count < 1 || index >= count)
            throw new ArgumentException($"--shard must be i/n with 0 <= i < n (e.g. 0/4), got '{text}'");
        return new RolloutShard(index, count);
    }

    public override string ToString() => $"{Index}/{Count}";
}

/// <summary>
/// One episode to run: a task and its sample number, optionally starting from a recorded trajectory's state after
/// <see cref="ReplaySteps"/> steps (EEF probes restore expert states this way).
/// </summary>
public sealed record RolloutWorkItem(EnvironmentTask Task, int Sample = 0, Trajectory? ReplayFrom = null, int ReplaySteps = 0)
{
    /// <summary>The identity a finished episode is written under, so a resumed run can skip it.</summary>
    public string Key => FormatKey(Task.Id, Sample, ReplayFrom is null ? 0 : ReplaySteps);

    public static string FormatKey(string taskId, int sample, int replaySteps) =>
        string.Create(CultureInfo.InvariantCulture, $"{taskId}#{sample}@{replaySteps}");
}

/// <summary>Builds the work list of a run: tasks x samples, cut to a shard, minus the episodes an earlier run already wrote.</summary>
public static class RolloutPlan
{
    public static IReadOnlyList<RolloutWorkItem> Build(IEnumerable<EnvironmentTask> tasks, int samplesPerTask, RolloutShard shard,
        IReadOnlySet<string>? finishedKeys = null)
    {
        if (samplesPerTask < 1) throw new ArgumentOutOfRangeException(nameof(samplesPerTask), samplesPerTask, "samples per task must be at least 1");
        var items = new List<RolloutWorkItem>();
        foreach (EnvironmentTask task in tasks)
        {
            if (!shard.Contains(task))
                continue;
            for (int sample = 0; sample < samplesPerTask; sample++)
            {
                var item = new RolloutWorkItem(task, sample);
                if (finishedKeys is null || !finishedKeys.Contains(item.Key))
                    items.Add(item);
            }
        }
        return items;
    }

    /// <summary>The keys of the episodes already in a trajectories file (missing file: none). A torn last line is not finished.</summary>
    public static IReadOnlySet<string> ReadFinishedKeys(string path)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(path))
            return keys;
        foreach (JsonlRecord<Trajectory> record in TrajectoryStore.Read(path, new JsonlReadOptions()))
            keys.Add(KeyOf(record.Value));
        return keys;
    }

    /// <summary>The work-item key a written trajectory corresponds to (sample and replayed steps from its metadata; 0 when absent).</summary>
    public static string KeyOf(Trajectory trajectory) =>
        RolloutWorkItem.FormatKey(trajectory.TaskId, MetadataInt(trajectory, Episode.SampleKey), MetadataInt(trajectory, Episode.ReplayedStepsKey));

    private static int MetadataInt(Trajectory trajectory, string key) =>
        trajectory.Metadata.TryGetValue(key, out JsonElement value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n : 0;
}

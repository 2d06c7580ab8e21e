using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Rollouts;

/// <summary>Where finished episodes go. Called from the farm loop only (never concurrently), once per batch of episodes that ended on the same turn.</summary>
public interface IRolloutSink
{
    void Write(IReadOnlyList<Trajectory> finished);
}

/// <summary>Appends to a trajectories.jsonl with one fsync per batch: a crash loses only the episodes still in flight.</summary>
public sealed class TrajectoryFileSink(TrajectoryStore store) : IRolloutSink
{
    public void Write(IReadOnlyList<Trajectory> finished) => store.AppendRange(finished);
}

/// <summary>Keeps trajectories in memory (evaluation, tests).</summary>
public sealed class InMemoryRolloutSink : IRolloutSink
{
    private readonly List<Trajectory> _trajectories = [];

    public IReadOnlyList<Trajectory> Trajectories => _trajectories;

    public void Write(IReadOnlyList<Trajectory> finished) => _trajectories.AddRange(finished);
}

/// <summary>Sends each batch to several sinks (a file and the in-memory summary).</summary>
public sealed class TeeRolloutSink(params IRolloutSink[] sinks) : IRolloutSink
{
    public void Write(IReadOnlyList<Trajectory> finished)
    {
        foreach (IRolloutSink sink in sinks)
            sink.Write(finished);
    }
}

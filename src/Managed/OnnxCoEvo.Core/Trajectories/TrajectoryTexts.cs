namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// The plain text of recorded episodes (every turn's content, one string per episode), the corpus a tiny model's
/// tokenizer can learn its merges from so that the environment's pages and actions take fewer tokens.
/// </summary>
public static class TrajectoryTexts
{
    /// <summary>One string per trajectory of a trajectory file in any format <see cref="DatasetFiles"/> reads.</summary>
    public static IReadOnlyList<string> Read(string path, string? formatName = null)
    {
        TrajectoryFormat format = DatasetFiles.ResolveFormat(path, formatName);
        if (DatasetFiles.HoldsPairs(format))
            throw new DataFormatException(path, "dataset", $"holds preference pairs ({TrajectoryFormats.Name(format)}); a tokenizer corpus is read from trajectories");
        IReadOnlyList<Trajectory> trajectories = DatasetFiles.ReadTrajectories(path, format).Trajectories;
        if (trajectories.Count == 0)
            throw new DataFormatException(path, "dataset", "holds no trajectories to learn a tokenizer from");
        return trajectories.Select(t => string.Join('\n', t.Turns.Select(turn => turn.Content))).ToArray();
    }
}

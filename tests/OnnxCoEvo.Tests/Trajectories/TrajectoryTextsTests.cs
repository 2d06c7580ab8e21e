using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Trajectories;

/// <summary>TrajectoryTexts: the tokenizer corpus of `coevo model init --tokenizer-corpus`.</summary>
public sealed class TrajectoryTextsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void One_text_per_trajectory_with_every_turn()
    {
        string path = _dir.File("t.jsonl");
        Trajectory trajectory = Samples.WebShopTrajectory();
        DatasetFiles.WriteTrajectories(path, TrajectoryFormat.Canonical, [trajectory, Samples.WebShopTrajectory("webshop_7")]);
        IReadOnlyList<string> texts = TrajectoryTexts.Read(path);
        Assert.Equal(2, texts.Count);
        Assert.Equal(string.Join('\n', trajectory.Turns.Select(t => t.Content)), texts[0]);
    }

    [Fact]
    public void A_pairs_file_or_an_empty_file_is_refused_naming_the_file()
    {
        string pairs = _dir.File("p.jsonl");
        DatasetFiles.WritePairs(pairs, TrajectoryFormat.CanonicalPairs, [Samples.Pair()]);
        var e = Assert.Throws<DataFormatException>(() => TrajectoryTexts.Read(pairs));
        Assert.Equal(pairs, e.FilePath);
        Assert.Contains("preference pairs", e.Message);

        string empty = _dir.File("empty.jsonl");
        File.WriteAllText(empty, "");
        e = Assert.Throws<DataFormatException>(() => TrajectoryTexts.Read(empty, "jsonl"));
        Assert.Equal(empty, e.FilePath);
        Assert.Contains("no trajectories", e.Message);
    }
}

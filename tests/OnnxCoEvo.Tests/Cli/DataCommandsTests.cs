using OnnxCoEvo.Cli;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Tests.Trajectories;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo data info|convert` and the <see cref="DatasetFiles"/> entry point they share.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class DataCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    [Fact]
    public void Eto_sft_converts_to_agentgym_and_back_to_canonical_keeping_turns_and_rewards()
    {
        // AgentGym item ids are <environment>_<index>: the sample's "alf-3" becomes a number here.
        string sft = _dir.Write("webshop_sft.json", Samples.EtoSft.Replace("\"alf-3\"", "3", StringComparison.Ordinal));
        string agentgym = _dir.File("agentgym.json");
        string canonical = _dir.File("trajectories.jsonl");
        Assert.Equal(0, Coevo("data", "convert", sft, "--to", "agentgym", "--out", agentgym));
        Assert.Equal(0, Coevo("data", "convert", agentgym, "--to", "jsonl", "--out", canonical, "--split", "train"));
        Assert.Equal(0, Coevo("data", "info", canonical));

        IReadOnlyList<Trajectory> original = DatasetFiles.ReadTrajectories(sft, TrajectoryFormat.EtoSft).Trajectories;
        TrajectoryDataset back = DatasetFiles.ReadTrajectories(canonical, DatasetFiles.ResolveFormat(canonical, null));
        Assert.Equal(TrajectoryFormat.Canonical, back.Format);
        Assert.Equal(original.Count, back.Trajectories.Count);
        for (int i = 0; i < original.Count; i++)
        {
            Assert.Equal(original[i].Turns.Select(t => (t.Role, t.Content)), back.Trajectories[i].Turns.Select(t => (t.Role, t.Content)));
            Assert.Equal(original[i].Reward, back.Trajectories[i].Reward);
            Assert.Equal("webshop", back.Trajectories[i].Environment);
            Assert.Equal("train", back.Trajectories[i].Split);
        }
    }

    [Fact]
    public void A_task_id_agentgym_cannot_express_stops_the_conversion_and_leaves_the_old_output_intact()
    {
        string sft = _dir.Write("webshop_sft.json", Samples.EtoSft);
        string output = _dir.Write("agentgym.json", "[]");
        var e = Assert.Throws<ArgumentException>(() => Coevo("data", "convert", sft, "--to", "agentgym", "--out", output));
        Assert.Contains("alf-3", e.Message);
        Assert.Equal("[]", File.ReadAllText(output));
    }

    [Fact]
    public void Eto_dpo_converts_to_trl_with_the_same_pairs()
    {
        string dpo = _dir.Write("pairs.json", Samples.EtoDpo);
        string trl = _dir.File("pairs.trl.jsonl");
        Assert.Equal(0, Coevo("data", "convert", dpo, "--to", "trl-dpo", "--out", trl));
        Assert.Equal(0, Coevo("data", "info", trl));
        PreferencePair a = Assert.Single(DatasetFiles.ReadPairs(dpo, TrajectoryFormat.EtoDpo).Pairs);
        PreferencePair b = Assert.Single(DatasetFiles.ReadPairs(trl, TrajectoryFormat.TrlDpo).Pairs);
        Assert.Equal(a.Prompt, b.Prompt);
        Assert.Equal(a.Chosen, b.Chosen);
        Assert.Equal(a.Rejected, b.Rejected);
    }

    [Fact]
    public void Converting_trajectories_to_a_pair_format_is_refused_and_writes_nothing()
    {
        string sft = _dir.Write("webshop_sft.json", Samples.EtoSft);
        var e = Assert.Throws<ArgumentException>(() => Coevo("data", "convert", sft, "--to", "trl-dpo", "--out", _dir.File("x.jsonl")));
        Assert.Contains("preference pairs", e.Message);
        Assert.False(File.Exists(_dir.File("x.jsonl")));
    }

    [Fact]
    public void Eto_sft_without_an_environment_in_its_name_asks_for_env()
    {
        string sft = _dir.Write("expert.json", Samples.EtoSft);
        var e = Assert.Throws<ArgumentException>(() => DatasetFiles.ReadTrajectories(sft, TrajectoryFormat.EtoSft));
        Assert.Contains("--env", e.Message);
        Assert.Equal("household", DatasetFiles.ReadTrajectories(sft, TrajectoryFormat.EtoSft, environment: "household").Trajectories[0].Environment);
    }

    [Fact]
    public void A_malformed_jsonl_line_is_reported_with_file_and_line()
    {
        Trajectory t = Samples.WebShopTrajectory();
        string path = _dir.Write("bad.jsonl", TrajectoryJson.Serialize(t) + "\n{\"schema\": 1, oops}\n" + TrajectoryJson.Serialize(t) + "\n");
        var e = Assert.Throws<DataFormatException>(() => Coevo("data", "info", path, "--format", "jsonl"));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith("line 2", e.Position);
    }

    [Fact]
    public void Unknown_format_name_lists_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => DatasetFiles.ParseFormat("parquet"));
        Assert.Contains("eto-sft", e.Message);
    }
}

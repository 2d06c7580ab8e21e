using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Trajectories;

public sealed class TrajectoryFormatsTests
{
    public static TheoryData<string, string, TrajectoryFormat> Inputs => new()
    {
        { "t.jsonl", TrajectoryJson.Serialize(Samples.WebShopTrajectory()) + "\n" + TrajectoryJson.Serialize(Samples.WebShopTrajectory()) + "\n", TrajectoryFormat.Canonical },
        { "p.jsonl", PreferencePairJson.Serialize(Samples.Pair()) + "\n", TrajectoryFormat.CanonicalPairs },
        { "webshop_sft.json", Samples.EtoSft, TrajectoryFormat.EtoSft },
        { "webshop_pm.json", Samples.EtoDpo, TrajectoryFormat.EtoDpo },
        { "agenttraj.json", Samples.AgentTraj, TrajectoryFormat.AgentGym },
        { "agenteval.jsonl", "{\"conversations\": null, \"item_id\": \"webshop_5238\"}\n", TrajectoryFormat.AgentGym },
        { "12.json", Samples.EtoExplored(), TrajectoryFormat.EtoExplored },
        { "trl.jsonl", """{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""" + "\n", TrajectoryFormat.TrlDpo },
        { "bom.json", "\uFEFF  \n" + Samples.EtoSft, TrajectoryFormat.EtoSft },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Detects_each_format_from_its_first_record(string name, string text, TrajectoryFormat expected)
    {
        using var dir = new TempDirectory();
        Assert.Equal(expected, TrajectoryFormats.Detect(dir.Write(name, text)));
    }

    [Fact]
    public void Detection_reads_only_the_first_record_of_a_large_array()
    {
        using var dir = new TempDirectory();
        string path = dir.File("big.json");
        // The first item is complete; the rest is garbage that a whole-file parse would reject.
        File.WriteAllText(path, "[{\"id\":\"1\",\"conversations\":[{\"from\":\"human\",\"value\":\"" + new string('x', 100_000) + "\"}]}, {{{ not json");
        Assert.Equal(TrajectoryFormat.EtoSft, TrajectoryFormats.Detect(path));
    }

    [Theory]
    [InlineData("", "$", "empty file")]
    [InlineData("   \n", "$", "empty file")]
    [InlineData("[]", "$", "empty array")]
    [InlineData("[1, 2]", "$[0]", "the first record is a number")]
    [InlineData("{\"name\": \"x\", \"rows\": []}\n", "$", "cannot tell the format from the first record's members (name, rows)")]
    [InlineData("[{\"id\": \"1\", \"conv", "$", "the first record is incomplete")]
    [InlineData("hello", "line 1 byte 1", "not valid JSON")]
    public void Undetectable_files_get_a_clear_error(string text, string position, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("x.json", text);
        Fault.Expect(() => TrajectoryFormats.Detect(path), path, position, problem);
    }

    [Fact]
    public void Names_parse_back()
    {
        foreach (TrajectoryFormat format in Enum.GetValues<TrajectoryFormat>())
        {
            Assert.True(TrajectoryFormats.TryParse(TrajectoryFormats.Name(format), out TrajectoryFormat parsed));
            Assert.Equal(format, parsed);
        }
        Assert.Equal("eto-sft", TrajectoryFormats.Name(TrajectoryFormat.EtoSft));
        Assert.False(TrajectoryFormats.TryParse("csv", out _));
    }
}

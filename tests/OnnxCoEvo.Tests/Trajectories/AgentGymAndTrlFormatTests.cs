using System.Text;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Trajectories;

public sealed class AgentTrajFormatTests
{
    [Fact]
    public void Reads_items_with_loss_flags_and_item_id_parts()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<AgentTrajItem> items = AgentTrajFormat.Read(dir.Write("webshop_train.json", Samples.AgentTraj));

        AgentTrajItem webshop = items[0];
        Assert.Equal("webshop", webshop.Environment);
        Assert.Equal(6, webshop.Index);
        Assert.Null(webshop.Reward);
        Assert.Equal([null, false, null, true, null, false], webshop.Conversations.Select(t => t.Loss));
        Assert.Equal([false, false, false, true, false, false], webshop.Conversations.Select(t => t.IsTrained));
        Assert.Equal("sciworld", items[1].Environment);
        Assert.Equal(12, items[1].Index);
        Assert.Equal(0.5, items[1].Reward);

        Trajectory t = AgentTrajFormat.ToTrajectory(webshop, "train");
        Assert.Equal("webshop_6", t.TaskId);
        Assert.Equal("webshop", t.Environment);
        Assert.Equal(2, t.Steps);
        Assert.True(t.Metadata.GetFlag(TrajectoryMetadata.RewardAssumedKey));
    }

    [Fact]
    public void Loss_flags_survive_canonical_and_agentgym_round_trips()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<AgentTrajItem> items = AgentTrajFormat.Read(dir.Write("in.json", Samples.AgentTraj));
        var trajectories = items.Select(i => TrajectoryJson.Parse(TrajectoryJson.Serialize(AgentTrajFormat.ToTrajectory(i)))).ToList();
        Assert.Equal([null, false, null, true, null, false], trajectories[0].Turns.Select(t => t.Loss));

        string outPath = dir.File("out.json");
        AgentTrajFormat.Write(outPath, trajectories.Select(AgentTrajFormat.FromTrajectory));
        string text = File.ReadAllText(outPath);
        Assert.Contains("\"loss\": null", text);
        IReadOnlyList<AgentTrajItem> again = AgentTrajFormat.Read(outPath);

        Assert.Equal(items[0].Conversations, again[0].Conversations);
        Assert.Null(again[0].Reward); // assumed reward not written back
        Assert.Equal(0.5, again[1].Reward);
        // A gpt turn with loss null is trained, so the exporter writes it as true.
        Assert.Equal(true, again[1].Conversations[3].Loss);
        Assert.Equal(items[1].Conversations.Select(c => c.IsTrained), again[1].Conversations.Select(c => c.IsTrained));
    }

    [Fact]
    public void Reads_jsonl_and_agenteval_items_without_conversations()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("eval.jsonl", """
            {"conversations": null, "item_id": "webshop_5238"}
            {"item_id": "alfworld_2", "conversations": [{"from": "human", "loss": null, "value": "task"}, {"from": "gpt", "loss": true, "value": "go"}]}

            """);
        IReadOnlyList<AgentTrajItem> items = AgentTrajFormat.Read(path);
        Assert.Empty(items[0].Conversations);
        Assert.Equal(5238, items[0].Index);
        Assert.Equal("alfworld", items[1].Environment);

        using var stream = new MemoryStream();
        AgentTrajFormat.Write(stream, items);
        Assert.Contains("\"conversations\": null", Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Fact]
    public void Export_builds_item_ids_from_environment_and_integer_task_ids()
    {
        Trajectory t = Samples.WebShopTrajectory("17");
        Assert.Equal("webshop_17", AgentTrajFormat.FromTrajectory(t).ItemId);
        Assert.Equal("webshop_6", AgentTrajFormat.FromTrajectory(t with { TaskId = "webshop_6" }).ItemId);
        Assert.Throws<ArgumentException>(() => AgentTrajFormat.FromTrajectory(t with { TaskId = "boil-water" }));
    }

    [Theory]
    [InlineData("""[{"item_id":"webshop","conversations":[]}]""", "$[0].item_id", "is not <environment>_<index>")]
    [InlineData("""[{"item_id":"webshop_1","conversations":[{"from":"gpt","loss":"true","value":"x"}]}]""", "$[0].conversations[0].loss", "expected true or false")]
    [InlineData("""[{"item_id":"webshop_1","conversations":[{"from":"assistant","loss":true,"value":"x"}]}]""", "$[0].conversations[0].from", "unknown speaker \"assistant\"")]
    [InlineData("""[{"conversations":[]}]""", "$[0]", "missing required field \"item_id\"")]
    [InlineData("""{"item_id":"webshop_1","conversations":[]}""" + "\n" + """{"item_id":"webshop_2","conversations":[{"from":"gpt","loss":true}]}""", "line 2 $.conversations[0]", "missing required field \"value\"")]
    public void Bad_input_names_file_and_json_path(string json, string position, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("bad.json", json);
        Fault.Expect(() => AgentTrajFormat.Read(path), path, position, problem);
    }
}

public sealed class TrlDpoFormatTests
{
    private const string Explicit = """
        {"prompt": [{"role": "user", "content": "What color is the sky?"}], "chosen": [{"role": "assistant", "content": "It is blue."}], "rejected": [{"role": "assistant", "content": "It is green."}]}
        {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "task"}], "chosen": [{"role": "assistant", "content": "a1"}, {"role": "user", "content": "o1"}, {"role": "assistant", "content": "a2"}], "rejected": [{"role": "assistant", "content": "b1"}]}

        """;

    [Fact]
    public void Reads_the_explicit_prompt_form()
    {
        using var dir = new TempDirectory();
        PreferencePairReadResult result = TrlDpoFormat.Read(dir.Write("dpo.jsonl", Explicit));
        Assert.Equal(2, result.Pairs.Count);
        Assert.Equal("1", result.Pairs[0].Id); // line number when the row has no id
        Assert.Equal(ChatMessage.User("What color is the sky?"), Assert.Single(result.Pairs[0].Prompt));
        Assert.Equal(ChatRole.System, result.Pairs[1].Prompt[0].Role);
        Assert.Equal(3, result.Pairs[1].Chosen.Count);
        Assert.Null(result.TornTail);
    }

    [Fact]
    public void Implicit_prompt_becomes_the_shared_prefix_ending_on_a_user_turn()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("implicit.jsonl", """
            {"id": "s1", "chosen": [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": "It is blue."}], "rejected": [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": "It is green."}]}
            {"chosen": [{"role": "user", "content": "task"}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "o1"}, {"role": "assistant", "content": "a2"}], "rejected": [{"role": "user", "content": "task"}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "o-other"}, {"role": "assistant", "content": "b2"}]}
            """);
        PreferencePairReadResult result = TrlDpoFormat.Read(path);
        Assert.Equal("s1", result.Pairs[0].Id);
        Assert.Single(result.Pairs[0].Prompt);
        Assert.Equal("It is green.", Assert.Single(result.Pairs[0].Rejected).Content);
        // Shared prefix is [task, a1]: it ends on an assistant turn, so the prompt is cut back to [task].
        Assert.Single(result.Pairs[1].Prompt);
        Assert.Equal(["a1", "o1", "a2"], result.Pairs[1].Chosen.Select(c => c.Content));
        Assert.Equal(["a1", "o-other", "b2"], result.Pairs[1].Rejected.Select(c => c.Content));
    }

    [Fact]
    public void Writer_emits_the_explicit_form_and_round_trips()
    {
        using var dir = new TempDirectory();
        string path = dir.File("out.jsonl");
        TrlDpoFormat.Write(path, [Samples.Pair("a"), Samples.Pair("b")]);
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("""{"prompt":[{"role":"user","content":"instruction"}""", lines[0]);
        Assert.DoesNotContain("loss", lines[0]);

        PreferencePairReadResult back = TrlDpoFormat.Read(path);
        Assert.Equal(Samples.Pair().Prompt, back.Pairs[0].Prompt);
        Assert.Equal(Samples.Pair().Chosen, back.Pairs[0].Chosen);
        Assert.Equal(TrajectoryFormat.TrlDpo, TrajectoryFormats.Detect(path));
    }

    [Theory]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"},{"role":"user","content":"o"}],"rejected":[{"role":"assistant","content":"b"}]}""", "line 1 $.chosen[1].role", "chosen must end with an assistant turn")]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"tool","content":"a"}],"rejected":[]}""", "line 1 $.chosen[0].role", "unknown role \"tool\"")]
    [InlineData("""{"prompt":"q","chosen":"a","rejected":"b"}""", "line 1 $.chosen", "TRL standard format")]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"rejected":[]}""", "line 1", "missing required field \"chosen\"")]
    [InlineData("""{"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""", "line 1 $.chosen", "no prompt")]
    public void Bad_input_names_file_line_and_json_path(string line, string position, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("bad.jsonl", line + "\n");
        Fault.Expect(() => TrlDpoFormat.Read(path), path, position, problem);
    }

    [Fact]
    public void Invalid_pairs_can_be_dropped_and_a_torn_tail_is_reported()
    {
        using var dir = new TempDirectory();
        string bad = """{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"},{"role":"user","content":"o"}],"rejected":[{"role":"assistant","content":"b"}]}""";
        string path = dir.Write("mixed.jsonl", Explicit.TrimEnd() + "\n" + bad + "\n" + """{"prompt":[{"role":"us""");
        PreferencePairReadResult result = TrlDpoFormat.Read(path, dropInvalidPairs: true);
        Assert.Equal(2, result.Pairs.Count);
        DroppedPreferencePair dropped = Assert.Single(result.Dropped);
        Assert.Equal("line 3 $.chosen[1].role", dropped.Position);
        Assert.Equal(4, result.TornTail?.LineNumber);
        Assert.Throws<DataFormatException>(() => TrlDpoFormat.Read(path, dropInvalidPairs: true, strict: true));
    }
}

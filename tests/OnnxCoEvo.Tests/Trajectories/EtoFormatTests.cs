using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Trajectories;

public sealed class EtoSftFormatTests
{
    [Fact]
    public void Reads_the_ipr_readme_webshop_example_and_rows_without_reward()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<EtoSftItem> items = EtoSftFormat.Read(dir.Write("webshop_sft.json", Samples.EtoSft));

        Assert.Equal(3, items.Count);
        EtoSftItem webshop = items[0];
        Assert.Equal("0", webshop.Id);
        Assert.Equal(0.75, webshop.Reward);
        Assert.Equal(8, webshop.Conversations.Count);
        Assert.Equal(ChatRole.User, webshop.Conversations[0].Role);
        Assert.StartsWith("You are web shopping.\nI will give you", webshop.Conversations[0].Content);
        Assert.Equal(ChatMessage.Assistant("OK"), webshop.Conversations[1]);
        Assert.EndsWith("Action: click[buy now]", webshop.Conversations[^1].Content);
        Assert.Equal("17", items[1].Id); // integer ids become strings
        Assert.Null(items[1].Reward);
        Assert.EndsWith("trial_T20190909_021052_296434", items[2].GameFile);

        Trajectory t = EtoSftFormat.ToTrajectory(webshop, "webshop", "train");
        Assert.Equal(3, t.Steps); // search, click item, buy now; "OK" is no step
        Assert.Equal(0.75, t.Reward);
        Assert.False(t.Success);
        Assert.Equal("expert:webshop", t.Policy);
        Assert.Equal("eto-sft", t.Metadata.GetString(TrajectoryMetadata.SourceKey));
        Assert.False(t.Metadata.GetFlag(TrajectoryMetadata.RewardAssumedKey));

        Trajectory gold = EtoSftFormat.ToTrajectory(items[1], "sciworld");
        Assert.Equal(1.0, gold.Reward);
        Assert.True(gold.Success);
        Assert.True(gold.Metadata.GetFlag(TrajectoryMetadata.RewardAssumedKey));
    }

    [Fact]
    public void Write_and_trajectory_conversion_round_trip()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<EtoSftItem> items = EtoSftFormat.Read(dir.Write("in.json", Samples.EtoSft));
        var trajectories = items.Select(i => EtoSftFormat.ToTrajectory(i, "webshop")).ToList();

        // Through canonical JSON and back, then out to ETO again: the file says the same.
        var viaCanonical = trajectories.Select(t => TrajectoryJson.Parse(TrajectoryJson.Serialize(t))).Select(EtoSftFormat.FromTrajectory).ToList();
        string outPath = dir.File("out.json");
        EtoSftFormat.Write(outPath, viaCanonical);
        IReadOnlyList<EtoSftItem> again = EtoSftFormat.Read(outPath);

        Assert.Equal(items.Count, again.Count);
        for (int i = 0; i < items.Count; i++)
        {
            Assert.Equal(items[i].Id, again[i].Id);
            Assert.Equal(items[i].Reward, again[i].Reward); // the assumed reward is not written back
            Assert.Equal(items[i].GameFile, again[i].GameFile);
            Assert.Equal(items[i].Conversations, again[i].Conversations);
        }
        using var stream = new MemoryStream();
        EtoSftFormat.Write(stream, again);
        stream.Position = 0;
        Assert.Equal(3, EtoSftFormat.Read(stream, "<memory>").Count);
    }

    [Theory]
    [InlineData("""[{"id":"1","conversations":[{"from":"human","value":"a"}]},{"id":"2","conversations":[{"from":"bot","value":"b"}]}]""", "$[1].conversations[0].from", "unknown speaker \"bot\"")]
    [InlineData("""[{"id":"1"}]""", "$[0]", "missing required field \"conversations\"")]
    [InlineData("""[{"id":"1","conversations":[{"from":"gpt","value":5}]}]""", "$[0].conversations[0].value", "expected a string, found a number")]
    [InlineData("""[{"id":"1","reward":"0.5","conversations":[]}]""", "$[0].reward", "expected a number")]
    [InlineData("""[{"id":true,"conversations":[]}]""", "$[0].id", "expected a string or an integer id")]
    [InlineData("""{"id":"1","conversations":[]}""", "$", "expected an array, found an object")]
    [InlineData("""[{"id":"1","conversations":[]},""", "line 1 byte ", "not valid JSON")]
    public void Bad_input_names_file_and_json_path(string json, string position, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("bad_sft.json", json);
        Fault.Expect(() => EtoSftFormat.Read(path), path, position, problem, positionIsPrefix: true);
    }
}

public sealed class EtoDpoFormatTests
{
    [Fact]
    public void Reads_pairs_and_writes_them_back()
    {
        using var dir = new TempDirectory();
        PreferencePairReadResult result = EtoDpoFormat.Read(dir.Write("webshop_pm.json", Samples.EtoDpo));
        PreferencePair pair = Assert.Single(result.Pairs);
        Assert.Empty(result.Dropped);
        Assert.Equal("12", pair.Id);
        Assert.Equal("eto-dpo", pair.Source);
        Assert.Equal(3, pair.Prompt.Count);
        Assert.Equal(ChatRole.User, pair.Prompt[^1].Role);
        Assert.Equal(3, pair.Chosen.Count);
        Assert.Single(pair.Rejected);

        string outPath = dir.File("out.json");
        EtoDpoFormat.Write(outPath, [pair, Samples.Pair("p2")]);
        PreferencePairReadResult again = EtoDpoFormat.Read(outPath);
        Assert.Equal(2, again.Pairs.Count);
        Assert.Equal(pair.Prompt, again.Pairs[0].Prompt);
        Assert.Equal(pair.Chosen, again.Pairs[0].Chosen);
        Assert.Equal(pair.Rejected, again.Pairs[0].Rejected);
        // ETO has no loss flags: Samples.Pair's masked rejected turn comes back plain.
        Assert.Equal(ChatMessage.Assistant("Action: search[cup]"), again.Pairs[1].Rejected[0]);
    }

    private const string ChosenEndsOnHuman = """
        [{"id":"a","prompt":[{"from":"human","value":"task"}],"chosen":[{"from":"gpt","value":"x"}],"rejected":[{"from":"gpt","value":"y"}]},
         {"id":"b","prompt":[{"from":"human","value":"task"}],"chosen":[{"from":"gpt","value":"x"},{"from":"human","value":"obs"}],"rejected":[{"from":"gpt","value":"y"}]},
         {"id":"c","prompt":[{"from":"human","value":"task"}],"chosen":[{"from":"gpt","value":"x"}],"rejected":[{"from":"human","value":"obs"},{"from":"gpt","value":"y"}]}]
        """;

    [Fact]
    public void Rule_breaking_pairs_throw_with_their_path_or_are_dropped_with_a_count()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("pm.json", ChosenEndsOnHuman);

        Fault.Expect(() => EtoDpoFormat.Read(path), path, "$[1].chosen[1].from", "chosen must end with an assistant turn");

        PreferencePairReadResult lenient = EtoDpoFormat.Read(path, dropInvalidPairs: true);
        Assert.Equal("a", Assert.Single(lenient.Pairs).Id);
        Assert.Equal(2, lenient.Dropped.Count);
        Assert.Equal(["b", "c"], lenient.Dropped.Select(d => d.Id));
        Assert.Equal("$[2].rejected[0].from", lenient.Dropped[1].Position);
        Assert.Contains("rejected must start with an assistant turn", lenient.Dropped[1].Problem);
    }

    [Theory]
    [InlineData("""[{"id":"a","chosen":[],"rejected":[]}]""", "$[0]", "missing required field \"prompt\"")]
    [InlineData("""[{"id":"a","prompt":{"from":"human"},"chosen":[],"rejected":[]}]""", "$[0].prompt", "expected an array")]
    [InlineData("""[{"id":"a","prompt":[{"from":"user","value":"t"}],"chosen":[],"rejected":[]}]""", "$[0].prompt[0].from", "unknown speaker \"user\"")]
    public void Shape_errors_throw_even_when_dropping(string json, string position, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("pm.json", json);
        Fault.Expect(() => EtoDpoFormat.Read(path, dropInvalidPairs: true), path, position, problem);
    }

    [Fact]
    public void Writer_refuses_pairs_eto_would_drop()
    {
        PreferencePair bad = Samples.Pair() with { Chosen = [ChatMessage.Assistant("a"), ChatMessage.User("obs")] };
        Assert.Throws<ArgumentException>(() => EtoDpoFormat.Write(new MemoryStream(), [bad]));
    }
}

public sealed class EtoExploredFormatTests
{
    [Fact]
    public void Reads_meta_and_conversation_keeping_the_prompt()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("1234.json", Samples.EtoExplored());
        Trajectory t = EtoExploredFormat.Read(path, new EtoExploredReadOptions { Environment = "webshop", Split = "train" });

        Assert.Equal("1234", t.TaskId);
        Assert.Equal(15, t.Turns.Count);
        Assert.Equal(0.5, t.Reward);
        Assert.False(t.Success); // project rule, although ETO says success (any purchase)
        Assert.True(t.Metadata.GetFlag("eto_success"));
        Assert.Equal(TrajectoryEndReason.Done, t.EndReason);
        Assert.Equal(2, t.Steps);
        Assert.Equal("eto-explored", t.Policy);
        Assert.Equal("success", t.Metadata.GetString("eto_terminate_reason"));
    }

    [Fact]
    public void Strips_the_icl_example_or_the_whole_prompt_prefix()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("1234.json", Samples.EtoExplored());

        Trajectory sftShaped = EtoExploredFormat.Read(path, new EtoExploredReadOptions { Environment = "webshop", PromptPrefix = EtoPromptPrefix.DropIclExample });
        Assert.Equal(7, sftShaped.Turns.Count); // instruction, OK, task, 2 x (action, observation)
        Assert.Equal("OK", sftShaped.Turns[1].Content);
        Assert.Contains("i need a red mug", sftShaped.Turns[2].Content);

        Trajectory etoShaped = EtoExploredFormat.Read(path, new EtoExploredReadOptions { Environment = "webshop", PromptPrefix = EtoPromptPrefix.DropInstructionAndIcl });
        Assert.Equal(5, etoShaped.Turns.Count);
        Assert.Contains("i need a red mug", etoShaped.Turns[0].Content);
        Assert.Equal(10, EtoExploredFormat.PromptPrefixLength("webshop"));
        Assert.Equal(16, EtoExploredFormat.PromptPrefixLength("sciworld"));
        Assert.Equal(12, EtoExploredFormat.PromptPrefixLength("alfworld"));

        var e = Assert.Throws<DataFormatException>(() => EtoExploredFormat.Read(path,
            new EtoExploredReadOptions { Environment = "sciworld", PromptPrefix = EtoPromptPrefix.DropIclExample }));
        Assert.Equal("$.conversations", e.Position);
    }

    [Fact]
    public void Maps_max_steps_null_reward_and_alfworld_game_ids()
    {
        using var dir = new TempDirectory();
        Trajectory capped = EtoExploredFormat.Read(dir.Write("7.json", Samples.EtoExplored("null", "\"max_steps\"")),
            new EtoExploredReadOptions { Environment = "webshop" });
        Assert.Equal(TrajectoryEndReason.MaxSteps, capped.EndReason);
        Assert.Equal(0.0, capped.Reward);
        Assert.True(capped.Metadata.GetFlag("reward_missing"));

        Trajectory alfworld = EtoExploredFormat.Read(
            dir.Write("3.json", Samples.EtoExplored("true", "\"exceeding maximum input length\"", "\"json_2.1.1/valid_seen/pick_x/trial_T1/game.tw-pddl\"")),
            new EtoExploredReadOptions { Environment = "alfworld" });
        Assert.Equal("trial_T1", alfworld.TaskId);
        Assert.Equal("3", alfworld.Metadata.GetString("eto_file_id"));
        Assert.Equal(1.0, alfworld.Reward);
        Assert.Equal(TrajectoryEndReason.ContextLimit, alfworld.EndReason);
    }

    [Theory]
    [InlineData("""{"conversations":[]}""", "$", "missing required field \"meta\"")]
    [InlineData("""{"meta":{"steps":"3","reward":1},"conversations":[]}""", "$.meta.steps", "expected a number")]
    [InlineData("""{"meta":{"steps":3,"reward":1},"conversations":[{"from":"robot","value":"x"}]}""", "$.conversations[0].from", "unknown speaker")]
    [InlineData("""{"meta":{"steps":3,"reward":1,"success":"yes"},"conversations":[]}""", "$.meta.success", "expected true or false")]
    public void Bad_input_names_file_and_json_path(string json, string position, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("9.json", json);
        Fault.Expect(() => EtoExploredFormat.Read(path, new EtoExploredReadOptions { Environment = "webshop" }), path, position, problem);
    }
}

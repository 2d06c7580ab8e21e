using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Trajectories;

public sealed class TrajectoryJsonTests
{
    [Fact]
    public void Round_trip_keeps_every_field_metadata_unicode_and_newlines()
    {
        Trajectory original = Samples.WebShopTrajectory();
        string line = TrajectoryJson.Serialize(original);

        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\u2028', line);
        Assert.Contains("naïve café ☕ 日本語", line); // written as UTF-8, not \u escapes
        Assert.StartsWith("""{"schema":1,"task_id":"webshop_6","environment":"webshop","split":"train","policy":""", line);

        Trajectory back = TrajectoryJson.Parse(line);
        Samples.AssertSame(original, back);
        Assert.Equal(original.Turns, back.Turns); // ChatMessage is a record: content, role and loss all equal
        Assert.Equal("Thought: I think I should search.\r\nAction: search[rot kaffeebecher]", back.Turns[4].Content);
        Assert.Equal("Observation:\n[SEP] B01 [SEP] \u2028line separator\u0000nul", back.Turns[5].Content);
        Assert.False(back.Turns[2].IsTrained);
        Assert.Null(back.Turns[4].Loss);
        Assert.Equal(JsonValueKind.Array, back.Metadata["probe"].GetProperty("kept").ValueKind);
        Assert.Equal("naïve café ☕ 日本語 😀\nsecond line", back.Metadata.GetString("note"));
        Assert.Equal(0.75, back.Reward);
        Assert.False(back.Success);
    }

    [Fact]
    public void Success_rule_is_reward_exactly_one_but_the_stored_flag_wins()
    {
        Assert.True(Trajectory.IsSuccessReward(1.0));
        Assert.False(Trajectory.IsSuccessReward(0.999));
        Trajectory etoStyle = Samples.WebShopTrajectory(reward: 0.5) with { Success = true };
        Trajectory back = TrajectoryJson.Parse(TrajectoryJson.Serialize(etoStyle));
        Assert.True(back.Success);
        Assert.False(back.MeetsSuccessRule);
    }

    [Fact]
    public void Minimal_line_without_optional_fields_reads()
    {
        Trajectory t = TrajectoryJson.Parse("""
            {"task_id":"7","environment":"sciworld","policy":"expert:sciworld","reward":1,"success":true,"steps":0,"end_reason":"done","turns":[],"future_field":{"x":1}}
            """);
        Assert.Equal(1, t.SchemaVersion);
        Assert.Null(t.Split);
        Assert.Empty(t.Metadata);
        Assert.True(t.MeetsSuccessRule);
    }

    [Theory]
    [InlineData("""{"task_id":"1","environment":"webshop","policy":"p","reward":1,"success":true,"steps":1,"end_reason":"done","turns":[{"role":"user","content":"a"},{"role":"robot","content":"b"}]}""", "$.turns[1].role", "unknown role \"robot\"")]
    [InlineData("""{"task_id":"1","environment":"webshop","policy":"p","reward":"high","success":true,"steps":1,"end_reason":"done","turns":[]}""", "$.reward", "expected a number, found a string")]
    [InlineData("""{"environment":"webshop","policy":"p","reward":1,"success":true,"steps":1,"end_reason":"done","turns":[]}""", "$", "missing required field \"task_id\"")]
    [InlineData("""{"task_id":"1","environment":"webshop","policy":"p","reward":1,"success":true,"steps":-1,"end_reason":"done","turns":[]}""", "$.steps", "must be >= 0")]
    [InlineData("""{"task_id":"1","environment":"webshop","policy":"p","reward":1,"success":true,"steps":1,"end_reason":"done","turns":[{"role":"user"}]}""", "$.turns[0]", "missing required field \"content\"")]
    [InlineData("""{"task_id":"1","environment":"webshop","policy":"p","reward":1,"success":true,"steps":1,"end_reason":"done","turns":[{"role":"assistant","content":"x","loss":"yes"}]}""", "$.turns[0].loss", "expected true or false")]
    [InlineData("""{"schema":2,"task_id":"1","environment":"webshop","policy":"p","reward":1,"success":true,"steps":1,"end_reason":"done","turns":[]}""", "$.schema", "schema version 2 is not supported")]
    [InlineData("""{"task_id":"1","environment":"webshop","policy":"p","reward":1,"success":true,"steps":1,"end_reason":"done","turns":[],"metadata":[1]}""", "$.metadata", "expected an object")]
    public void Schema_problems_name_the_json_path(string json, string position, string problem)
    {
        Fault.Expect(() => TrajectoryJson.Parse(json, "t.jsonl"), "t.jsonl", position, problem);
    }

    [Fact]
    public void Writer_refuses_records_the_reader_would_reject()
    {
        Assert.Throws<ArgumentException>(() => TrajectoryJson.Serialize(Samples.WebShopTrajectory() with { Reward = double.NaN }));
        Assert.Throws<ArgumentException>(() => TrajectoryJson.Serialize(Samples.WebShopTrajectory() with { TaskId = "" }));
        Assert.Throws<ArgumentException>(() => TrajectoryJson.Serialize(Samples.WebShopTrajectory() with { Steps = -2 }));
    }

    [Fact]
    public void Preference_pair_canonical_round_trip_and_validation()
    {
        PreferencePair pair = Samples.Pair();
        string line = PreferencePairJson.Serialize(pair);
        PreferencePair back = PreferencePairJson.Parse(line);
        Assert.Equal(line, PreferencePairJson.Serialize(back));
        Assert.Equal(pair.Rejected, back.Rejected);
        Assert.Equal(0.25, back.RejectedReward);

        PreferencePair endsOnUser = pair with { Chosen = [.. pair.Chosen, ChatMessage.User("Observation: more")] };
        PreferencePairProblem? problem = endsOnUser.FindProblem();
        Assert.NotNull(problem);
        Assert.Equal(PreferencePairPart.Chosen, problem.Part);
        Assert.Equal(3, problem.TurnIndex);
        Assert.Throws<ArgumentException>(() => PreferencePairJson.Serialize(endsOnUser));

        Assert.Equal(PreferencePairPart.Prompt, (pair with { Prompt = [ChatMessage.User("x"), ChatMessage.Assistant("y")] }).FindProblem()!.Part);
        Assert.Equal(0, (pair with { Rejected = [ChatMessage.User("x"), ChatMessage.Assistant("y")] }).FindProblem()!.TurnIndex);
        Assert.Equal(PreferencePairPart.Rejected, (pair with { Rejected = [] }).FindProblem()!.Part);

        string badLine = line.Replace("\"Action: click[buy now]\"", "\"Action: click[buy now]\"},{\"role\":\"user\",\"content\":\"obs\"");
        var e = Assert.Throws<DataFormatException>(() => PreferencePairJson.Parse(badLine, "pairs.jsonl"));
        Assert.Equal("$.chosen[3].role", e.Position);
    }
}

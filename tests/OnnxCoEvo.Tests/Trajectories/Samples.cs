using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Trajectories;

/// <summary>Hand-written inputs shaped like the reference formats (papers.md section 2, environments.md 3.3-3.4, 5.1).</summary>
internal static class Samples
{
    /// <summary>ETO/IPR SFT file: the IPR README WebShop conversation (with reward), a SciWorld-style row without reward, an ALFWorld row with game_file.</summary>
    public const string EtoSft = """
        [{"id": "0",
          "reward": 0.75,
          "conversations": [
           {"from":"human","value":"You are web shopping.\nI will give you instructions about what to do.\n... Your response should use the following format:\n\nThought: I think ...\nAction: click[something]"},
           {"from":"gpt","value":"OK"},
           {"from":"human","value":"WebShop [SEP] Instruction: [SEP] i would like a bundle of crackers, spicy beef and cheese which is shelf stable. it also needs to be keto and gluten free, and price lower than 40.00 dollars [SEP] Search"},
           {"from":"gpt","value":"Thought: I need to find a bundle ... I'll start by searching ...\nAction: search[bundle of crackers, spicy beef and cheese]"},
           {"from":"human","value":"Observation: [SEP] Back to Search [SEP] Page 1 (Total results: 50) [SEP] Next > [SEP] B0978Q1KK9 [SEP] The Spicy Beef ..."},
           {"from":"gpt","value":"Thought: ... I'll click on it for more details.\nAction: click[b0978q1kk9]"},
           {"from":"human","value":"Observation: [SEP] Back to Search [SEP] < Prev [SEP] The Spicy Beef Backpack [SEP] Price: $34.99 [SEP] Buy Now"},
           {"from":"gpt","value":"Thought: ... I'll proceed with the purchase.\nAction: click[buy now]"}]},
         {"id": 17,
          "conversations": [
           {"from":"human","value":"You are a helpful assistant to do some scientific experiment in an environment."},
           {"from":"gpt","value":"OK"},
           {"from":"human","value":"Your task is to boil water."},
           {"from":"gpt","value":"Thought: I should find water.\nAction: teleport to kitchen"}]},
         {"id": "alf-3",
          "game_file": "json_2.1.1/train/pick_and_place_simple-Mug-None-Desk-308/trial_T20190909_021052_296434",
          "conversations": [
           {"from":"human","value":"Interact with a household to solve a task."},
           {"from":"gpt","value":"OK"},
           {"from":"human","value":"You are in the middle of a room. Your task is to: put a mug in desk."},
           {"from":"gpt","value":"Thought: First I need a mug.\nAction: go to shelf 1"}]}]
        """;

    /// <summary>ETO DPO file: prompt = instruction + OK + task; chosen/rejected multi-turn, both ending with gpt.</summary>
    public const string EtoDpo = """
        [
            {
                "id": "12",
                "prompt": [
                    {"from": "human", "value": "You are web shopping.\nI will give you instructions about what to do."},
                    {"from": "gpt", "value": "OK"},
                    {"from": "human", "value": "WebShop [SEP] Instruction: [SEP] i need a red mug [SEP] Search"}
                ],
                "chosen": [
                    {"from": "gpt", "value": "Thought: search.\nAction: search[red mug]"},
                    {"from": "human", "value": "Observation:\n[SEP] B01 [SEP] Red Mug"},
                    {"from": "gpt", "value": "Thought: buy.\nAction: click[buy now]"}
                ],
                "rejected": [
                    {"from": "gpt", "value": "Thought: search.\nAction: search[mug]"}
                ]
            }
        ]
        """;

    /// <summary>AgentTraj: loss null on human turns, false on the "Ok." acknowledgement, true on actions.</summary>
    public const string AgentTraj = """
        [{"item_id": "webshop_6", "conversations": [
           {"from": "human", "loss": null, "value": "You are web shopping.\nI will give you instructions about what to do."},
           {"from": "gpt", "loss": false, "value": "Ok."},
           {"from": "human", "loss": null, "value": "WebShop [SEP] Instruction: [SEP] i need a red mug [SEP] Search"},
           {"from": "gpt", "loss": true, "value": "Thought:\nI think I should search.\n\nAction:\nsearch[red mug]"},
           {"from": "human", "loss": null, "value": "Instruction: [SEP] i need a red mug [SEP] Back to Search [SEP] B01 [SEP] Red Mug"},
           {"from": "gpt", "loss": false, "value": "Thought:\nI think this is a bad click.\n\nAction:\nclick[b02]"}]},
         {"item_id": "sciworld_12", "reward": 0.5, "conversations": [
           {"from": "human", "loss": null, "value": "You are a helpful assistant to do some scientific experiment in an environment."},
           {"from": "gpt", "loss": false, "value": "OK"},
           {"from": "human", "loss": null, "value": "Your task is to boil water."},
           {"from": "gpt", "loss": null, "value": "Thought:\nfind water\n\nAction:\nteleport to kitchen"}]}]
        """;

    /// <summary>ETO explored output for WebShop: instruction, OK, a one-shot example (8 messages), the task and the agent's steps.</summary>
    public static string EtoExplored(string reward = "0.5", string terminateReason = "\"success\"", string error = "null")
    {
        var conversation = new List<(string From, string Value)>
        {
            ("human", "You are web shopping.\nI will give you instructions about what to do."),
            ("gpt", "OK"),
            ("human", "WebShop [SEP] Instruction: [SEP] example task [SEP] Search"),
            ("gpt", "Thought: I think I should search.\nAction: search[l'eau d'issey 6.76 fl oz bottle price < 100.00]"),
            ("human", "Observation:\n[SEP] B000VOHH8I [SEP] L'eau D'issey"),
            ("gpt", "Thought: I think I should click it.\nAction: click[B000VOHH8I]"),
            ("human", "Observation:\n[SEP] 6.76 fl oz (pack of 1)"),
            ("gpt", "Thought: I think I should pick the size.\nAction: click[6.76 fl oz (pack of 1)]"),
            ("human", "Observation:\n[SEP] Buy Now"),
            ("gpt", "Thought: I think I should buy.\nAction: click[Buy Now]"),
            ("human", "WebShop [SEP] Instruction: [SEP] i need a red mug [SEP] Search"),
            ("gpt", "Thought: I think I should search.\nAction: search[red mug]"),
            ("human", "Observation:\n[SEP] B01 [SEP] Red Mug"),
            ("gpt", "Thought: I think I should buy it.\nAction: click[buy now]"),
            ("human", "Observation:\nThank you for shopping with us!"),
        };
        string turns = string.Join(",\n", conversation.Select(t => $$"""    {"from": "{{t.From}}", "value": {{JsonSerializer.Serialize(t.Value)}}}"""));
        return $$"""
            {
                "meta": {
                    "steps": 2,
                    "reward": {{reward}},
                    "finished": true,
                    "success": true,
                    "terminate_reason": {{terminateReason}},
                    "error": {{error}}
                },
                "conversations": [
            {{turns}}
                ]
            }
            """;
    }

    /// <summary>A trajectory exercising unicode, newlines inside content, loss flags and nested metadata.</summary>
    public static Trajectory WebShopTrajectory(string taskId = "webshop_6", double reward = 0.75) => new()
    {
        TaskId = taskId,
        Environment = "webshop",
        Split = "train",
        Policy = "onnx:models/tiny+adapter.onnx_adapter",
        Reward = reward,
        Success = Trajectory.IsSuccessReward(reward),
        Steps = 2,
        EndReason = TrajectoryEndReason.Done,
        Metadata = new Dictionary<string, JsonElement>
        {
            ["seed"] = TrajectoryMetadata.Value(42),
            ["temperature"] = TrajectoryMetadata.Value(0.7),
            ["note"] = TrajectoryMetadata.Value("naïve café ☕ 日本語 😀\nsecond line"),
            ["probe"] = TrajectoryMetadata.Parse("""{"step": 3, "kept": [true, false], "who": null}"""),
        },
        Turns =
        [
            ChatMessage.System("You are a shopping agent."),
            ChatMessage.User("You are web shopping.\nI will give you instructions about what to do."),
            ChatMessage.Assistant("OK", loss: false),
            ChatMessage.User("WebShop [SEP] Instruction: [SEP] Kaffeebecher für 10€ — «rot» \"quoted\" \\ back\\slash\ttab [SEP] Search"),
            ChatMessage.Assistant("Thought: I think I should search.\r\nAction: search[rot kaffeebecher]"),
            ChatMessage.User("Observation:\n[SEP] B01 [SEP] \u2028line separator\u0000nul"),
            ChatMessage.Assistant("Thought: buy 😀\nAction: click[buy now]", loss: true),
        ],
    };

    public static PreferencePair Pair(string id = "pair-1") => new()
    {
        Id = id,
        Prompt = [ChatMessage.User("instruction"), ChatMessage.Assistant("OK"), ChatMessage.User("task: find a mug")],
        Chosen = [ChatMessage.Assistant("Action: search[mug]"), ChatMessage.User("Observation: B01"), ChatMessage.Assistant("Action: click[buy now]")],
        Rejected = [ChatMessage.Assistant("Action: search[cup]", loss: false)],
        ChosenReward = 1.0,
        RejectedReward = 0.25,
        Source = "eto",
        Metadata = new Dictionary<string, JsonElement> { ["iteration"] = TrajectoryMetadata.Value(2) },
    };

    /// <summary>Compares through the canonical line, which covers every field (records compare lists by reference).</summary>
    public static void AssertSame(Trajectory expected, Trajectory actual) =>
        Assert.Equal(TrajectoryJson.Serialize(expected), TrajectoryJson.Serialize(actual));
}

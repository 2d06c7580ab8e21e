using System.Text.Json;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

public class SaveLoadTests
{
    private static readonly string[] Samples =
    [
        "Thought: I think I should search.\nAction: search[red mug 12 oz]",
        "You are in the middle of a room. Looking quickly around you, you see a cabinet 1.",
        "<|bos|><|user|>\nhi\n<|assistant|>\nok<|end|>\n",
        "😀 你好 naïve 12345",
    ];

    private static void AssertSameTokenizer(BpeTokenizer expected, BpeTokenizer actual)
    {
        Assert.Equal(expected.Vocab.OrderBy(kv => kv.Value), actual.Vocab.OrderBy(kv => kv.Value));
        Assert.Equal(expected.Merges, actual.Merges);
        Assert.Equal(expected.AddedTokens, actual.AddedTokens);
        Assert.Equal(expected.Config, actual.Config);
        Assert.Equal(expected.VocabSize, actual.VocabSize);
        Assert.Equal(expected.PreTokenizer, actual.PreTokenizer);
        foreach (string s in Samples)
        {
            Assert.Equal(expected.Encode(s), actual.Encode(s));
            Assert.Equal(expected.Encode(s, addSpecialTokens: true), actual.Encode(s, addSpecialTokens: true));
        }
        Assert.Equal(expected.ToJson(), actual.ToJson());
    }

    [Theory]
    [InlineData(TinyTokenizerStyle.Plain)]
    [InlineData(TinyTokenizerStyle.ChatMl)]
    [InlineData(TinyTokenizerStyle.Llama3)]
    public void Trained_tokenizer_saves_and_loads_identically(TinyTokenizerStyle style)
    {
        var tokenizer = TinyTokenizerFactory.Create(style: style);
        using var dir = new TempDirectory();
        tokenizer.Save(dir.Path);
        AssertSameTokenizer(tokenizer, BpeTokenizer.Load(dir.Path));
        AssertSameTokenizer(tokenizer, BpeTokenizer.Load(dir.File("tokenizer.json")));
    }

    [Fact]
    public void Saved_files_have_the_hugging_face_layout()
    {
        var tokenizer = TinyTokenizerFactory.Create();
        using var dir = new TempDirectory();
        tokenizer.Save(dir.Path);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("tokenizer.json")));
        var root = json.RootElement;
        Assert.Equal("1.0", root.GetProperty("version").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("truncation").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("padding").ValueKind);
        Assert.Equal("BPE", root.GetProperty("model").GetProperty("type").GetString());
        var firstMerge = root.GetProperty("model").GetProperty("merges")[0];
        Assert.Equal(JsonValueKind.Array, firstMerge.ValueKind);
        Assert.Equal(2, firstMerge.GetArrayLength());
        Assert.Equal("ByteLevel", root.GetProperty("decoder").GetProperty("type").GetString());
        Assert.Equal("Sequence", root.GetProperty("pre_tokenizer").GetProperty("type").GetString());
        Assert.Equal(6, root.GetProperty("added_tokens").GetArrayLength());

        using var config = JsonDocument.Parse(File.ReadAllText(dir.File("tokenizer_config.json")));
        Assert.Equal("<|bos|>", config.RootElement.GetProperty("bos_token").GetString());
        Assert.Equal("<|end|>", config.RootElement.GetProperty("eos_token").GetString());
        Assert.Equal("<|pad|>", config.RootElement.GetProperty("pad_token").GetString());
        Assert.Contains("<|assistant|>", config.RootElement.GetProperty("chat_template").GetString());
        Assert.Equal("<|end|>", config.RootElement.GetProperty("added_tokens_decoder").GetProperty("2").GetProperty("content").GetString());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void Hand_built_tokenizer_with_every_component_round_trips()
    {
        const string pre = """
        {"type": "Sequence", "pretokenizers": [
          {"type": "Digits", "individual_digits": false},
          {"type": "Split", "pattern": {"String": "!"}, "behavior": "Isolated", "invert": false},
          {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
        ]}
        """;
        var tokenizer = HandBuiltTokenizer.Load(
            ignoreMerges: true,
            addedTokens: """[{"id": 40, "content": "<s>", "special": true, "normalized": false}, {"id": 41, "content": "hell", "single_word": true}]""",
            preTokenizer: pre,
            postProcessor: HandBuiltTokenizer.BosPostProcessor,
            normalizer: """{"type": "NFC"}""");
        var reloaded = BpeTokenizer.FromJson(tokenizer.ToJson());
        AssertSameTokenizer(tokenizer, reloaded);
        Assert.True(reloaded.IgnoreMerges);
        Assert.IsType<NfcNormalizer>(reloaded.Normalizer);
        Assert.Equal(tokenizer.PostProcessor!.GetType(), reloaded.PostProcessor!.GetType());
        Assert.True(reloaded.AddedTokens[1].Normalized); // normalized defaults to !special when absent
    }

    [Fact]
    public void Config_tokens_may_be_objects_and_chat_template_a_list()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), HandBuiltTokenizer.Json(addedTokens: """[{"id": 30, "content": "<|end|>", "special": true}]"""));
        File.WriteAllText(dir.File("tokenizer_config.json"), """
        {"bos_token": {"__type": "AddedToken", "content": "<|end|>", "lstrip": false},
         "eos_token": "<|end|>", "pad_token": null, "model_max_length": 1000000000000000019884624838656,
         "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}
        """);
        var tokenizer = BpeTokenizer.Load(dir.Path);
        Assert.Equal(30, tokenizer.BosTokenId);
        Assert.Equal(30, tokenizer.EosTokenId);
        Assert.Null(tokenizer.PadTokenId);
        Assert.Equal("D", tokenizer.ChatTemplate);
    }

    [Fact]
    public void Missing_tokenizer_json_is_file_not_found()
    {
        using var dir = new TempDirectory();
        Assert.Throws<FileNotFoundException>(() => BpeTokenizer.Load(dir.Path));
    }
}

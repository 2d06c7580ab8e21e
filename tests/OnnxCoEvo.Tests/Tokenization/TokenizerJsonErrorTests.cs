using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

public class TokenizerJsonErrorTests
{
    private static DataFormatException LoadFails(string json)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), json);
        var e = Assert.Throws<DataFormatException>(() => BpeTokenizer.Load(dir.Path));
        Assert.Equal(dir.File("tokenizer.json"), e.FilePath);
        Assert.Contains(dir.File("tokenizer.json"), e.Message);
        return e;
    }

    [Fact]
    public void Truncated_json_names_line_and_byte()
    {
        string json = HandBuiltTokenizer.Json();
        var e = LoadFails(json[..(json.Length / 2)]);
        Assert.StartsWith("line ", e.Position);
        Assert.Contains("byte ", e.Position);
        Assert.Contains("malformed JSON", e.Problem);
    }

    [Fact]
    public void Syntax_error_position_is_where_the_error_is()
    {
        var e = LoadFails("{\n  \"model\": {\n    \"vocab\": {\"a\": 0,,}\n  }\n}");
        Assert.StartsWith("line 3, byte ", e.Position);
    }

    [Fact]
    public void Vocabulary_id_of_the_wrong_type_names_the_token()
    {
        var e = LoadFails(HandBuiltTokenizer.Json().Replace("\"lo\": 8", "\"lo\": \"eight\""));
        Assert.Equal("$.model.vocab[\"lo\"]", e.Position);
        Assert.Contains("integer", e.Problem);
    }

    [Fact]
    public void Merge_naming_an_unknown_token_names_the_merge()
    {
        var e = LoadFails(HandBuiltTokenizer.Json().Replace("\"o r\"", "\"o q\""));
        Assert.Equal("$.model.merges[5]", e.Position);
        Assert.Contains("'q'", e.Problem);
    }

    [Fact]
    public void Merge_whose_result_is_not_in_the_vocabulary_is_refused()
    {
        var e = LoadFails(HandBuiltTokenizer.Json().Replace("\"a a\"", "\"a h\""));
        Assert.Equal("$.model.merges[9]", e.Position);
        Assert.Contains("'ah'", e.Problem);
    }

    [Fact]
    public void Malformed_merge_entries_are_refused()
    {
        Assert.Equal("$.model.merges[0]", LoadFails(HandBuiltTokenizer.Json().Replace("\"l o\"", "\"lo\"")).Position);
        Assert.Equal("$.model.merges[0][1]", LoadFails(HandBuiltTokenizer.Json(newMergeForm: true).Replace("[\"l\", \"o\"]", "[\"l\", 3]")).Position);
    }

    [Fact]
    public void Unknown_model_type_is_refused()
    {
        var e = LoadFails(HandBuiltTokenizer.Json().Replace("\"type\": \"BPE\"", "\"type\": \"WordPiece\""));
        Assert.Equal("$.model.type", e.Position);
        Assert.Contains("WordPiece", e.Problem);
    }

    [Fact]
    public void Unsupported_components_name_their_path()
    {
        Assert.Equal("$.normalizer.type", LoadFails(HandBuiltTokenizer.Json(normalizer: """{"type": "Lowercase"}""")).Position);
        Assert.Equal("$.pre_tokenizer.pretokenizers[1].type", LoadFails(HandBuiltTokenizer.Json(preTokenizer:
            """{"type": "Sequence", "pretokenizers": [{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}, {"type": "Metaspace"}]}""")).Position);
        Assert.Equal("$.pre_tokenizer", LoadFails(HandBuiltTokenizer.Json(preTokenizer: """{"type": "Digits", "individual_digits": true}""")).Position);
        Assert.Equal("$.pre_tokenizer.behavior", LoadFails(HandBuiltTokenizer.Json(preTokenizer:
            """{"type": "Split", "pattern": {"Regex": "x"}, "behavior": "Removed", "invert": false}""")).Position);
        Assert.Equal("$.post_processor.type", LoadFails(HandBuiltTokenizer.Json(postProcessor: """{"type": "RobertaProcessing"}""")).Position);
        Assert.Equal("$.model.byte_fallback", LoadFails(HandBuiltTokenizer.Json().Replace("\"byte_fallback\": false", "\"byte_fallback\": true")).Position);
        Assert.Equal("$.model.dropout", LoadFails(HandBuiltTokenizer.Json().Replace("\"dropout\": null", "\"dropout\": 0.1")).Position);
    }

    [Fact]
    public void Wrong_types_in_added_tokens_name_the_entry()
    {
        var e = LoadFails(HandBuiltTokenizer.Json(addedTokens: """[{"id": 30, "content": "<a>", "special": true}, {"id": "31", "content": "<b>"}]"""));
        Assert.Equal("$.added_tokens[1].id", e.Position);
        Assert.Equal("$.added_tokens", LoadFails(HandBuiltTokenizer.Json(addedTokens: "{}")).Position);
    }

    [Fact]
    public void Missing_model_and_non_object_root_are_refused()
    {
        Assert.Equal("$.model", LoadFails("""{"pre_tokenizer": null}""").Position);
        Assert.Equal("$", LoadFails("[1, 2]").Position);
    }

    [Fact]
    public void Template_naming_an_unlisted_special_token_is_refused()
    {
        const string post = """
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [], "special_tokens": {}}
        """;
        Assert.Equal("$.post_processor.single[0].SpecialToken.id", LoadFails(HandBuiltTokenizer.Json(postProcessor: post)).Position);
    }

    [Fact]
    public void Malformed_tokenizer_config_names_that_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), HandBuiltTokenizer.Json());
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"bos_token": 5}""");
        var e = Assert.Throws<DataFormatException>(() => BpeTokenizer.Load(dir.File("tokenizer.json")));
        Assert.Equal(dir.File("tokenizer_config.json"), e.FilePath);
        Assert.Equal("$.bos_token", e.Position);
    }

    [Fact]
    public void In_memory_json_is_named_as_given()
    {
        var e = Assert.Throws<DataFormatException>(() => BpeTokenizer.FromJson("{", sourceName: "<test>"));
        Assert.Equal("<test>", e.FilePath);
    }
}

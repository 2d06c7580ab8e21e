using System.Text;
using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

public sealed class GenAiDecoderConfigTests
{
    private const string Minimal = """
        { "model": { "type": "llama", "eos_token_id": [2, 7], "context_length": 512, "vocab_size": 100,
            "decoder": { "filename": "model.onnx", "head_size": 16, "hidden_size": 64, "num_attention_heads": 4,
                         "num_key_value_heads": 2, "num_hidden_layers": 3 } },
          "search": { "max_length": 256, "past_present_share_buffer": true } }
        """;

    private static GenAiDecoderConfig Parse(string json) => GenAiDecoderConfig.Parse(Encoding.UTF8.GetBytes(json), "genai_config.json");

    [Fact]
    public void Absent_names_take_genai_defaults_and_search_limits_the_length()
    {
        GenAiDecoderConfig config = Parse(Minimal);
        Assert.Equal("past_key_values.%d.key", config.PastKeyNames);
        Assert.Equal("present.2.value", GenAiDecoderConfig.LayerName(config.PresentValueNames, 2));
        Assert.Equal("input_ids", config.InputIdsName);
        Assert.Null(config.PositionIdsName);
        Assert.Equal([2, 7], config.EosTokenIds);
        Assert.Equal(256, config.MaxLength);
        Assert.True(config.PastPresentShareBuffer);
        Assert.Equal(512, Parse(Minimal.Replace("\"max_length\": 256", "\"max_length\": 0")).MaxLength);
        Assert.False(Parse(Minimal.Replace("\"past_present_share_buffer\": true", "\"num_beams\": 1")).PastPresentShareBuffer);
    }

    [Theory]
    [InlineData("\"head_size\": 16", "\"head_size\": 0", "head_size")]
    [InlineData("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "num_key_value_heads")]
    [InlineData("\"filename\": \"model.onnx\",", "", "filename")]
    [InlineData("\"max_length\": 256", "\"max_length\": -1", "max_length")]
    public void Bad_fields_are_named(string from, string to, string field)
    {
        var error = Assert.Throws<DataFormatException>(() => Parse(Minimal.Replace(from, to)));
        Assert.Equal("genai_config.json", error.FilePath);
        Assert.Contains(field, error.Position + error.Problem);
    }

    [Fact]
    public void A_name_pattern_without_the_layer_index_is_refused()
    {
        string json = Minimal.Replace("\"num_hidden_layers\": 3 }", "\"num_hidden_layers\": 3, \"inputs\": { \"past_key_names\": \"past_key\" } }");
        var error = Assert.Throws<DataFormatException>(() => Parse(json));
        Assert.Contains("past_key_names", error.Position);
    }
}

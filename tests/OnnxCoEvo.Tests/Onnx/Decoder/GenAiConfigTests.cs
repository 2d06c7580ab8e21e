using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Decoder;

namespace OnnxCoEvo.Tests.Onnx.Decoder;

public sealed class GenAiConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Several_eos_ids_are_a_list_a_missing_bos_is_left_out_and_floats_keep_their_point()
    {
        ModelConfig model = DecoderTestSupport.Mistral with { BosTokenId = null, EosTokenIds = [5, 9] };
        string json = GenAiConfig.For(model, DecoderAttention.StandardOps, padTokenId: null).ToJson();
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement m = document.RootElement.GetProperty("model");
        Assert.Equal("mistral", m.GetProperty("type").GetString());
        Assert.False(m.TryGetProperty("bos_token_id", out _));
        Assert.Equal([5, 9], m.GetProperty("eos_token_id").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(5, m.GetProperty("pad_token_id").GetInt32());
        Assert.False(document.RootElement.GetProperty("search").GetProperty("past_present_share_buffer").GetBoolean());
        Assert.Contains("\"temperature\": 1.0", json);
        Assert.Throws<ArgumentException>(() => GenAiConfig.For(model, DecoderAttention.Auto, null));
    }

    [Fact]
    public void Pad_token_id_comes_from_config_json_and_a_bad_one_is_named()
    {
        ModelConfig config = DecoderTestSupport.HeadDim8 with { BosTokenId = 1, EosTokenIds = [2] };
        string model = _dir.File("m");
        Directory.CreateDirectory(model);
        ModelWeightsInitializer.Write(model, config, new WeightsInitOptions { Seed = 1 });
        string configPath = Path.Combine(model, ModelConfig.FileName);
        string text = File.ReadAllText(configPath);
        File.WriteAllText(configPath, text.Replace("\"vocab_size\"", "\"pad_token_id\": 7,\n  \"vocab_size\"", StringComparison.Ordinal));

        OnnxDecoderExportResult result = OnnxDecoderExport.Export(model, _dir.File("out"));
        using (JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(result.GenAiConfigPath)))
        {
            JsonElement m = document.RootElement.GetProperty("model");
            Assert.Equal(7, m.GetProperty("pad_token_id").GetInt32());
            Assert.Equal(1, m.GetProperty("bos_token_id").GetInt32());
        }

        File.WriteAllText(configPath, text.Replace("\"vocab_size\"", "\"pad_token_id\": \"seven\",\n  \"vocab_size\"", StringComparison.Ordinal));
        var error = Assert.Throws<DataFormatException>(() => OnnxDecoderExport.Export(model, _dir.File("out")));
        Assert.Contains("config.json", error.Message);
        Assert.Contains("$.pad_token_id", error.Message);
    }
}

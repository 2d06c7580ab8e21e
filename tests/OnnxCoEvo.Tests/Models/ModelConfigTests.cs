using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Tests.SafeTensors;

namespace OnnxCoEvo.Tests.Models;

public class ModelConfigTests
{
    // As published with Llama-3.2-1B-Instruct (eos as a list).
    internal const string Llama32Config = """
        {
          "architectures": ["LlamaForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009],
          "head_dim": 64,
          "hidden_act": "silu",
          "hidden_size": 2048,
          "initializer_range": 0.02,
          "intermediate_size": 8192,
          "max_position_embeddings": 131072,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 16,
          "num_key_value_heads": 8,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3"
          },
          "rope_theta": 500000.0,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.45.0.dev0",
          "use_cache": true,
          "vocab_size": 128256
        }
        """;

    // As published with Qwen2.5-0.5B: no head_dim (derived), single eos.
    private const string Qwen25Config = """
        {
          "architectures": ["Qwen2ForCausalLM"],
          "attention_dropout": 0.0,
          "bos_token_id": 151643,
          "eos_token_id": 151643,
          "hidden_act": "silu",
          "hidden_size": 896,
          "initializer_range": 0.02,
          "intermediate_size": 4864,
          "max_position_embeddings": 32768,
          "max_window_layers": 24,
          "model_type": "qwen2",
          "num_attention_heads": 14,
          "num_hidden_layers": 24,
          "num_key_value_heads": 2,
          "rms_norm_eps": 1e-06,
          "rope_theta": 1000000.0,
          "sliding_window": 32768,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.40.1",
          "use_cache": true,
          "use_sliding_window": false,
          "vocab_size": 151936
        }
        """;

    // As published with Mistral-7B-v0.1: sliding window, untied, no head_dim.
    private const string MistralConfig = """
        {
          "architectures": ["MistralForCausalLM"],
          "bos_token_id": 1,
          "eos_token_id": 2,
          "hidden_act": "silu",
          "hidden_size": 4096,
          "initializer_range": 0.02,
          "intermediate_size": 14336,
          "max_position_embeddings": 32768,
          "model_type": "mistral",
          "num_attention_heads": 32,
          "num_hidden_layers": 32,
          "num_key_value_heads": 8,
          "rms_norm_eps": 1e-05,
          "rope_theta": 10000.0,
          "sliding_window": 4096,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.34.0.dev0",
          "use_cache": true,
          "vocab_size": 32000
        }
        """;

    [Fact]
    public void Parses_Llama32_WithLlama3RopeScaling_AndEosList()
    {
        ModelConfig config = ModelConfig.Parse(Llama32Config);
        Assert.Equal(ModelConfig.Llama, config.ModelType);
        Assert.Equal(["LlamaForCausalLM"], config.Architectures);
        Assert.Equal((2048, 8192, 16, 32, 8, 64), (config.HiddenSize, config.IntermediateSize, config.NumHiddenLayers, config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim));
        Assert.Equal(128256, config.VocabSize);
        Assert.Equal(500000, config.RopeTheta);
        Assert.Equal(new RopeScaling(32, 1, 4, 8192), config.RopeScaling);
        Assert.Equal(1e-5, config.RmsNormEps);
        Assert.True(config.TieWordEmbeddings);
        Assert.False(config.HasQkvBias);
        Assert.Equal(128000, config.BosTokenId);
        Assert.Equal([128001, 128008, 128009], config.EosTokenIds);
        Assert.Equal("bfloat16", config.TorchDType);
        Assert.Equal(1_235_814_400, config.ParameterCount);
        Assert.Equal(ModelPresets.Get("llama-3.2-1b").Config with { Architectures = ["LlamaForCausalLM"] }, config);
    }

    [Fact]
    public void Parses_Qwen25_WithDerivedHeadDimAndQkvBias()
    {
        ModelConfig config = ModelConfig.Parse(Qwen25Config);
        Assert.Equal(ModelConfig.Qwen2, config.ModelType);
        Assert.Equal(64, config.HeadDim);
        Assert.True(config.HasQkvBias);
        Assert.False(config.HasOutputBias);
        Assert.Null(config.SlidingWindow);
        Assert.Null(config.RopeScaling);
        Assert.Equal([151643], config.EosTokenIds);
        Assert.Equal(1e6, config.RopeTheta);
        Assert.Equal(494_032_768, config.ParameterCount);
    }

    [Fact]
    public void Parses_Mistral_KeepingSlidingWindow()
    {
        ModelConfig config = ModelConfig.Parse(MistralConfig);
        Assert.Equal(ModelConfig.Mistral, config.ModelType);
        Assert.Equal(4096, config.SlidingWindow);
        Assert.Equal(128, config.HeadDim);
        Assert.False(config.TieWordEmbeddings);
        Assert.Equal(7_241_732_096, config.ParameterCount); // Mistral-7B-v0.1's published count
        Assert.Equal("lm_head.weight", config.TensorLayout()[^1].Name);
    }

    [Fact]
    public void Defaults_ApplyWhenOptionalFieldsAreAbsent()
    {
        ModelConfig config = ModelConfig.Parse("""
            {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "vocab_size": 100, "max_position_embeddings": 256}
            """);
        Assert.Equal(4, config.NumKeyValueHeads);
        Assert.Equal(16, config.HeadDim);
        Assert.Equal(10000, config.RopeTheta);
        Assert.Equal(0.02, config.InitializerRange);
        Assert.Null(config.RopeScaling);
        Assert.Empty(config.EosTokenIds);
        Assert.Null(config.BosTokenId);
    }

    [Theory]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"gemma\"", "$.model_type", "unsupported model_type 'gemma'")]
    [InlineData("\"model_type\": \"llama\",", "", "$.model_type", "missing required field")]
    [InlineData("\"hidden_size\": 2048,", "", "$.hidden_size", "missing required field")]
    [InlineData("\"vocab_size\": 128256", "\"vocab_size\": \"big\"", "$.vocab_size", "not a 32-bit integer")]
    [InlineData("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5", "$.num_key_value_heads", "do not divide")]
    [InlineData("\"rope_type\": \"llama3\"", "\"rope_type\": \"yarn\"", "$.rope_scaling.rope_type", "'yarn' is not supported")]
    [InlineData("\"low_freq_factor\": 1.0,", "", "$.rope_scaling.low_freq_factor", "missing required field")]
    [InlineData("\"mlp_bias\": false", "\"mlp_bias\": true", "$.mlp_bias", "not supported")]
    [InlineData("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "$.hidden_act", "'gelu' is not supported")]
    [InlineData("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": 1", "$.tie_word_embeddings", "not true or false")]
    public void BadConfig_NamesFileAndField(string find, string replace, string position, string problem)
    {
        string json = Llama32Config.Replace(find, replace);
        Assert.NotEqual(Llama32Config, json);
        var error = Assert.Throws<DataFormatException>(() => ModelConfig.Parse(json, "/models/x/config.json"));
        Assert.Equal("/models/x/config.json", error.FilePath);
        Assert.Equal(position, error.Position);
        Assert.Contains(problem, error.Problem);
    }

    [Fact]
    public void LegacyTypeKey_AndTransformersV5RopeParameters_AreAccepted()
    {
        ModelConfig legacy = ModelConfig.Parse(Llama32Config.Replace("\"rope_type\": \"llama3\"", "\"type\": \"llama3\""));
        Assert.Equal(32, legacy.RopeScaling!.Factor);

        string v5 = Llama32Config.Replace("\"rope_scaling\"", "\"rope_parameters\"").Replace("\"rope_theta\": 500000.0,", "")
            .Replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"llama3\", \"rope_theta\": 500000.0");
        ModelConfig config = ModelConfig.Parse(v5);
        Assert.Equal(500000, config.RopeTheta);
        Assert.Equal(8192, config.RopeScaling!.OriginalMaxPositionEmbeddings);
    }

    [Fact]
    public void NotJson_NamesFileAndPosition()
    {
        var error = Assert.Throws<DataFormatException>(() => ModelConfig.Parse("{\"model_type\": }", "c.json"));
        Assert.Equal("c.json", error.FilePath);
        Assert.StartsWith("byte ", error.Position);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("smollm2-135m")]
    [InlineData("qwen2.5-0.5b")]
    [InlineData("llama-3.2-1b")]
    [InlineData("llama-3.1-8b")]
    public void Save_ThenLoad_RoundTripsEveryPreset(string presetName)
    {
        using var dir = new TempDirectory();
        ModelConfig config = ModelPresets.Get(presetName).Config;
        config.Save(dir.Path);
        ModelConfig loaded = ModelConfig.Load(dir.Path);
        Assert.Equal(config with { Architectures = [config.ArchitectureClass] }, loaded);
        string json = File.ReadAllText(dir.File(ModelConfig.FileName));
        Assert.Contains($"\"architectures\": [\n    \"{config.ArchitectureClass}\"\n  ]", json);
        Assert.Contains("\"hidden_act\": \"silu\"", json);
    }

    [Fact]
    public void Save_WritesArchitectureSpecificFields()
    {
        string qwen = ModelPresets.Get("qwen2.5-0.5b").Config.ToJson();
        Assert.Contains("\"use_sliding_window\": false", qwen);
        Assert.DoesNotContain("attention_bias", qwen);
        Assert.DoesNotContain("head_dim", qwen); // derived by Qwen2Config
        Assert.Contains("\"eos_token_id\": 151645", qwen);

        string mistral = ModelConfig.Parse(MistralConfig).ToJson();
        Assert.Contains("\"sliding_window\": 4096", mistral);
        Assert.Contains("\"MistralForCausalLM\"", mistral);

        string llama = ModelPresets.Get("llama-3.2-1b").Config.ToJson();
        Assert.Contains("\"rope_type\": \"llama3\"", llama);
        Assert.Contains("\"attention_bias\": false", llama);
        Assert.Contains("\"rms_norm_eps\": 1e-05,", llama);
        Assert.Contains("\"factor\": 32.0,", llama);
        Assert.Contains("\"rope_theta\": 500000.0,", llama);
        Assert.Contains("\"initializer_range\": 0.02,", llama);
    }

    [Fact]
    public void TensorLayout_NamesAndShapes_ForQwen2WithBiases()
    {
        ModelConfig config = ModelPresets.Get("qwen2.5-0.5b").Config;
        IReadOnlyList<(string Name, long[] Shape)> layout = config.TensorLayout();
        (string, long[])[] expectedStart =
        [
            ("model.embed_tokens.weight", [151936, 896]),
            ("model.layers.0.self_attn.q_proj.weight", [896, 896]),
            ("model.layers.0.self_attn.q_proj.bias", [896]),
            ("model.layers.0.self_attn.k_proj.weight", [128, 896]),
            ("model.layers.0.self_attn.k_proj.bias", [128]),
            ("model.layers.0.self_attn.v_proj.weight", [128, 896]),
            ("model.layers.0.self_attn.v_proj.bias", [128]),
            ("model.layers.0.self_attn.o_proj.weight", [896, 896]),
            ("model.layers.0.mlp.gate_proj.weight", [4864, 896]),
            ("model.layers.0.mlp.up_proj.weight", [4864, 896]),
            ("model.layers.0.mlp.down_proj.weight", [896, 4864]),
            ("model.layers.0.input_layernorm.weight", [896]),
            ("model.layers.0.post_attention_layernorm.weight", [896]),
            ("model.layers.1.self_attn.q_proj.weight", [896, 896]),
        ];
        for (int i = 0; i < expectedStart.Length; i++)
        {
            Assert.Equal(expectedStart[i].Item1, layout[i].Name);
            Assert.Equal(expectedStart[i].Item2, layout[i].Shape);
        }
        Assert.Equal(1 + 24 * 12 + 1, layout.Count);
        Assert.Equal("model.norm.weight", layout[^1].Name);
    }

    [Fact]
    public void TensorLayout_LlamaAttentionBias_AddsQkvoBiases()
    {
        ModelConfig config = ModelPresets.Get("tiny").Config with { AttentionBias = true };
        string[] names = config.TensorLayout().Select(t => t.Name).ToArray();
        Assert.Contains("model.layers.0.self_attn.o_proj.bias", names);
        Assert.Contains("model.layers.3.self_attn.k_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", ModelPresets.Get("tiny").Config.TensorLayout().Select(t => t.Name));
        Assert.Contains("\"attention_bias\": true", config.ToJson());
    }
}

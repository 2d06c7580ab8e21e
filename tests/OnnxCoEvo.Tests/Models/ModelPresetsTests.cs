using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Tests.Models;

public class ModelPresetsTests
{
    [Theory]
    [InlineData("tiny", 918_656L)] // 1024 x 128 embedding + 4 layers of 196,864 + final norm 128
    [InlineData("smollm2-135m", 134_515_008L)]
    [InlineData("qwen2.5-0.5b", 494_032_768L)]
    [InlineData("llama-3.2-1b", 1_235_814_400L)]
    [InlineData("llama-3.1-8b", 8_030_261_248L)]
    public void ParameterCount_MatchesPublishedNumbers(string name, long expected)
    {
        Assert.Equal(expected, ModelPresets.Get(name).Config.ParameterCount);
    }

    [Fact]
    public void Presets_CarryTemplateAndDType()
    {
        Assert.Equal(("plain", TensorDType.F32), (ModelPresets.Get("tiny").ChatTemplate, ModelPresets.Get("tiny").DefaultDType));
        Assert.Equal(("chatml", TensorDType.BF16), (ModelPresets.Get("SmolLM2-135M").ChatTemplate, ModelPresets.Get("smollm2-135m").DefaultDType));
        Assert.Equal("chatml", ModelPresets.Get("qwen2.5-0.5b").ChatTemplate);
        Assert.Equal("llama3", ModelPresets.Get("llama-3.1-8b").ChatTemplate);
        Assert.All(ModelPresets.Names, name => Assert.Equal(name, ModelPresets.Get(name).Name));
    }

    [Fact]
    public void Tiny_TakesVocabSizeFromTokenizer()
    {
        ModelConfig tiny = ModelPresets.Get("tiny", vocabSize: 300).Config;
        Assert.Equal(300, tiny.VocabSize);
        Assert.Equal((128, 4, 4, 2, 32, 384), (tiny.HiddenSize, tiny.NumHiddenLayers, tiny.NumAttentionHeads, tiny.NumKeyValueHeads, tiny.HeadDim, tiny.IntermediateSize));
        Assert.True(tiny.TieWordEmbeddings);
        Assert.Equal(ModelPresets.DefaultTinyVocabSize, ModelPresets.Get("tiny").Config.VocabSize);
    }

    [Fact]
    public void UnknownName_ListsValidNames()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelPresets.Get("gpt-5"));
        Assert.Contains("'gpt-5'", error.Message);
        Assert.All(ModelPresets.Names, name => Assert.Contains(name, error.Message));
        Assert.False(ModelPresets.TryGet("gpt-5", out _));
        Assert.True(ModelPresets.TryGet("Tiny", out ModelPreset? tiny));
        Assert.Equal("tiny", tiny.Name);
    }

    [Fact]
    public void Tiny_model_takes_the_vocabulary_of_a_larger_tokenizer_learned_with_an_extra_corpus()
    {
        using var directory = new TempDirectory();
        string[] corpus = Enumerable.Range(0, 400).Select(i => $"Shelf {i} [SEP] lantern kettle hammock blanket teapot {i * 31 % 997}").ToArray();
        ModelPreset preset = ModelDirectoryFactory.Create(new ModelDirectoryRequest
        {
            PresetName = "tiny",
            OutputDirectory = directory.Path,
            TokenizerVocabSize = 2048,
            TokenizerCorpus = corpus,
        });
        // The tiny model's vocabulary is its tokenizer's: above the built-in 1,024, at most the 2,048 asked for.
        int vocabulary = OnnxCoEvo.Core.Tokenization.BpeTokenizer.Load(directory.Path).VocabSize;
        Assert.InRange(vocabulary, 1500, 2048);
        Assert.Equal(vocabulary, preset.Config.VocabSize);
        Assert.Equal(vocabulary, ModelConfig.Load(Path.Combine(directory.Path, ModelConfig.FileName)).VocabSize);
    }
}

using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Training.Backends;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Tests.Training;

/// <summary>A PEFT folder written from a trained backend and read into a fresh one gives the very same logits.</summary>
public sealed class AdapterLogitsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_saved_adapter_reproduces_its_logits(bool rsLora)
    {
        string model = TrainingSamples.TinyModel(_dir);
        ModelConfig config = ModelConfig.Load(model);
        var lora = new LoraConfig { Rank = 4, Alpha = 8, UseRsLora = rsLora, TargetModules = ["q_proj", "o_proj", "up_proj", "down_proj"] };
        var encoder = new ConversationEncoder(ChatTemplates.Create("plain", TinyTokenizerFactory.Create()));
        var batch = Enumerable.Range(0, 3).Select(i => encoder.Encode(TrainingSamples.Episode(i).Turns)).ToList();

        using var trained = CpuTrainerBackend.Create(new CpuTrainerBackendOptions { ModelDirectory = model, Lora = lora, Seed = 4 });
        for (int i = 0; i < 3; i++)
            trained.SftStep([batch], new StepSettings(5e-3f, 1f));
        PackedBatch packed = PackedBatch.Pack(batch, config.VocabSize);
        float[] expected = trained.Model.Logits(packed);

        string folder = trained.SaveAdapter(_dir.File("adapter"), model);
        PeftAdapter loaded = PeftAdapter.Load(folder, config);
        Assert.Equal(lora.UseRsLora, loaded.Config.UseRsLora);
        Assert.Equal(lora.Scaling, loaded.Config.Scaling);

        using var fresh = CpuTrainerBackend.Create(new CpuTrainerBackendOptions { ModelDirectory = model, Lora = loaded.Config, Seed = 99 });
        Assert.NotEqual(expected, fresh.Model.Logits(packed)); // a fresh adapter (B = 0) is the base model
        fresh.LoadAdapter(folder);
        Assert.Equal(expected, fresh.Model.Logits(packed));    // bit-identical: fp32 safetensors round trip

        // An adapter with another config is refused before anything changes.
        using var other = CpuTrainerBackend.Create(new CpuTrainerBackendOptions { ModelDirectory = model, Lora = lora with { Alpha = 16 } });
        float[] before = other.Model.Logits(packed);
        var e = Assert.Throws<ArgumentException>(() => other.LoadAdapter(folder));
        Assert.Contains("adapter_config.json", e.Message);
        Assert.Equal(before, other.Model.Logits(packed));
    }
}

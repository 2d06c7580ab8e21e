using System.Security.Cryptography;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Tests.SafeTensors;

namespace OnnxCoEvo.Tests.Models;

public class ModelWeightsInitializerTests
{
    private static ModelConfig Tiny => ModelPresets.Get("tiny").Config;

    private static string WeightsHash(string directory) =>
        Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(directory, SafeTensorsCheckpoint.SingleFileName))));

    [Fact]
    public void SplitMix64_MatchesReferenceOutputs()
    {
        // Reference sequence of SplitMix64 from seed 1234567.
        ulong state = 1234567;
        ulong[] expected = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821];
        Assert.Equal(expected, expected.Select(_ => SplitMix64.Next(ref state)));
    }

    [Fact]
    public void Xoshiro256StarStar_MatchesIndependentImplementation()
    {
        // Computed with a separate Python implementation (state seeded by four SplitMix64 outputs from 42).
        var random = new Xoshiro256StarStar(42);
        ulong[] expected = [1546998764402558742, 6990951692964543102, 12544586762248559009, 17057574109182124193];
        Assert.Equal(expected, expected.Select(_ => random.NextUInt64()));
    }

    [Fact]
    public void Log_AgreesWithMathLog()
    {
        var random = new Xoshiro256StarStar(7);
        for (int i = 0; i < 100_000; i++)
        {
            double x = random.NextDouble() + 1e-300;
            double expected = Math.Log(x);
            Assert.True(Math.Abs(DeterministicRandom.Log(x) - expected) <= 4e-16 * Math.Max(1, Math.Abs(expected)), $"log({x:R})");
        }
        Assert.Equal(0, DeterministicRandom.Log(1));
    }

    [Fact]
    public void FillNormal_HasStandardNormalStatistics()
    {
        var samples = new float[1 << 20];
        DeterministicRandom.FillNormal(samples, DeterministicRandom.DeriveSeed(1, "stats"), 0, 1);
        double mean = samples.Average(v => (double)v);
        double variance = samples.Average(v => (v - mean) * (v - mean));
        double kurtosis = samples.Average(v => Math.Pow(v - mean, 4)) / (variance * variance);
        double withinOneSigma = samples.Count(v => Math.Abs(v) < 1) / (double)samples.Length;
        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(variance, 0.99, 1.01);
        Assert.InRange(kurtosis, 2.95, 3.05);
        Assert.InRange(withinOneSigma, 0.680, 0.685); // 0.6827 for a normal
    }

    [Fact]
    public void SameSeed_SameBytes_DifferentSeed_DifferentBytes()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        using var c = new TempDirectory();
        ModelWeightsInitializer.Write(a.Path, Tiny, new WeightsInitOptions { Seed = 42 });
        ModelWeightsInitializer.Write(b.Path, Tiny, new WeightsInitOptions { Seed = 42 });
        ModelWeightsInitializer.Write(c.Path, Tiny, new WeightsInitOptions { Seed = 43 });
        Assert.Equal(WeightsHash(a.Path), WeightsHash(b.Path));
        Assert.NotEqual(WeightsHash(a.Path), WeightsHash(c.Path));
    }

    [Fact]
    public void Weights_ArePinnedForASeed()
    {
        // Pins the determinism contract (stream derivation, chunking, sampler, file layout): if this changes, every
        // model initialised from a seed changes, on every machine.
        var first = new float[4];
        DeterministicRandom.FillNormal(first, DeterministicRandom.DeriveSeed(42, "model.embed_tokens.weight"), 0, 0.02);
        Assert.Equal([0x3BF6895Cu, 0x3CEC2639u, 0x3C1E215Eu, 0xBC907A67u], first.Select(BitConverter.SingleToUInt32Bits));

        using var dir = new TempDirectory();
        ModelWeightsInitializer.Write(dir.Path, Tiny, new WeightsInitOptions { Seed = 42 });
        using (SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(dir.Path))
            Assert.Equal(first, checkpoint.ReadAsFloat32("model.embed_tokens.weight").Take(4));
        Assert.Equal("47A5907A80A1FD7A9CCC2313C980B6A367EEE4A75DCB8B18B80FA217D12D4671", WeightsHash(dir.Path));
    }

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.BF16)]
    public void Init_FollowsTransformersScheme(TensorDType dtype)
    {
        using var dir = new TempDirectory();
        // Qwen2-shaped tiny model, so q/k/v biases exist; an embedding larger than one generation window.
        ModelConfig config = Tiny with { ModelType = ModelConfig.Qwen2, VocabSize = 40_000 };
        ModelWeightsInitializer.Write(dir.Path, config, new WeightsInitOptions { Seed = 5, DType = dtype });
        using SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(dir.Path);
        Assert.Equal("pt", checkpoint.Files[0].Metadata["format"]);
        Assert.All(checkpoint.ReadAsFloat32("model.layers.1.input_layernorm.weight"), v => Assert.Equal(1f, v));
        Assert.All(checkpoint.ReadAsFloat32("model.norm.weight"), v => Assert.Equal(1f, v));
        Assert.All(checkpoint.ReadAsFloat32("model.layers.2.self_attn.k_proj.bias"), v => Assert.Equal(0f, v));

        foreach (string name in new[] { "model.embed_tokens.weight", "model.layers.3.mlp.down_proj.weight" })
        {
            float[] w = checkpoint.ReadAsFloat32(name);
            double mean = w.Average(v => (double)v);
            double std = Math.Sqrt(w.Average(v => (v - mean) * (v - mean)));
            Assert.InRange(mean, -0.001, 0.001);
            Assert.InRange(std, 0.0196, 0.0204);
        }
        Assert.Equal(dtype.ToTorchName(), ModelConfig.Load(dir.Path).TorchDType);
    }

    [Fact]
    public void LargeModels_AreSharded_AndProgressReachesTotal()
    {
        using var dir = new TempDirectory();
        var reports = new List<long>();
        IReadOnlyList<string> files = ModelWeightsInitializer.Write(dir.Path, Tiny, new WeightsInitOptions
        {
            Seed = 1,
            DType = TensorDType.BF16,
            MaxShardBytes = 600_000,
            Progress = new SynchronousProgress(reports),
        });
        Assert.Equal(["model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
            "model-00004-of-00004.safetensors", SafeTensorsCheckpoint.IndexFileName, ModelConfig.FileName], files.Select(Path.GetFileName));
        Assert.Equal(ModelWeightsInitializer.TotalBytes(Tiny, TensorDType.BF16), reports[^1]);
        Assert.Equal(reports.Order(), reports);

        ModelReport report = ModelInspector.Inspect(dir.Path);
        Assert.Empty(report.Problems);
        Assert.Equal(4, report.WeightFiles.Count);
    }
}

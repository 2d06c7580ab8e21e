using System.Diagnostics;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Model;
using Xunit.Abstractions;
using static OnnxCoEvo.Tests.Onnx.Decoder.DecoderTestSupport;

namespace OnnxCoEvo.Tests.Onnx.Decoder;

/// <summary>The SmolLM2-135M shape (30 layers, 9/3 heads of 64, 49152 vocabulary) with random f32 weights: made and built once.</summary>
public sealed class SmolLm2DecoderFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SmolLm2DecoderFixture()
    {
        ModelDirectory = _dir.File("smollm2-135m");
        var clock = Stopwatch.StartNew();
        ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "smollm2-135m", OutputDirectory = ModelDirectory, Seed = 2, DType = TensorDType.F32 });
        CreateSeconds = clock.Elapsed.TotalSeconds;
        Export = OnnxDecoderExport.Export(ModelDirectory);
    }

    public string ModelDirectory { get; }

    public double CreateSeconds { get; }

    public OnnxDecoderExportResult Export { get; }

    public void Dispose() => _dir.Dispose();
}

public sealed class SmolLm2DecoderTests(SmolLm2DecoderFixture fixture, ITestOutputHelper output) : IClassFixture<SmolLm2DecoderFixture>
{
    [Fact]
    public void Smollm2_shape_logits_match_the_reference_on_a_short_sequence()
    {
        OnnxDecoderExportResult export = fixture.Export;
        ModelConfig config = export.Config;
        Assert.Equal(DecoderAttention.GroupQueryAttention, export.Attention);
        output.WriteLine($"smollm2-135m: model dir {fixture.CreateSeconds:F1} s, build {export.Elapsed.TotalSeconds:F1} s, model.onnx {export.ModelBytes} B, model.onnx.data {export.DataBytes} B");

        var clock = Stopwatch.StartNew();
        using var runner = new DecoderRunner(OrtInferenceSession.Open(export.ModelPath, OneThread), config);
        double openSeconds = clock.Elapsed.TotalSeconds;
        int[] sequence = RandomSequences(config.VocabSize, 21, 6)[0];
        DecoderStep step = runner.Run(sequence.Select(t => (long)t).ToArray(), 1, Enumerable.Repeat(1L, sequence.Length).ToArray());
        Assert.Equal([1L, config.NumKeyValueHeads, sequence.Length, config.HeadDim], step.PresentShape);

        var reference = new LlamaCpuModel(config, LlamaCpuModel.LoadBaseParameters(fixture.ModelDirectory, config, trainable: false), null);
        float[] expected = ReferenceLogits(reference, [sequence])[0];
        int vocab = config.VocabSize;
        double error = RelativeError(Enumerable.Range(0, sequence.Length).Select(t => (step.Row(0, t), expected.AsSpan(t * vocab, vocab).ToArray())));
        output.WriteLine($"session open {openSeconds:F1} s; error {error:E2}");
        Assert.True(error < 1e-4, $"error {error}");
    }
}

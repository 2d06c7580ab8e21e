using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Export;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Tests.Onnx.Generation;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Peft;
using Xunit.Abstractions;

namespace OnnxCoEvo.Tests.Onnx.Export;

/// <summary>Random adapters for the tiny test model: both factors non-zero, so an export that drops or mis-scales B is seen.</summary>
internal static class ExportTestAdapters
{
    public static PeftAdapter Random(ulong seed, int rank = 4, double alpha = 8, bool rsLora = false, IReadOnlyList<string>? targets = null, double std = 0.2)
    {
        var lora = new LoraConfig { Rank = rank, Alpha = alpha, UseRsLora = rsLora, TargetModules = targets ?? LoraConfig.AllTargetModules };
        var tensors = lora.FactorLayout(TinyModel.Config).Select(factor =>
        {
            var values = new float[factor.Shape[0] * factor.Shape[1]];
            DeterministicRandom.FillNormal(values, DeterministicRandom.DeriveSeed(seed, factor.Name), 0, std);
            return new NamedTensor(factor.Name, factor.Shape, values);
        }).ToList();
        return new PeftAdapter { Config = lora, Tensors = tensors };
    }

    public static readonly ExportVerifySettings Settings = new() { NewTokens = 4, Session = new OrtSessionSettings { IntraOpThreads = 1, InterOpThreads = 1 } };
}

public sealed class ExportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static string Model => TinyModel.DirectoryWithOnnx;
    private static ModelConfig Config => TinyModel.Config;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Onnx_adapter_file_is_read_back_by_our_reader_and_by_ort_and_names_every_targeted_lora_input()
    {
        PeftAdapter adapter = ExportTestAdapters.Random(1, targets: ["q_proj", "v_proj", "down_proj"]);
        AdapterExportResult result = AdapterExport.WriteOnnxAdapter(adapter, Config, Model, _dir.File("a.onnx_adapter"));

        byte[] bytes = File.ReadAllBytes(result.Path);
        Assert.Equal("TORT"u8.ToArray(), bytes[4..8]);
        IReadOnlyList<OnnxAdapterParameter> read = OnnxAdapterFile.Read(result.Path);
        IReadOnlyList<NamedTensor> expected = DecoderLoraInputs.FromPeft(adapter, Config);
        Assert.Equal(DecoderLoraInputs.Names(Config), read.Select(p => p.Name));
        for (int i = 0; i < read.Count; i++)
        {
            Assert.Equal(TensorElementType.Float, read[i].Type);
            float[] values = AdapterExport.Decode(read[i].Data.Span, read[i].Type);
            if (expected[i].Values.Length > 0)
            {
                Assert.Equal(expected[i].LongShape, read[i].Dims);
                Assert.Equal(expected[i].Values, values);
            }
            else
            {
                // Untargeted projections: zero factors of the adapter's rank (4), never rank 0 beside rank-4 ones.
                Assert.Contains(4L, read[i].Dims);
                Assert.All(values, v => Assert.Equal(0f, v));
            }
        }
        Assert.Equal(Config.NumHiddenLayers * 3 * 2, read.Count(p => AdapterExport.Decode(p.Data.Span, p.Type).Any(v => v != 0)));
        using OrtLoraAdapter ort = OrtLoraAdapter.Open(result.Path); // ORT's loader verifies the flatbuffer and its version
        IReadOnlyList<OnnxLoraInput> inputs = OnnxLoraInputs.FromModelFile(Path.Combine(TinyModel.GqaOnnx, OnnxDecoderExport.ModelFileName));
        Assert.All(read, p => Assert.Contains(inputs, i => i.Name == p.Name));
    }

    [Fact]
    public void Ort_with_the_exported_adapter_active_equals_the_reference_with_that_adapter()
    {
        PeftAdapter adapter = ExportTestAdapters.Random(2, rsLora: true);
        string file = AdapterExport.WriteOnnxAdapter(adapter, Config, Model, _dir.File("b.onnx_adapter")).Path;

        ExportVerification verified = ExportVerifier.Verify(file, Model, adapter, ExportTestAdapters.Settings);
        output.WriteLine(verified.Summary());
        Assert.True(verified.Passed, verified.Summary());
        Assert.True(verified.MaxRelativeError < 1e-4);
        Assert.True(verified.AdapterEffect > 1000 * verified.MaxAbsError, $"the adapter moves logits by only {verified.AdapterEffect}");

        // The effect is a magnitude: with its B factors negated the adapter moves the logits about as far, the other way
        // (a signed maximum would read 0 for whichever of the two has its largest change negative).
        PeftAdapter negated = adapter with
        {
            Tensors = adapter.Tensors.Select(t => t.Name.Contains("lora_B", StringComparison.Ordinal)
                ? new NamedTensor(t.Name, t.Shape, t.Values.Select(v => -v).ToArray()) : t).ToList(),
        };
        string negatedFile = AdapterExport.WriteOnnxAdapter(negated, Config, Model, _dir.File("negated.onnx_adapter")).Path;
        ExportVerification negatedVerified = ExportVerifier.Verify(negatedFile, Model, negated, ExportTestAdapters.Settings);
        output.WriteLine("B negated: " + negatedVerified.Summary());
        Assert.InRange(negatedVerified.AdapterEffect, verified.AdapterEffect / 3, verified.AdapterEffect * 3);

        // The same file judged against the base model (another adapter) must fail: the check can see a wrong adapter.
        ExportVerification wrong = ExportVerifier.Verify(file, Model, ExportTestAdapters.Random(3), ExportTestAdapters.Settings);
        output.WriteLine("against another adapter: " + wrong.Summary());
        Assert.False(wrong.Passed);
        Assert.True(wrong.MaxRelativeError > 100 * verified.MaxRelativeError);
    }

    [Theory]
    [InlineData(MergedPrecision.Float32)]
    [InlineData(MergedPrecision.Float16)]
    public void Merged_model_equals_the_base_plus_the_adapter(MergedPrecision precision)
    {
        // Factors of std 0.1 move the logits by about 1 (a trained adapter's size); 0.2 would amplify float16 rounding 20-fold.
        PeftAdapter adapter = ExportTestAdapters.Random(4, std: 0.1);
        OnnxDecoderExportResult merged = MergedModelExport.Export(Model, adapter, _dir.File("merged"), new MergedExportOptions { Precision = precision });
        Assert.True(File.Exists(Path.Combine(merged.OutputDirectory, GenAiConfig.FileName)));
        Assert.True(File.Exists(Path.Combine(merged.OutputDirectory, "tokenizer.json")));
        Assert.Empty(OnnxLoraInputs.FromModelFile(merged.ModelPath));

        ExportVerification verified = ExportVerifier.Verify(merged.OutputDirectory, Model, adapter, ExportTestAdapters.Settings);
        output.WriteLine(verified.Summary());
        Assert.Equal(precision == MergedPrecision.Float32 ? TensorElementType.Float : TensorElementType.Float16, verified.ElementType);
        Assert.True(verified.Passed, verified.Summary());
        ExportVerification baseOnly = ExportVerifier.Verify(merged.OutputDirectory, Model, ExportTestAdapters.Random(5), ExportTestAdapters.Settings);
        Assert.False(baseOnly.Passed, "a merged model must differ from the base with another adapter");
    }

    [Fact]
    public void Float16_model_with_lora_inputs_gets_a_float16_adapter_that_ort_applies()
    {
        PeftAdapter merged = ExportTestAdapters.Random(6);
        PeftAdapter stacked = ExportTestAdapters.Random(7, rank: 2, targets: ["o_proj", "up_proj"]);
        string folder = MergedModelExport.Export(Model, merged, _dir.File("f16"),
            new MergedExportOptions { Precision = MergedPrecision.Float16, LoraInputs = true }).OutputDirectory;
        AdapterExportResult file = AdapterExport.WriteOnnxAdapter(stacked, Config, folder, _dir.File("f16.onnx_adapter"));
        Assert.Equal(TensorElementType.Float16, file.ElementType);
        Assert.All(OnnxAdapterFile.Read(file.Path), p => Assert.Equal(TensorElementType.Float16, p.Type));

        using MultiAdapterSession session = MultiAdapterSession.Open(folder, ExportTestAdapters.Settings.Session);
        session.LoadAdapter("stacked", file.Path);
        int[] tokens = [5, 17, 300, 42, 9];
        float[] plain = session.Logits(tokens), adapted = session.Logits(tokens, "stacked");
        Assert.True(plain.Zip(adapted).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "the float16 adapter changes nothing");
        // A float32 adapter for the float16 inputs is refused by name and type.
        string f32 = AdapterExport.WriteOnnxAdapter(stacked, Config, Model, _dir.File("f32.onnx_adapter")).Path;
        var e = Assert.Throws<DataFormatException>(() => session.LoadAdapter("f32", f32));
        Assert.Equal(f32, e.FilePath);
        Assert.Contains("field data_type", e.Position);
        Assert.Contains("Float16", e.Problem);
    }

    [Fact]
    public void Peft_folder_written_then_read_gives_the_same_logits()
    {
        PeftAdapter adapter = ExportTestAdapters.Random(8, rank: 3, alpha: 5, targets: ["k_proj", "o_proj", "gate_proj"]);
        AdapterExportResult written = AdapterExport.WritePeft(adapter, _dir.File("peft"), Model, overwrite: false);
        PeftAdapter read = PeftAdapter.Load(written.Path, Config);
        Assert.Equal(adapter.Config, read.Config with { TargetModules = adapter.Config.TargetModules });
        Assert.Equal(adapter.Tensors.Select(t => t.Values), read.Tensors.Select(t => t.Values));

        ExportVerification verified = ExportVerifier.Verify(written.Path, Model, adapter, ExportTestAdapters.Settings);
        output.WriteLine(verified.Summary());
        Assert.Equal(ExportKind.Peft, verified.Kind);
        Assert.True(verified.Passed, verified.Summary());
        Assert.Throws<IOException>(() => AdapterExport.WritePeft(adapter, written.Path, Model, overwrite: false));
    }

    [Fact]
    public void Two_adapters_in_one_session_each_run_matches_the_reference_with_that_adapter()
    {
        PeftAdapter target = ExportTestAdapters.Random(9), failure = ExportTestAdapters.Random(10, rank: 2, targets: ["q_proj", "down_proj"]);
        string targetFile = AdapterExport.WriteOnnxAdapter(target, Config, Model, _dir.File("target.onnx_adapter")).Path;
        string failureFile = AdapterExport.WriteOnnxAdapter(failure, Config, Model, _dir.File("failure.onnx_adapter")).Path;
        using MultiAdapterSession session = MultiAdapterSession.Open(Model, ExportTestAdapters.Settings.Session);
        session.LoadAdapter("target", targetFile);
        session.LoadAdapter("failure", failureFile);
        Assert.Equal(["target", "failure"], session.AdapterNames);

        int[] tokens = [1, 40, 77, 500, 3, 999, 12];
        var references = new Dictionary<string, float[]>
        {
            ["target"] = ReferenceLogits(target, tokens),
            ["failure"] = ReferenceLogits(failure, tokens),
        };
        // Interleaved, so a run that kept the previous run's adapter would be caught.
        foreach (string name in new[] { "target", "failure", "target", "failure" })
        {
            float[] logits = session.Logits(tokens, name);
            double error = RelativeError(logits, references[name], Config.VocabSize);
            output.WriteLine($"{name}: {error:E2}");
            Assert.True(error < 1e-4, $"{name}: {error}");
        }
        Assert.True(RelativeError(session.Logits(tokens, "target"), references["failure"], Config.VocabSize) > 1e-2);
        Assert.True(session.UnloadAdapter("failure"));
        Assert.Throws<ArgumentException>(() => session.Logits(tokens, "failure"));
        Assert.Throws<ArgumentException>(() => session.LoadAdapter("target", failureFile));
    }

    [Theory]
    [InlineData(DecoderAttention.GroupQueryAttention)]
    [InlineData(DecoderAttention.StandardOps)]
    public void A_peft_adapter_on_some_projections_runs_in_the_kv_cached_decoder_and_matches_the_reference(DecoderAttention attention)
    {
        // k, o and gate only: fed at rank 0 beside rank 3, ORT refused the run ("Shape mismatch attempting to re-use buffer").
        PeftAdapter peft = ExportTestAdapters.Random(13, rank: 3, alpha: 5, targets: ["k_proj", "o_proj", "gate_proj"]);
        using OnnxCoEvo.Onnx.Generation.OrtDecoderModel onnx = OnnxCoEvo.Onnx.Generation.OrtDecoderModel.Open(TinyModel.Onnx(attention), ExportTestAdapters.Settings.Session);
        using OnnxCoEvo.Onnx.Generation.DecoderLoraAdapter adapter = OnnxCoEvo.Onnx.Generation.DecoderLoraAdapter.FromPeft(peft, Config);
        onnx.SetAdapter(adapter);
        int[] prompt = Enumerable.Range(1, 47).ToArray();
        var logits = new float[2 * Config.VocabSize];
        onnx.Forward([new(0, prompt)], logits);
        onnx.Forward([new(0, new[] { 5 })], logits.AsSpan(Config.VocabSize));
        float[] expected = ReferenceLogits(peft, [.. prompt, 5]);
        int v = Config.VocabSize;
        double error = Math.Max(
            RelativeError(logits[..v], expected[((prompt.Length - 1) * v)..(prompt.Length * v)], v),
            RelativeError(logits[v..], expected[(prompt.Length * v)..], v));
        Assert.True(error < 1e-4, $"error {error}");
    }

    [Fact]
    public void Wrong_names_shapes_and_dtypes_are_refused_naming_the_parameter()
    {
        using MultiAdapterSession session = MultiAdapterSession.Open(Model, ExportTestAdapters.Settings.Session);
        string model = session.ModelPath;
        PeftAdapter adapter = ExportTestAdapters.Random(11, targets: ["q_proj"]);
        IReadOnlyList<OnnxAdapterParameter> good = AdapterExport.Parameters(adapter, Config, session.LoraInputs, model);

        string Save(string name, IReadOnlyList<OnnxAdapterParameter> parameters)
        {
            string path = _dir.File(name);
            OnnxAdapterFile.Save(path, parameters);
            return path;
        }
        OnnxAdapterParameter first = good[0];
        string renamed = Save("renamed.onnx_adapter", [first with { Name = "model.layers.0.self_attn.qq_proj.lora_A.weight" }, .. good.Skip(1)]);
        Fault.Expect(() => session.LoadAdapter("x", renamed), renamed, "parameter 'model.layers.0.self_attn.qq_proj.lora_A.weight'", "is not a LoRA input of");

        long[] badDims = [first.Dims[0] + 1, first.Dims[1]];
        string reshaped = Save("reshaped.onnx_adapter", [first with { Dims = badDims, Data = new byte[badDims[0] * badDims[1] * 4] }, .. good.Skip(1)]);
        Fault.Expect(() => session.LoadAdapter("x", reshaped), reshaped, $"parameter '{first.Name}' field dims", "declares [128, rank]");

        string half = Save("half.onnx_adapter", good.Select(p => p with
        {
            Type = TensorElementType.Float16,
            Data = AdapterExport.Encode(AdapterExport.Decode(p.Data.Span, p.Type), TensorElementType.Float16, p.Name),
        }).ToList());
        Fault.Expect(() => session.LoadAdapter("x", half), half, $"parameter '{first.Name}' field data_type", "is Float16");

        string lonely = Save("lonely.onnx_adapter", [first]);
        Fault.Expect(() => session.LoadAdapter("x", lonely), lonely, $"parameter '{good[1].Name}'", "is missing");

        OnnxAdapterParameter last = good[^1];
        long[] rank5 = [5, last.Dims[1]];
        string mixed = Save("mixed.onnx_adapter", [.. good.SkipLast(1), last with { Dims = rank5, Data = new byte[5 * rank5[1] * 4] }]);
        Fault.Expect(() => session.LoadAdapter("x", mixed), mixed, $"parameter '{last.Name}' field dims", "has rank 5, but");

        // An adapter made for another model shape is refused before anything is written.
        var other = new LoraConfig { Rank = 4, Alpha = 8, TargetModules = ["q_proj"] };
        var wide = new PeftAdapter { Config = other, Tensors = other.FactorLayout(Config with { HiddenSize = 64, NumAttentionHeads = 2, NumKeyValueHeads = 1 }).Select(f => new NamedTensor(f.Name, f.Shape, new float[f.Shape[0] * f.Shape[1]])).ToList() };
        var e = Assert.Throws<ArgumentException>(() => AdapterExport.WriteOnnxAdapter(wide, Config, Model, _dir.File("wide.onnx_adapter")));
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_A.weight", e.Message);
        Assert.False(File.Exists(_dir.File("wide.onnx_adapter")));
        Assert.Empty(session.AdapterNames);
    }

    [Fact]
    public void Adapter_checkpoints_resolve_peft_folders_training_checkpoints_and_run_directories()
    {
        PeftAdapter adapter = ExportTestAdapters.Random(12, rank: 2, alpha: 3, rsLora: true, targets: ["v_proj", "up_proj"]);
        string run = _dir.File("run");
        var identity = new Dictionary<string, string> { ["mode"] = "lora r=2 alpha=3 rslora=True targets=v_proj,up_proj" };
        var moments = adapter.Tensors.SelectMany(t => new[]
        {
            new NamedTensor(t.Name + AdamW.FirstMomentSuffix, t.Shape, new float[t.Values.Length]),
            new NamedTensor(t.Name + AdamW.SecondMomentSuffix, t.Shape, new float[t.Values.Length]),
        }).ToList();
        string checkpoint = TrainingCheckpoint.Save(Path.Combine(run, "checkpoints"), adapter.Tensors, new AdamWState(7, moments),
            new TrainerState { GlobalStep = 7, RngState = [1, 2, 3, 4], Metadata = identity });

        AdapterCheckpoint fromCheckpoint = AdapterCheckpoint.Load(checkpoint, Config);
        Assert.Equal(AdapterCheckpointKind.TrainingCheckpoint, fromCheckpoint.Kind);
        Assert.Equal(adapter.Config.Scaling, fromCheckpoint.Adapter.Config.Scaling);
        Assert.Equal(adapter.Tensors.Select(t => t.Values), fromCheckpoint.Adapter.Tensors.Select(t => t.Values));

        AdapterCheckpoint fromRun = AdapterCheckpoint.Load(run, Config);
        Assert.Equal((AdapterCheckpointKind.TrainingRun, checkpoint), (fromRun.Kind, fromRun.Source));
        Assert.Equal(checkpoint, AdapterCheckpoint.Load(Path.Combine(run, "checkpoints"), Config).Source);
        adapter.Save(Path.Combine(run, "adapter"));
        Assert.Equal(Path.Combine(run, "adapter"), AdapterCheckpoint.Load(run, Config).Source);
        Assert.Equal(AdapterCheckpointKind.PeftFolder, AdapterCheckpoint.Load(Path.Combine(run, "adapter"), Config).Kind);

        Directory.CreateDirectory(_dir.File("empty"));
        Assert.Contains("holds no LoRA adapter", Assert.Throws<ArgumentException>(() => AdapterCheckpoint.Load(_dir.File("empty"), Config)).Message);
        Directory.CreateDirectory(_dir.File("full/model"));
        File.WriteAllText(_dir.File("full/model/config.json"), "{}");
        Assert.Contains("full fine-tuning", Assert.Throws<ArgumentException>(() => AdapterCheckpoint.Load(_dir.File("full"), Config)).Message);
        // The checkpoint's factors must fit the model: another model shape is refused naming the file and tensor.
        var e = Assert.Throws<DataFormatException>(() => AdapterCheckpoint.Load(checkpoint, Config with { HiddenSize = 64, NumAttentionHeads = 2, NumKeyValueHeads = 1 }));
        Assert.EndsWith(TrainingCheckpoint.TrainableFileName, e.FilePath);
    }

    private static float[] ReferenceLogits(PeftAdapter adapter, int[] tokens) =>
        ExportVerifier.ReferenceModel(Model, Config, adapter).Logits(
            OnnxCoEvo.Training.Data.PackedBatch.Pack([new OnnxCoEvo.Training.Data.TrainingSequence(tokens, new bool[tokens.Length])], Config.VocabSize));

    /// <summary>Largest per-position |a - e| divided by that position's largest |e|.</summary>
    private static double RelativeError(float[] actual, float[] expected, int vocab)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int row = 0; row < expected.Length / vocab; row++)
        {
            double diff = 0, scale = 1e-6;
            for (int i = row * vocab; i < (row + 1) * vocab; i++)
            {
                diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
                scale = Math.Max(scale, Math.Abs(expected[i]));
            }
            worst = Math.Max(worst, diff / scale);
        }
        return worst;
    }
}

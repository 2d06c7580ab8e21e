using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>
/// One random-weight tiny model directory per test process (the preset `coevo model init --preset tiny` writes), its
/// ONNX decoders (DIR/onnx with GroupQueryAttention, DIR/onnx-standard with standard ops) and a random PEFT adapter.
/// </summary>
public static class TinyModel
{
    private static readonly Lazy<string> s_directory = new(() =>
    {
        string directory = Path.Combine(Path.GetTempPath(), "coevo-tests-tiny-generator-" + Environment.ProcessId);
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "tiny", OutputDirectory = directory, Seed = 11 });
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        };
        return directory;
    });

    private static readonly Lazy<string> s_gqa = new(() => Build(OnnxDecoderExport.DefaultSubdirectory, DecoderAttention.GroupQueryAttention));
    private static readonly Lazy<string> s_standard = new(() => Build("onnx-standard", DecoderAttention.StandardOps));
    private static readonly Lazy<string> s_adapter = new(() => SaveAdapter("adapter", seed: 5));

    public static string Directory => s_directory.Value;

    /// <summary>The model directory once DIR/onnx is built (the form "onnx:DIR" specs take).</summary>
    public static string DirectoryWithOnnx => Path.GetDirectoryName(GqaOnnx)!;

    /// <summary>DIR/onnx: GroupQueryAttention, past and present share one buffer.</summary>
    public static string GqaOnnx => s_gqa.Value;

    /// <summary>DIR/onnx-standard: opset-21 attention, the past grows.</summary>
    public static string StandardOnnx => s_standard.Value;

    /// <summary>A PEFT folder: rank 4 on q, v and down projections, B large enough to change greedy choices.</summary>
    public static string AdapterDirectory => s_adapter.Value;

    public static ModelConfig Config => ModelConfig.Load(Directory);

    public static string Onnx(DecoderAttention attention) => attention == DecoderAttention.StandardOps ? StandardOnnx : GqaOnnx;

    private static string Build(string subdirectory, DecoderAttention attention)
    {
        string output = Path.Combine(Directory, subdirectory);
        OnnxDecoderExport.Export(Directory, output, new OnnxDecoderOptions { Attention = attention });
        return output;
    }

    private static string SaveAdapter(string name, ulong seed)
    {
        var lora = new LoraConfig { Rank = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj", "down_proj"] };
        var tensors = lora.FactorLayout(Config).Select((factor, i) =>
        {
            var values = new float[factor.Shape[0] * factor.Shape[1]];
            DeterministicRandom.FillNormal(values, seed + (ulong)i, 0, 0.3);
            return new NamedTensor(factor.Name, factor.Shape, values);
        }).ToList();
        string path = Path.Combine(Directory, name);
        new PeftAdapter { Config = lora, Tensors = tensors }.Save(path, overwrite: true);
        return path;
    }

    public static BpeTokenizer Tokenizer => BpeTokenizer.Load(Directory);

    public static IChatTemplate Template => ChatTemplates.Detect(Tokenizer);
}

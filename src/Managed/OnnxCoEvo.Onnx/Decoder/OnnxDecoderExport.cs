using System.Diagnostics;
using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Json;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Graph;

namespace OnnxCoEvo.Onnx.Decoder;

/// <summary>What <see cref="OnnxDecoderExport.Export"/> wrote.</summary>
public sealed record OnnxDecoderExportResult(
    string OutputDirectory,
    string ModelPath,
    string? DataPath,
    string GenAiConfigPath,
    DecoderAttention Attention,
    ModelConfig Config,
    long ModelBytes,
    long DataBytes,
    IReadOnlyList<string> CopiedFiles,
    TimeSpan Elapsed);

/// <summary>
/// Turns a Hugging Face-format model directory into an ONNX Runtime GenAI folder (default DIR/onnx): model.onnx with
/// its weights in model.onnx.data, genai_config.json, and the tokenizer files copied.
/// </summary>
public static class OnnxDecoderExport
{
    public const string ModelFileName = "model.onnx";
    public const string DataFileName = "model.onnx.data";
    public const string DefaultSubdirectory = "onnx";

    /// <summary>Copied when present: the tokenizer and the files GenAI and chat templating read beside it.</summary>
    public static IReadOnlyList<string> TokenizerFiles { get; } =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "chat_template.jinja"];

    /// <param name="modelDirectory">Holds config.json and model.safetensors (or its index and shards).</param>
    /// <param name="outputDirectory">Null: &lt;modelDirectory&gt;/onnx. Files of the same names there are replaced.</param>
    /// <exception cref="DataFormatException">config.json or a weight is bad; names the file and field or tensor.</exception>
    public static OnnxDecoderExportResult Export(string modelDirectory, string? outputDirectory = null, OnnxDecoderOptions? options = null) =>
        Export(modelDirectory, outputDirectory, options, weights: null, transform: null);

    /// <summary>
    /// As <see cref="Export(string, string?, OnnxDecoderOptions?)"/>, with the weights read through <paramref name="weights"/>
    /// (e.g. a LoRA adapter merged in; it owns and disposes the directory's weights) and the built graph passed through
    /// <paramref name="transform"/> (e.g. converted to float16) before it is saved.
    /// </summary>
    public static OnnxDecoderExportResult Export(string modelDirectory, string? outputDirectory, OnnxDecoderOptions? options,
        Func<DecoderWeights, DecoderWeights>? weights, Func<OnnxModel, OnnxModel>? transform)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var clock = Stopwatch.StartNew();
        string source = Path.GetFullPath(modelDirectory);
        if (!Directory.Exists(source))
            throw new DirectoryNotFoundException($"model directory '{source}' does not exist");
        string configPath = Path.Combine(source, ModelConfig.FileName);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"{source}: no {ModelConfig.FileName} (is this a Hugging Face model directory?)", configPath);
        ModelConfig config = ModelConfig.Load(configPath);
        options ??= new OnnxDecoderOptions();
        DecoderAttention attention = OnnxDecoderBuilder.ResolveAttention(config, options.Attention);
        int? padTokenId = ReadPadTokenId(configPath);

        OnnxModel model;
        DecoderWeights read = DecoderWeights.FromDirectory(source), used;
        try
        {
            used = weights is null ? read : weights(read);
        }
        catch
        {
            read.Dispose();
            throw;
        }
        using (used)
            model = OnnxDecoderBuilder.Build(config, used, options with { Attention = attention });
        if (transform is not null)
            model = transform(model);

        string target = Path.GetFullPath(outputDirectory ?? Path.Combine(source, DefaultSubdirectory));
        if (target == source)
            throw new ArgumentException($"the output directory must differ from the model directory {source}", nameof(outputDirectory));
        Directory.CreateDirectory(target);
        string modelPath = Path.Combine(target, ModelFileName);
        string? dataPath = model.Save(modelPath, new OnnxSaveOptions { ExternalDataFileName = DataFileName });
        string stale = Path.Combine(target, DataFileName);
        if (dataPath is null && File.Exists(stale))
            File.Delete(stale); // a previous build's weights must not sit beside a model that does not use them

        string genAiPath = Path.Combine(target, GenAiConfig.FileName);
        AtomicFile.WriteAllText(genAiPath, GenAiConfig.For(config, attention, padTokenId).ToJson());

        var copied = new List<string>();
        foreach (string name in TokenizerFiles)
        {
            string from = Path.Combine(source, name);
            if (!File.Exists(from))
                continue;
            File.Copy(from, Path.Combine(target, name), overwrite: true);
            copied.Add(name);
        }
        return new OnnxDecoderExportResult(target, modelPath, dataPath, genAiPath, attention, config,
            new FileInfo(modelPath).Length, dataPath is null ? 0 : new FileInfo(dataPath).Length, copied, clock.Elapsed);
    }

    /// <summary>config.json's pad_token_id (ModelConfig does not keep it), or null when absent or null.</summary>
    private static int? ReadPadTokenId(string configPath)
    {
        var source = new JsonSource(configPath) { Style = JsonStyle.Config };
        using JsonDocument document = source.Parse(File.ReadAllBytes(configPath), JsonSyntaxErrorFormat.FileByte);
        if (!document.RootElement.TryGetProperty("pad_token_id", out JsonElement pad) || pad.ValueKind == JsonValueKind.Null)
            return null;
        return pad.ValueKind == JsonValueKind.Number && pad.TryGetInt32(out int id) && id >= 0
            ? id
            : throw new DataFormatException(configPath, "$.pad_token_id", $"is {pad.GetRawText()}; expected a non-negative integer token id or null");
    }
}

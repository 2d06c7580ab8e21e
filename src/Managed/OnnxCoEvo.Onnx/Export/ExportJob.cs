using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Onnx.Export;

/// <summary>The files an adapter is exported to.</summary>
public enum ExportFormat
{
    /// <summary>ONNX Runtime's .onnx_adapter for the model's built decoder.</summary>
    OnnxAdapter,

    /// <summary>A Hugging Face PEFT folder.</summary>
    Peft,

    /// <summary>A standalone ORT GenAI folder with the adapter merged into the weights.</summary>
    Merged,
}

public static class ExportFormats
{
    public static IReadOnlyList<string> Names { get; } = ["onnx-adapter", "peft", "merged"];

    public static ExportFormat Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "onnx-adapter" or "onnx_adapter" => ExportFormat.OnnxAdapter,
        "peft" => ExportFormat.Peft,
        "merged" => ExportFormat.Merged,
        _ => throw new ArgumentException($"export format must be one of {string.Join(", ", Names)}, not '{text}'"),
    };

    public static string Name(ExportFormat format) => Names[(int)format];

    /// <summary>The conventional output name inside a folder of exports: adapter.onnx_adapter, peft/, merged/ (merged-f16/).</summary>
    public static string DefaultOutputName(ExportFormat format, MergedPrecision precision = MergedPrecision.Float32) => format switch
    {
        ExportFormat.OnnxAdapter => "adapter" + OnnxAdapterFile.Extension,
        ExportFormat.Peft => "peft",
        _ => precision == MergedPrecision.Float16 ? "merged-f16" : "merged",
    };
}

/// <summary>One export of a tuned adapter, verified unless asked not to be.</summary>
public sealed record ExportRequest
{
    /// <summary>The base model (Hugging Face layout); adapter exports also need its built decoder (onnx/).</summary>
    public required string ModelDirectory { get; init; }

    public required PeftAdapter Adapter { get; init; }

    public required ExportFormat Format { get; init; }

    public required string OutputPath { get; init; }

    /// <summary>The built decoder the .onnx_adapter is for; null: &lt;model&gt;/onnx.</summary>
    public string? OnnxDirectory { get; init; }

    public MergedExportOptions Merged { get; init; } = new();

    /// <summary>Replace an existing export at <see cref="OutputPath"/>.</summary>
    public bool Overwrite { get; init; }

    public bool Verify { get; init; } = true;

    public ExportVerifySettings VerifySettings { get; init; } = new();
}

/// <summary>What an export wrote and, when verified, how it compared with the trainer's forward.</summary>
public sealed record ExportOutcome(ExportFormat Format, string Path, long Bytes, TensorElementType ElementType, ExportVerification? Verification);

/// <summary>Runs an <see cref="ExportRequest"/>: the one entry point of `coevo export adapter|merged` and a run's export stage.</summary>
public static class ExportJob
{
    public static ExportOutcome Run(ExportRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string model = Path.GetFullPath(request.ModelDirectory);
        ModelConfig config = ModelConfig.Load(Path.Combine(model, ModelConfig.FileName));
        string output = Path.GetFullPath(request.OutputPath);
        string onnx = request.OnnxDirectory ?? model;
        ExportOutcome outcome;
        switch (request.Format)
        {
            case ExportFormat.OnnxAdapter:
                if (File.Exists(output) && !request.Overwrite)
                    throw new IOException($"{output} already exists; pass --force to replace it");
                if (Directory.Exists(output))
                    throw new IOException($"{output} is a folder; an .onnx_adapter export is a file");
                AdapterExportResult file = AdapterExport.WriteOnnxAdapter(request.Adapter, config, onnx, output);
                outcome = new ExportOutcome(request.Format, file.Path, file.Bytes, file.ElementType, null);
                break;
            case ExportFormat.Peft:
                AdapterExportResult peft = AdapterExport.WritePeft(request.Adapter, output, model, request.Overwrite);
                outcome = new ExportOutcome(request.Format, peft.Path, peft.Bytes, TensorElementType.Float, null);
                break;
            default:
                OnnxDecoderExportResult merged = MergedModelExport.Export(model, request.Adapter, output, request.Merged with { Overwrite = request.Overwrite });
                outcome = new ExportOutcome(request.Format, merged.OutputDirectory, merged.ModelBytes + merged.DataBytes,
                    request.Merged.Precision == MergedPrecision.Float16 ? TensorElementType.Float16 : TensorElementType.Float, null);
                break;
        }
        if (!request.Verify)
            return outcome;
        ExportVerifySettings settings = request.VerifySettings with { OnnxDirectory = request.VerifySettings.OnnxDirectory ?? request.OnnxDirectory };
        return outcome with { Verification = ExportVerifier.Verify(outcome.Path, model, request.Adapter, settings) };
    }

    /// <summary>
    /// Exports the adapter at <paramref name="adapterPath"/> (anything <see cref="AdapterCheckpoint.Load"/> reads) in each
    /// format into <paramref name="outputDirectory"/> under <see cref="ExportFormats.DefaultOutputName"/>, replacing earlier
    /// exports there; throws when a verification fails, naming the export and its errors.
    /// </summary>
    public static IReadOnlyList<ExportOutcome> RunAll(string modelDirectory, string adapterPath, IReadOnlyList<ExportFormat> formats,
        string outputDirectory, MergedPrecision precision = MergedPrecision.Float32, bool verify = true)
    {
        ArgumentNullException.ThrowIfNull(formats);
        PeftAdapter adapter = AdapterCheckpoint.Load(adapterPath, ModelConfig.Load(Path.Combine(modelDirectory, ModelConfig.FileName))).Adapter;
        var outcomes = new List<ExportOutcome>(formats.Count);
        foreach (ExportFormat format in formats.Distinct())
        {
            ExportOutcome outcome = Run(new ExportRequest
            {
                ModelDirectory = modelDirectory,
                Adapter = adapter,
                Format = format,
                OutputPath = Path.Combine(outputDirectory, ExportFormats.DefaultOutputName(format, precision)),
                Merged = new MergedExportOptions { Precision = precision },
                Overwrite = true,
                Verify = verify,
            });
            if (outcome.Verification is { Passed: false } failed)
                throw new InvalidOperationException($"export {outcome.Path} does not reproduce the trainer's forward: {failed.Summary()}");
            outcomes.Add(outcome);
        }
        return outcomes;
    }
}

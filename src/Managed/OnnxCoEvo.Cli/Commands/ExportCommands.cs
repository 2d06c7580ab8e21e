using System.Globalization;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Export;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

/// <summary>Options every export verb shares: the base model, the tuned adapter, and how the result is verified.</summary>
public abstract class ExportCommandBase : ICliCommand
{
    [Option("model", Required = true, HelpText = "Base model directory (Hugging Face layout; adapter exports also use its onnx/ from `coevo onnx build`).")]
    public string Model { get; set; } = "";

    [Option("adapter", Required = true, HelpText = "Tuned adapter: a PEFT folder, a training checkpoint (checkpoint-NNNNNN) or a `coevo train` output directory.")]
    public string Adapter { get; set; } = "";

    [Option("onnx", HelpText = "The built decoder adapters are for (a folder with genai_config.json; default: <model>/onnx).")]
    public string? Onnx { get; set; }

    [Option("new-tokens", Default = 8, HelpText = "Verification: greedy tokens generated after each prompt.")]
    public int NewTokens { get; set; } = 8;

    [Option("max-rel", HelpText = "Verification: largest allowed max|ort - reference| / max|reference| (default 1e-4 float32, 2e-2 float16).")]
    public double? MaxRelative { get; set; }

    public abstract int Run();

    protected AdapterCheckpoint LoadAdapter() =>
        AdapterCheckpoint.Load(Adapter, ModelConfig.Load(Path.Combine(Model, ModelConfig.FileName)));

    protected ExportVerifySettings VerifySettings() => new() { NewTokens = NewTokens, MaxRelativeError = MaxRelative, OnnxDirectory = Onnx };

    /// <summary>Reads the adapter, exports it, verifies the result unless <paramref name="noVerify"/>, and reports.</summary>
    protected int Export(ExportFormat format, string output, bool force, bool noVerify, MergedExportOptions? merged = null)
    {
        AdapterCheckpoint adapter = LoadAdapter();
        ExportOutcome outcome = ExportJob.Run(new ExportRequest
        {
            ModelDirectory = Model,
            Adapter = adapter.Adapter,
            Format = format,
            OutputPath = output,
            OnnxDirectory = Onnx,
            Merged = merged ?? new MergedExportOptions(),
            Overwrite = force,
            Verify = !noVerify,
            VerifySettings = VerifySettings(),
        });
        return Report(outcome, adapter);
    }

    /// <summary>Prints the export and its verification; exit code 1 when the verification failed.</summary>
    protected static int Report(ExportOutcome outcome, AdapterCheckpoint source)
    {
        var table = new KeyValueTable();
        table.Add("export", $"{ExportFormats.Name(outcome.Format)} ({outcome.ElementType.ToString().ToLowerInvariant()})");
        table.Add("path", outcome.Path);
        table.Add("size", HumanUnits.Bytes(outcome.Bytes));
        table.Add("adapter", $"{source.Source} ({source.Kind}: r={source.Adapter.Config.Rank}, alpha={source.Adapter.Config.Alpha.ToString(CultureInfo.InvariantCulture)}, {string.Join(",", source.Adapter.Config.TargetModules)})");
        table.Write();
        return outcome.Verification is { } verification ? ReportVerification(verification) : 0;
    }

    protected static int ReportVerification(ExportVerification v)
    {
        var table = new KeyValueTable();
        table.Add("verified", $"{v.Path} ({v.Kind}) in ONNX Runtime against the trainer's fp32 forward");
        table.Add("prompts / positions", $"{v.Prompts} / {v.Positions}");
        table.Add("max abs error", v.MaxAbsError.ToString("E2", CultureInfo.InvariantCulture));
        table.Add("max rel error", $"{v.MaxRelativeError.ToString("E2", CultureInfo.InvariantCulture)} (limit {v.Tolerance.ToString("E0", CultureInfo.InvariantCulture)})");
        table.Add("greedy tokens", $"{v.GreedyTokens - v.GreedyMismatches}/{v.GreedyTokens} identical");
        table.Add("adapter effect", $"{v.AdapterEffect.ToString("E2", CultureInfo.InvariantCulture)} (largest change the adapter makes to the reference's logits)");
        table.Write();
        if (v.Passed)
        {
            AnsiConsole.MarkupLine("[green]verified[/]: the export reproduces the trainer's logits and greedy tokens");
            return 0;
        }
        AnsiConsole.MarkupLine($"[red]verification failed[/]: {Markup.Escape(v.Summary())}");
        return 1;
    }
}

[Verb("adapter", HelpText = "Export a tuned LoRA adapter as ONNX Runtime's .onnx_adapter (for the model's built decoder) or as a PEFT folder; verified in ONNX Runtime.")]
public sealed class ExportAdapterCommand : ExportCommandBase
{
    [Option("format", Default = "onnx-adapter", HelpText = "onnx-adapter | peft.")]
    public string Format { get; set; } = "onnx-adapter";

    [Option("out", Required = true, HelpText = "Output: FILE.onnx_adapter, or the PEFT folder.")]
    public string Out { get; set; } = "";

    [Option("force", HelpText = "Replace an existing export at --out.")]
    public bool Force { get; set; }

    [Option("no-verify", HelpText = "Skip loading the export in ONNX Runtime and comparing it with the trainer's forward.")]
    public bool NoVerify { get; set; }

    public override int Run()
    {
        ExportFormat format = ExportFormats.Parse(Format);
        if (format == ExportFormat.Merged)
            throw new ArgumentException("--format merged is `coevo export merged`");
        return Export(format, Out, Force, NoVerify);
    }
}

[Verb("merged", HelpText = "Export the base model with the adapter merged (W + s B A) as a standalone ONNX Runtime GenAI folder (fp32 or fp16); verified in ONNX Runtime.")]
public sealed class ExportMergedCommand : ExportCommandBase
{
    [Option("out", Required = true, HelpText = "Output folder (genai_config.json, model.onnx, model.onnx.data, tokenizer files).")]
    public string Out { get; set; } = "";

    [Option("dtype", Default = "f32", HelpText = "f32 | f16: element type of weights, activations, KV cache and logits.")]
    public string DType { get; set; } = "f32";

    [Option("attention", Default = "auto", HelpText = "auto | gqa | standard (as `coevo onnx build`).")]
    public string Attention { get; set; } = "auto";

    [Option("lora-inputs", HelpText = "Keep LoRA graph inputs (rank-0 defaults) so further adapters can be stacked on the merged weights.")]
    public bool LoraInputs { get; set; }

    [Option("force", HelpText = "Replace an existing export in --out.")]
    public bool Force { get; set; }

    [Option("no-verify", HelpText = "Skip loading the export in ONNX Runtime and comparing it with the trainer's forward.")]
    public bool NoVerify { get; set; }

    public override int Run()
    {
        MergedPrecision precision = DType.Trim().ToLowerInvariant() switch
        {
            "f32" or "fp32" or "float32" => MergedPrecision.Float32,
            "f16" or "fp16" or "float16" => MergedPrecision.Float16,
            _ => throw new ArgumentException($"--dtype must be f32 or f16, not '{DType}'"),
        };
        DecoderAttention attention = Attention.Trim().ToLowerInvariant() switch
        {
            "auto" => DecoderAttention.Auto,
            "gqa" => DecoderAttention.GroupQueryAttention,
            "standard" => DecoderAttention.StandardOps,
            _ => throw new ArgumentException($"--attention must be auto, gqa or standard, not '{Attention}'"),
        };
        return Export(ExportFormat.Merged, Out, Force, NoVerify, new MergedExportOptions { Precision = precision, Attention = attention, LoraInputs = LoraInputs });
    }
}

[Verb("verify", HelpText = "Load an export (.onnx_adapter, PEFT folder or merged folder) in ONNX Runtime and compare its logits and greedy tokens with the trainer's forward; exit 1 on mismatch.")]
public sealed class ExportVerifyCommand : ExportCommandBase
{
    [Value(0, MetaName = "PATH", Required = true, HelpText = "FILE.onnx_adapter, a PEFT folder, or a merged ONNX folder.")]
    public string Path { get; set; } = "";

    public override int Run()
    {
        AdapterCheckpoint adapter = LoadAdapter();
        return ReportVerification(ExportVerifier.Verify(Path, Model, adapter.Adapter, VerifySettings()));
    }
}

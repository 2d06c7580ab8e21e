using System.Globalization;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Proto;
using OnnxCoEvo.Onnx.Runtime;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

[Verb("build", HelpText = "Build an ONNX decoder (ONNX Runtime GenAI folder: model.onnx, model.onnx.data, genai_config.json, tokenizer) from a Hugging Face model directory.")]
public sealed class OnnxBuildCommand : ICliCommand
{
    [Option("model", Required = true, HelpText = "Hugging Face-format model directory (config.json + safetensors).")]
    public string Model { get; set; } = "";

    [Option("out", HelpText = "Output folder (default: <model>/onnx). Files of the same names there are replaced.")]
    public string? Out { get; set; }

    [Option("attention", Default = "auto", HelpText = "auto | gqa | standard: GroupQueryAttention (head_dim a multiple of 16) or opset-21 standard ops.")]
    public string Attention { get; set; } = "auto";

    [Option("no-lora-inputs", HelpText = "Leave out the LoRA graph inputs (7 projections x 2 per layer, rank-0 defaults).")]
    public bool NoLoraInputs { get; set; }

    public int Run()
    {
        var options = new OnnxDecoderOptions { Attention = ParseAttention(Attention), LoraInputs = !NoLoraInputs };
        OnnxDecoderExportResult result = OnnxDecoderExport.Export(Model, Out, options);
        var table = new KeyValueTable();
        table.Add("folder", result.OutputDirectory);
        table.Add("architecture", $"{result.Config.ArchitectureClass} ({result.Config.ModelType}), {HumanUnits.Count(result.Config.ParameterCount)} parameters");
        table.Add("attention", result.Attention == DecoderAttention.GroupQueryAttention
            ? "GroupQueryAttention (past_present_share_buffer = true)"
            : "standard ops (past_present_share_buffer = false)");
        table.Add(OnnxDecoderExport.ModelFileName, HumanUnits.Bytes(result.ModelBytes));
        table.Add(OnnxDecoderExport.DataFileName, result.DataPath is null ? "(none: weights inline)" : HumanUnits.Bytes(result.DataBytes));
        table.Add("LoRA inputs", options.LoraInputs ? $"{DecoderLoraInputs.Inputs(result.Config).Count} (model.layers.{{i}}.<block>.<proj>.lora_A/B.weight)" : "none");
        table.Add("tokenizer files", result.CopiedFiles.Count == 0 ? "none found" : string.Join(", ", result.CopiedFiles));
        table.Add("time", $"{result.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s");
        table.Write();
        if (!result.CopiedFiles.Contains("tokenizer.json"))
            AnsiConsole.MarkupLine("[yellow]note:[/] the model directory has no tokenizer.json; the folder cannot tokenize text by itself");
        return 0;
    }

    private static DecoderAttention ParseAttention(string text) => text.Trim().ToLowerInvariant() switch
    {
        "auto" => DecoderAttention.Auto,
        "gqa" or "groupqueryattention" => DecoderAttention.GroupQueryAttention,
        "standard" or "standardops" => DecoderAttention.StandardOps,
        _ => throw new ArgumentException($"--attention must be auto, gqa or standard, not '{text}'"),
    };
}

[Verb("info", HelpText = "Print an ONNX model's inputs, outputs, opsets, operators and initializer bytes (DIR with model.onnx, or an .onnx file).")]
public sealed class OnnxInfoCommand : ICliCommand
{
    [Value(0, MetaName = "DIR", Required = true, HelpText = "A folder holding model.onnx (e.g. a `coevo onnx build` output), or an .onnx file.")]
    public string Path { get; set; } = "";

    public int Run()
    {
        string file = Directory.Exists(Path) ? System.IO.Path.Combine(Path, OnnxDecoderExport.ModelFileName) : Path;
        OnnxModel model = OnnxModel.Load(file);
        GraphProto graph = model.Graph;
        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

        var table = new KeyValueTable();
        table.Add("file", System.IO.Path.GetFullPath(file));
        table.Add("producer", $"{model.Proto.ProducerName} {model.Proto.ProducerVersion}".Trim());
        table.Add("ir_version", model.Proto.IrVersion.ToString(CultureInfo.InvariantCulture));
        table.Add("opsets", string.Join(", ", model.Proto.OpsetImport.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}")));
        foreach (StringStringEntryProto entry in model.Proto.MetadataProps)
            table.Add($"metadata {entry.Key}", entry.Value);
        table.Add("nodes", $"{graph.Node.Count}: " + string.Join(", ", graph.Node.GroupBy(n => n.OpType).OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}")));
        long external = 0, inline = 0;
        foreach (TensorProto tensor in graph.Initializer)
        {
            long bytes = tensor.Dims.Aggregate(1L, (a, d) => a * d) * ElementSize(tensor.DataType);
            if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
                external += bytes;
            else
                inline += bytes;
        }
        table.Add("initializers", $"{graph.Initializer.Count}: {HumanUnits.Bytes(external + inline)} ({HumanUnits.Bytes(external)} external, {HumanUnits.Bytes(inline)} inline)");

        int defaulted = 0;
        foreach (ValueInfoProto input in graph.Input)
        {
            if (initializerNames.Contains(input.Name))
            {
                defaulted++;
                continue;
            }
            table.Add($"input {input.Name}", Describe(input));
        }
        if (defaulted > 0)
            table.Add("inputs with defaults", $"{defaulted} (e.g. LoRA factors; rank-0 initializers unless fed)");
        foreach (ValueInfoProto output in graph.Output)
            table.Add($"output {output.Name}", Describe(output));

        string genAi = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!, GenAiConfig.FileName);
        table.Add(GenAiConfig.FileName, File.Exists(genAi) ? "present" : "absent");
        table.Write();
        return 0;
    }

    private static long ElementSize(int dataType)
    {
        try { return OnnxTensor.ElementSize((TensorElementType)dataType); }
        catch (NotSupportedException) { return 0; }
    }

    private static string Describe(ValueInfoProto value)
    {
        TypeProto.Types.Tensor? tensor = value.Type?.TensorType;
        if (tensor is null)
            return "(not a tensor)";
        string type = ((TensorElementType)tensor.ElemType).ToString().ToLowerInvariant();
        string shape = tensor.Shape is null ? "?" : string.Join(" x ", tensor.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(CultureInfo.InvariantCulture)));
        return $"{type} [{shape}]";
    }
}

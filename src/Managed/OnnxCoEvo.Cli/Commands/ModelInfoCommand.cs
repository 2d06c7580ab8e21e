using System.Globalization;
using System.Text.Json;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

[Verb("info", HelpText = "Print a model directory's architecture, parameter count and bytes, and check its tensors.")]
public sealed class ModelInfoCommand : ICliCommand
{
    [Value(0, MetaName = "DIR", Required = true, HelpText = "Hugging Face-format model directory.")]
    public string Directory { get; set; } = "";

    [Option("json", HelpText = "Print the report as JSON instead of a table.")]
    public bool Json { get; set; }

    public int Run()
    {
        ModelReport report = ModelInspector.Inspect(Directory);
        if (Json)
            Console.Out.WriteLine(ToJson(report));
        else
            WriteTable(report);
        return report.IsValid ? 0 : 1;
    }

    private static void WriteTable(ModelReport r)
    {
        ModelConfig c = r.Config;
        var table = new KeyValueTable();
        table.Add("directory", r.Directory);
        table.Add("architecture", $"{c.ArchitectureClass} ({c.ModelType})");
        table.Add("layers", c.NumHiddenLayers.ToString(CultureInfo.InvariantCulture));
        table.Add("hidden / ffn", $"{c.HiddenSize} / {c.IntermediateSize}");
        table.Add("heads / kv heads / head dim", $"{c.NumAttentionHeads} / {c.NumKeyValueHeads} / {c.HeadDim}");
        table.Add("vocab", c.VocabSize.ToString(CultureInfo.InvariantCulture));
        table.Add("context", c.MaxPositionEmbeddings.ToString(CultureInfo.InvariantCulture));
        table.Add("rope", c.RopeScaling is { } rs
            ? $"theta {c.RopeTheta:G}, {rs.RopeType} scaling x{rs.Factor:G} (orig {rs.OriginalMaxPositionEmbeddings})"
            : $"theta {c.RopeTheta:G}");
        table.Add("rms eps", c.RmsNormEps.ToString("G", CultureInfo.InvariantCulture));
        table.Add("tied embeddings", c.TieWordEmbeddings ? "yes" : "no");
        table.Add("qkv bias", c.HasQkvBias ? "yes" : "no");
        table.Add("parameters", $"{c.ParameterCount:N0} ({HumanUnits.Count(c.ParameterCount)})");
        table.Add("tensors in files", $"{r.TensorCount} ({r.FileElementCount:N0} elements)");
        table.Add("weights on disk", $"{HumanUnits.Bytes(r.WeightFileBytes)} in {r.WeightFiles.Count} file(s)");
        foreach ((TensorDType dtype, long bytes) in r.BytesByDType.OrderByDescending(kv => kv.Value))
            table.Add($"  {dtype.ToHeaderString()}", HumanUnits.Bytes(bytes));
        table.Write();

        foreach (string name in r.UnexpectedTensors)
            AnsiConsole.MarkupLine($"[yellow]note:[/] tensor not used by {Markup.Escape(c.ArchitectureClass)}: {Markup.Escape(name)}");
        foreach (string problem in r.Problems)
            AnsiConsole.MarkupLine($"[red]problem:[/] {Markup.Escape(problem)}");
        AnsiConsole.MarkupLine(r.IsValid ? "[green]ok:[/] every tensor the architecture needs is present with the right shape"
                                         : $"[red]{r.Problems.Count} problem(s)[/]");
    }

    private static string ToJson(ModelReport r)
    {
        ModelConfig c = r.Config;
        var doc = new Dictionary<string, object?>
        {
            ["directory"] = r.Directory,
            ["architecture"] = c.ArchitectureClass,
            ["model_type"] = c.ModelType,
            ["num_hidden_layers"] = c.NumHiddenLayers,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["num_attention_heads"] = c.NumAttentionHeads,
            ["num_key_value_heads"] = c.NumKeyValueHeads,
            ["head_dim"] = c.HeadDim,
            ["vocab_size"] = c.VocabSize,
            ["parameters"] = c.ParameterCount,
            ["file_elements"] = r.FileElementCount,
            ["tensor_count"] = r.TensorCount,
            ["weight_files"] = r.WeightFiles,
            ["weight_bytes"] = r.WeightFileBytes,
            ["bytes_by_dtype"] = r.BytesByDType.ToDictionary(kv => kv.Key.ToHeaderString(), kv => kv.Value),
            ["unexpected_tensors"] = r.UnexpectedTensors,
            ["problems"] = r.Problems,
            ["valid"] = r.IsValid,
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }
}

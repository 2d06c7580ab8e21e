using System.Reflection;
using CommandLine;

namespace OnnxCoEvo.Cli.Commands;

/// <summary>
/// Every verb of the CLI. Verbs come in groups (`coevo model init`), which CommandLineParser does not nest by
/// itself, so the first word picks the group and the rest is parsed against that group's verbs.
/// Top-level verbs (`coevo doctor`) live in the group with an empty name.
/// </summary>
public static class CommandCatalog
{
    public sealed record VerbGroup(string Name, string Description, Type[] Verbs);

    public static IReadOnlyList<VerbGroup> Groups { get; } =
    [
        new("", "top-level verbs", [typeof(DoctorCommand), typeof(ExpertCommand), typeof(RolloutCommand), typeof(EvalCommand), typeof(RunCommand), typeof(DemoCommand)]),
        new("env", "built-in text environments and AgentGym-compatible serving", [typeof(EnvInfoCommand), typeof(EnvServeCommand)]),
        new("model", "create and inspect Hugging Face-format model directories", [typeof(ModelInitCommand), typeof(ModelInfoCommand)]),
        new("data", "inspect and convert trajectory and preference-pair files", [typeof(DataInfoCommand), typeof(DataConvertCommand)]),
        new("train", "train a LoRA adapter (or every weight) with SFT or DPO; resumable runs", [typeof(TrainSftCommand), typeof(TrainDpoCommand)]),
        new("onnx", "build ONNX decoders (ONNX Runtime GenAI folders) from model directories and inspect ONNX files", [typeof(OnnxBuildCommand), typeof(OnnxInfoCommand)]),
        new("export", "export tuned adapters: ONNX Runtime .onnx_adapter, PEFT, merged ONNX models; each verified in ONNX Runtime", [typeof(ExportAdapterCommand), typeof(ExportMergedCommand), typeof(ExportVerifyCommand)]),
        new("bench", "benchmarks: CPU GEMM and training throughput; rollout generation; kernels against PyTorch peers", [typeof(BenchCpuCommand), typeof(BenchRolloutCommand), typeof(BenchKernelsCommand)]),
    ];

    public static VerbGroup? FindGroup(string name) =>
        Groups.FirstOrDefault(g => g.Name.Length > 0 && string.Equals(g.Name, name, StringComparison.OrdinalIgnoreCase));

    public static string VerbName(Type verbType) => verbType.GetCustomAttribute<VerbAttribute>()?.Name
        ?? throw new InvalidOperationException($"{verbType.Name} has no [Verb] attribute");

    public static string VerbHelp(Type verbType) => verbType.GetCustomAttribute<VerbAttribute>()?.HelpText ?? "";
}

using System.Globalization;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Core.SafeTensors;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

[Verb("init", HelpText = "Write a Hugging Face-format model directory from a preset (seeded random weights, own BPE tokenizer).")]
public sealed class ModelInitCommand : ICliCommand
{
    [Option("preset", Required = true, HelpText = "tiny | smollm2-135m | qwen2.5-0.5b | llama-3.2-1b | llama-3.1-8b")]
    public string Preset { get; set; } = "";

    [Option("out", Required = true, HelpText = "Output directory (must be empty unless --force).")]
    public string Out { get; set; } = "";

    [Option("seed", Default = 0UL, HelpText = "Seed of the random weights; the same seed gives byte-identical files.")]
    public ulong Seed { get; set; }

    [Option("dtype", HelpText = "Weight dtype: f32 | f16 | bf16 (default: f32 for tiny, bf16 for real shapes).")]
    public string? DType { get; set; }

    [Option("vocab", Default = 1024, HelpText = "Size of the BPE tokenizer trained for the model (the tiny model's vocabulary).")]
    public int Vocab { get; set; }

    [Option("tokenizer-corpus", HelpText = "Trajectory file (any format `coevo data info` reads) whose text the tokenizer also " +
        "learns from, so the environment's pages take fewer tokens (tiny preset: use with --vocab 2048 or more).")]
    public string? TokenizerCorpus { get; set; }

    [Option("max-shard-gb", Default = 5.0, HelpText = "Split weights into shards of at most this many GB (Hugging Face's default is 5).")]
    public double MaxShardGb { get; set; }

    [Option("force", HelpText = "Write into a non-empty directory, overwriting the model files there.")]
    public bool Force { get; set; }

    public int Run()
    {
        var request = new ModelDirectoryRequest
        {
            PresetName = Preset,
            OutputDirectory = Out,
            Seed = Seed,
            DType = DType is null ? null : ParseDType(DType),
            TokenizerVocabSize = Vocab,
            TokenizerCorpus = TokenizerCorpus is null ? [] : TrajectoryTexts.Read(TokenizerCorpus),
            MaxShardBytes = MaxShardGb > 0 ? (long)(MaxShardGb * 1e9)
                : throw new ArgumentException($"--max-shard-gb must be positive, not {MaxShardGb}"),
            Overwrite = Force,
        };
        long total = ModelDirectoryFactory.WeightBytes(request);
        ModelPreset preset = ByteProgress.Run($"writing {Preset} weights", total,
            progress => ModelDirectoryFactory.Create(request with { Progress = progress }));

        AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(Path.GetFullPath(Out))}: {Markup.Escape(preset.Config.ArchitectureClass)}, " +
            $"{HumanUnits.Count(preset.Config.ParameterCount)} parameters, {HumanUnits.Bytes(total)} of weights, " +
            $"chat template {Markup.Escape(preset.ChatTemplate)}, seed {Seed.ToString(CultureInfo.InvariantCulture)}");
        return 0;
    }

    private static TensorDType ParseDType(string text) => text.Trim().ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" => TensorDType.F32,
        "f16" or "fp16" or "float16" => TensorDType.F16,
        "bf16" or "bfloat16" => TensorDType.BF16,
        _ => throw new ArgumentException($"--dtype must be f32, f16 or bf16, not '{text}'"),
    };
}

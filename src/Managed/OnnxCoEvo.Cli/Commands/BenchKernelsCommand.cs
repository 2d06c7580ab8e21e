using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using CommandLine;
using OnnxCoEvo.Core;
using OnnxCoEvo.Cuda;
using OnnxCoEvo.Cuda.Bench;
using OnnxCoEvo.Cuda.Parity;
using OnnxCoEvo.Onnx.Generation;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

/// <summary>One PyTorch peer timing from bench/torch/kernels.py (same case name as ours).</summary>
public sealed record TorchKernelTiming(string Name, string Op, double Ms, long? PeakBytes);

/// <summary>The JSON bench/torch/kernels.py writes.</summary>
public sealed record TorchKernelReport(string Device, string Torch, string? Cuda, int Tokens, IReadOnlyList<TorchKernelTiming> Cases,
    IReadOnlyDictionary<string, string>? Errors);

/// <summary>Our timing of one case, with the peer's when one was given: Speedup = peer ms / our ms (above 1: we are faster).</summary>
public sealed record KernelBenchRow(KernelTiming Timing, double? FractionOfCopyBandwidth, TorchKernelTiming? Torch)
{
    public double? Speedup => Torch is null ? null : Torch.Ms / Timing.Milliseconds;

    /// <summary>Our memory beyond inputs (scratch + outputs) over the peer's peak beyond inputs.</summary>
    public double? PeakMemoryRatio => Torch?.PeakBytes is > 0 && Timing.ScratchPeakBytes is { } scratch
        ? (double)(scratch + (Timing.OutputBytes ?? 0)) / Torch.PeakBytes.Value : null;
}

/// <summary>One of the issue's speed targets, judged from the measured rows (null Met: a row it needs is missing).</summary>
public sealed record KernelTarget(string Name, string Rule, bool? Met, string Detail);

public sealed record KernelBenchReport(string Command, DateTimeOffset StartedUtc, string Device, string BuildInfo, int Tokens,
    double H100Bf16TeraFlops, double H100HbmGigabytesPerSecond, double? CopyGigabytesPerSecond, TorchKernelReport? Torch,
    IReadOnlyList<KernelBenchRow> Rows, IReadOnlyList<KernelTarget> Targets, IReadOnlyDictionary<string, string> Errors);

public sealed record KernelCheckReport(string Command, DateTimeOffset StartedUtc, string Device, string BuildInfo,
    IReadOnlyList<string> Shapes, bool Passed, IReadOnlyList<ParityResult> Results);

[Verb("kernels", HelpText = "CUDA kernels: time each on Llama-3.2-1B shapes (GB/s or TFLOP/s, fraction of the H100 roofline and of the measured device copy, ratio to PyTorch with --torch), or with --check run every kernel against its CPU twin (DESIGN.md's parity rule; exit 1 on a violation).")]
public sealed class BenchKernelsCommand : ICliCommand
{
    [Option("check", HelpText = "Run the parity harness (every kernel against its CPU twin) instead of timings; exit status 1 on any violation.")]
    public bool Check { get; set; }

    [Option("kernels", Separator = ',', HelpText = "Only these: kernel families with --check (embedding, rmsnorm, ...), benchmark cases otherwise (rmsnorm_fwd, attention_bwd_8k, ...).")]
    public IEnumerable<string> Kernels { get; set; } = [];

    [Option("torch", MetaValue = "FILE", HelpText = "PyTorch peer timings (JSON from bench/torch/kernels.py) to join by case name.")]
    public string? TorchPath { get; set; }

    [Option("quick", HelpText = "Timings: 2048 tokens and few repetitions (smoke runs). Check: small shapes.")]
    public bool Quick { get; set; }

    [Option("device", Default = 0, HelpText = "CUDA device index.")]
    public int Device { get; set; }

    [Option("json", MetaValue = "FILE", HelpText = "Also write the results as JSON to FILE (atomically).")]
    public string? JsonPath { get; set; }

    public int Run()
    {
        CudaAvailability probe = CudaBackend.Probe();
        if (!probe.IsAvailable)
        {
            Console.Error.WriteLine($"error: {probe.Description}");
            return 2;
        }
        if (Device < 0 || Device >= probe.Devices.Count)
            throw new ArgumentException($"--device {Device} does not exist; {probe.Devices.Count} device(s) visible");
        TorchKernelReport? torch = TorchPath is null ? null : ReadTorch(TorchPath);
        using CudaContext context = CudaBackend.Create(Device);
        string device = probe.Devices[Device];
        return Check ? RunCheck(context, device, probe.BuildInfo ?? "") : RunTimings(context, device, probe.BuildInfo ?? "", torch);
    }

    private int RunCheck(CudaContext context, string device, string buildInfo)
    {
        List<string> selected = Kernels.ToList();
        DateTimeOffset started = DateTimeOffset.UtcNow;
        ParityShapes[] shapes = Quick ? [ParityShapes.Small] : [ParityShapes.Llama32_1B, ParityShapes.Llama31_8BAttention];
        var kernelDevice = new CudaKernelDevice(context, device);
        var results = new List<ParityResult>();
        AnsiConsole.MarkupLine($"parity on [bold]{Markup.Escape(device)}[/] (DESIGN.md: device error <= 2 x naive bf16 error + 2^-20 max|ref|)");
        foreach (ParityShapes shape in shapes)
        {
            // The head_dim 128 shapes exist for the attention families only.
            IReadOnlyCollection<string>? kernels = shape == ParityShapes.Llama31_8BAttention
                ? AttentionFamilies.Where(f => selected.Count == 0 || selected.Contains(f)).ToList()
                : (selected.Count == 0 ? null : selected);
            if (kernels is { Count: 0 })
                continue;
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(shape.ToString())}[/]");
            results.AddRange(KernelParity.Run(kernelDevice, shape, SamplerTwin, kernels, r => AnsiConsole.MarkupLine(FormatParity(r))));
        }
        bool passed = results.Count > 0 && results.All(r => r.Passed);
        int failed = results.Count(r => !r.Passed);
        AnsiConsole.MarkupLine(passed ? $"[green]parity: all {results.Count} outputs within budget[/]" : $"[red]parity: {failed} of {results.Count} outputs over budget[/]");
        WriteJson(new KernelCheckReport(CommandLine(), started, device, buildInfo, shapes.Select(s => s.ToString()).ToList(), passed, results));
        return passed ? 0 : 1;
    }

    private static readonly string[] AttentionFamilies = ["attention", "attention_tc"];

    /// <summary>The sampler's CPU twin, TokenSampler.Candidates (OnnxCoEvo.Onnx sits above OnnxCoEvo.Cuda).</summary>
    public static SamplerTwin SamplerTwin { get; } = (logits, temperature, topK, topP) =>
        TokenSampler.Candidates(logits, new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP });

    private static string FormatParity(ParityResult r) =>
        $"{(r.Passed ? "[green]ok  [/]" : "[red]FAIL[/]")} {Markup.Escape(r.Kernel),-15} {Markup.Escape(r.Output),-24} " +
        string.Create(CultureInfo.InvariantCulture, $"err {r.KernelError,10:G3}  naive {r.NaiveError,10:G3}  budget {r.Budget,10:G3}  ") +
        $"[grey]{Markup.Escape(r.Shape)}{(r.Note is null ? "" : "; " + Markup.Escape(r.Note))}[/]";

    private int RunTimings(CudaContext context, string device, string buildInfo, TorchKernelReport? torch)
    {
        List<string> selected = Kernels.ToList();
        if (selected.FirstOrDefault(k => !KernelBenchmarks.CaseNames.Contains(k)) is { } unknown)
            throw new ArgumentException($"--kernels: unknown benchmark '{unknown}'; known: {string.Join(", ", KernelBenchmarks.CaseNames)}");
        DateTimeOffset started = DateTimeOffset.UtcNow;
        int tokens = Quick ? 2048 : 8192;
        if (torch is not null && torch.Tokens != tokens)
            throw new ArgumentException($"--torch {TorchPath}: measured at {torch.Tokens} tokens but this run uses {tokens} (--quick must match the torch run's --quick)");
        AnsiConsole.MarkupLine($"kernels on [bold]{Markup.Escape(device)}[/], {tokens} tokens (Llama-3.2-1B shapes); GPU time per call, median of 5 batches");
        // The copy runs first: every memory-bound row is also reported against it.
        Func<string, bool> select = name => name == "d2d_copy" || selected.Count == 0 || selected.Contains(name);
        var errors = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var timings = KernelBenchmarks.Run(context, select, Quick,
            t => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(t.Name)}: {t.Milliseconds.ToString("0.000", CultureInfo.InvariantCulture)} ms[/]"),
            (name, ex) =>
            {
                errors[name] = ex.Message;
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(name)} failed: {Markup.Escape(ex.Message)}[/]");
            });
        double? copy = timings.FirstOrDefault(t => t.Name == "d2d_copy")?.GigabytesPerSecond;
        var rows = timings.Select(t => new KernelBenchRow(t, t.GigabytesPerSecond / copy,
            torch?.Cases.FirstOrDefault(c => c.Name == KernelBenchmarks.PeerName(t.Name)))).ToList();
        List<KernelTarget> targets = Targets(rows);
        WriteTable(rows, targets);
        WriteJson(new KernelBenchReport(CommandLine(), started, device, buildInfo, tokens, H100Roofline.Bf16TeraFlops, H100Roofline.HbmGigabytesPerSecond,
            copy, torch, rows, targets, errors));
        return errors.Count == 0 ? 0 : 1;
    }

    /// <summary>The issue's targets, judged from the rows: memory-bound kernels at 80% of the measured copy bandwidth,
    /// attention fwd+bwd at least as fast as SDPA at 2k and 8k, the fused head 1.5x the peer at a quarter of its memory.</summary>
    public static List<KernelTarget> Targets(IReadOnlyList<KernelBenchRow> rows)
    {
        var targets = new List<KernelTarget>();
        KernelBenchRow? Row(string name) => rows.FirstOrDefault(r => r.Timing.Name == name);
        foreach (KernelBenchRow r in rows.Where(r => r.FractionOfCopyBandwidth is not null && r.Timing.Name != "d2d_copy"))
            targets.Add(new KernelTarget($"{r.Timing.Name} bandwidth", ">= 80% of the measured D2D copy", r.FractionOfCopyBandwidth >= 0.8,
                string.Create(CultureInfo.InvariantCulture, $"{r.FractionOfCopyBandwidth:P0} of the copy")));
        foreach ((string length, string variant) in new[] { ("2k", ""), ("8k", ""), ("2k", "_tc"), ("8k", "_tc") })
        {
            KernelBenchRow? fwd = Row($"attention_fwd_{length}{variant}"), bwd = Row($"attention_bwd_{length}{variant}");
            if (variant.Length > 0 && fwd is null && bwd is null)
                continue;
            bool? met = null;
            string detail = "no PyTorch timing (run with --torch)";
            if (fwd?.Torch is not null && bwd?.Torch is not null)
            {
                double ours = fwd.Timing.Milliseconds + bwd.Timing.Milliseconds, peer = fwd.Torch.Ms + bwd.Torch.Ms;
                met = ours <= peer;
                detail = string.Create(CultureInfo.InvariantCulture, $"fwd+bwd {ours:0.000} ms vs SDPA {peer:0.000} ms ({peer / ours:0.00}x)");
            }
            targets.Add(new KernelTarget($"attention fwd+bwd {length}{(variant.Length > 0 ? " (tensor cores)" : "")}",
                "at least as fast as scaled_dot_product_attention", met, detail));
        }
        foreach (string name in new[] { "token_logprobs_fwd", "token_logprobs_fwd_c64" })
        {
            KernelBenchRow? head = Row(name);
            if (head is null && name.EndsWith("_c64", StringComparison.Ordinal))
                continue;
            targets.Add(new KernelTarget(name, ">= 1.5x PyTorch (matmul + log_softmax + gather) at <= 1/4 of its peak memory",
                head?.Speedup is { } speedup && head.PeakMemoryRatio is { } memory ? speedup >= 1.5 && memory <= 0.25 : null,
                head?.Speedup is null ? "no PyTorch timing (run with --torch)"
                    : string.Create(CultureInfo.InvariantCulture, $"{head.Speedup:0.00}x, memory {head.PeakMemoryRatio:P0} of the peer's")));
        }
        return targets;
    }

    private static void WriteTable(IReadOnlyList<KernelBenchRow> rows, IReadOnlyList<KernelTarget> targets)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (string column in new[] { "case", "shape", "ms", "achieved", "% roofline", "% copy", "torch ms", "speedup" })
            table.AddColumn(column);
        string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "";
        foreach (KernelBenchRow r in rows)
        {
            KernelTiming t = r.Timing;
            string achieved = t.GigabytesPerSecond is { } gbps ? F(gbps, "0") + " GB/s" : t.TeraFlopsPerSecond is { } tf ? F(tf, "0.0") + " TFLOP/s" : "";
            table.AddRow(Markup.Escape(t.Name), Markup.Escape(t.Shape), F(t.Milliseconds, "0.000"), achieved, F(t.FractionOfRoofline * 100, "0.0"),
                F(r.FractionOfCopyBandwidth * 100, "0.0"), F(r.Torch?.Ms, "0.000"), F(r.Speedup, "0.00") + (r.Speedup is null ? "" : "x"));
        }
        AnsiConsole.Write(table);
        foreach (KernelTarget target in targets)
        {
            string mark = target.Met switch { true => "[green]met    [/]", false => "[red]not met[/]", null => "[grey]unknown[/]" };
            AnsiConsole.MarkupLine($"{mark} {Markup.Escape(target.Name)}: {Markup.Escape(target.Rule)} [grey]({Markup.Escape(target.Detail)})[/]");
        }
    }

    /// <summary>Reads bench/torch/kernels.py's JSON; a malformed file names itself.</summary>
    public static TorchKernelReport ReadTorch(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"--torch: {path} does not exist", path);
        try
        {
            return JsonSerializer.Deserialize<TorchKernelReport>(File.ReadAllText(path), JsonOptions)
                ?? throw new DataFormatException(path, "root", "is null");
        }
        catch (JsonException ex)
        {
            throw new DataFormatException(path, ex.Path ?? "root", ex.Message);
        }
    }

    private void WriteJson<T>(T report)
    {
        if (JsonPath is null)
            return;
        AtomicFile.WriteAllText(JsonPath, JsonSerializer.Serialize(report, JsonOptions) + "\n");
        AnsiConsole.MarkupLine($"results written to [bold]{Markup.Escape(JsonPath)}[/]");
    }

    private string CommandLine() => "coevo bench kernels" + (Check ? " --check" : "") + (Quick ? " --quick" : "")
        + (Kernels.Any() ? " --kernels " + string.Join(",", Kernels) : "") + (TorchPath is null ? "" : $" --torch {TorchPath}")
        + (Device != 0 ? string.Create(CultureInfo.InvariantCulture, $" --device {Device}") : "") + (JsonPath is null ? "" : $" --json {JsonPath}");

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // an infinite error stays readable
    };
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Encodings.Web;
using System.Text.Json;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Backends;
using OnnxCoEvo.Training.Cpu;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Losses;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

/// <summary>What the machine is: the CPU as /proc/cpuinfo names it, logical processors, the SIMD the kernels can use.</summary>
public sealed record BenchMachine(string CpuModel, int LogicalProcessors, string Simd, string Runtime);

/// <summary>
/// One measured case. Rate is in <see cref="RateUnit"/> (GFLOP/s for kernels; a throughput section may use tokens/s);
/// rows in GFLOP/s get PercentOfPeak against the measured all-threads peak of the multiply-add the GEMM issues
/// (<see cref="BenchCpuReport.GemmPeakGflops"/>), others keep null.
/// </summary>
public sealed record BenchRow(string Section, string Name, string Detail, int Threads, int Repetitions,
    double MedianMilliseconds, double Rate, string RateUnit, double? PercentOfPeak);

/// <param name="PeakOneThread">The Vector256 FMA peak (Vector128 without AVX2 + FMA) on one thread.</param>
/// <param name="PeakAllThreads">The Vector256 FMA peak on all the threads.</param>
/// <param name="PeakVector512AllThreads">The AVX-512 FMA peak on all the threads, where the CPU has AVX-512.</param>
/// <param name="GemmInstruction">What the GEMM microkernel issues here (<see cref="CpuPeak.Describe"/> of
/// <see cref="Gemm.Instruction"/>): the GEMM rows' % of peak is against that instruction's all-threads peak.</param>
/// <param name="GemmPeakGflops">That peak: <paramref name="PeakVector512AllThreads"/> when the GEMM runs its Vector512
/// kernel, else <paramref name="PeakAllThreads"/>.</param>
public sealed record BenchCpuReport(string Command, DateTimeOffset StartedUtc, BenchMachine Machine, int Threads,
    CpuPeakResult PeakOneThread, CpuPeakResult PeakAllThreads, CpuPeakResult? PeakVector512AllThreads,
    string GemmInstruction, double GemmPeakGflops, IReadOnlyList<BenchRow> Rows);

/// <summary>How long to measure: warm-up runs, then at least MinRepetitions and MinSeconds (at most MaxRepetitions).</summary>
public sealed record BenchSettings(int Threads, int WarmupRuns, int MinRepetitions, int MaxRepetitions, double MinSeconds, TimeSpan PeakDuration)
{
    public static BenchSettings For(int threads, bool quick) => quick
        ? new BenchSettings(threads, WarmupRuns: 1, MinRepetitions: 3, MaxRepetitions: 3, MinSeconds: 0, TimeSpan.FromMilliseconds(100))
        : new BenchSettings(threads, WarmupRuns: 2, MinRepetitions: 9, MaxRepetitions: 200, MinSeconds: 0.5, TimeSpan.FromSeconds(1));
}

[Verb("cpu", HelpText = "Measure the CPU's fp32 FMA peak and the GEMM kernel's GFLOP/s (and % of peak) on the shapes training uses.")]
public sealed class BenchCpuCommand : ICliCommand
{
    [Option("json", MetaValue = "FILE", HelpText = "Also write the results as JSON to FILE (atomically).")]
    public string? JsonPath { get; set; }

    [Option("quick", HelpText = "Short run: a brief peak measurement and three repetitions per case.")]
    public bool Quick { get; set; }

    [Option("threads", Default = 0, HelpText = "Threads for the GEMM and the all-threads peak (0: one per logical processor).")]
    public int Threads { get; set; }

    /// <summary>The GEMM cases: square sizes, then a linear layer's three products at 512 tokens.</summary>
    public static IReadOnlyList<GemmCase> GemmCases { get; } =
    [
        new("square", 256, 256, 256, TransA: false, TransB: false, Accumulate: false),
        new("square", 512, 512, 512, TransA: false, TransB: false, Accumulate: false),
        new("square", 1024, 1024, 1024, TransA: false, TransB: false, Accumulate: false),
        new("forward x W^T", 512, 1024, 256, TransA: false, TransB: true, Accumulate: false),
        new("forward x W^T", 512, 256, 1024, TransA: false, TransB: true, Accumulate: false),
        new("forward x W^T", 512, 1024, 1024, TransA: false, TransB: true, Accumulate: false),
        new("input grad dy W", 512, 256, 1024, TransA: false, TransB: false, Accumulate: false),
        new("input grad dy W", 512, 1024, 256, TransA: false, TransB: false, Accumulate: false),
        new("weight grad += dy^T x", 1024, 256, 512, TransA: true, TransB: false, Accumulate: true),
        new("weight grad += dy^T x", 256, 1024, 512, TransA: true, TransB: false, Accumulate: true),
    ];

    public int Run()
    {
        if (Threads < 0)
            throw new ArgumentException($"--threads must be 0 (one per logical processor) or more, got {Threads}");
        int threads = Threads == 0 ? Environment.ProcessorCount : Threads;
        BenchSettings settings = BenchSettings.For(threads, Quick);
        DateTimeOffset started = DateTimeOffset.UtcNow;

        BenchMachine machine = DescribeMachine();
        Peaks before = MeasurePeaks(settings);
        var rows = new List<BenchRow>();
        rows.AddRange(GemmRows(settings));
        rows.AddRange(TrainingThroughputRows(settings));
        // Another process taking a core lowers a peak measurement just as it lowers a kernel's: keep the better of
        // two measurements, before and after the cases, so "% of peak" is against what the cores can really do.
        Peaks peaks = Peaks.Better(before, MeasurePeaks(settings));
        // % of the peak of the instruction the GEMM really issues: against the Vector256 peak, a Vector512 kernel
        // would look up to twice as good as it is.
        double gemmPeak = Gemm.Instruction == PeakInstruction.Avx512Fma ? peaks.Vector512AllThreads!.TotalGflops : peaks.AllThreads.TotalGflops;
        rows = rows.Select(r => r.RateUnit == GflopsUnit ? r with { PercentOfPeak = 100 * r.Rate / gemmPeak } : r).ToList();

        var report = new BenchCpuReport(CommandLine(), started, machine, threads, peaks.OneThread, peaks.AllThreads, peaks.Vector512AllThreads,
            CpuPeak.Describe(Gemm.Instruction), gemmPeak, rows);
        WriteTables(report);
        if (JsonPath is not null)
        {
            AtomicFile.WriteAllText(JsonPath, JsonSerializer.Serialize(report, JsonOptions) + "\n");
            AnsiConsole.MarkupLine($"results written to [bold]{Markup.Escape(JsonPath)}[/]");
        }
        return 0;
    }

    private const string GflopsUnit = "GFLOP/s";

    private sealed record Peaks(CpuPeakResult OneThread, CpuPeakResult AllThreads, CpuPeakResult? Vector512AllThreads)
    {
        public static Peaks Better(Peaks x, Peaks y) => new(
            Higher(x.OneThread, y.OneThread)!, Higher(x.AllThreads, y.AllThreads)!, Higher(x.Vector512AllThreads, y.Vector512AllThreads));

        private static CpuPeakResult? Higher(CpuPeakResult? x, CpuPeakResult? y) =>
            x is null || (y is not null && y.TotalGflops > x.TotalGflops) ? y : x;
    }

    private static Peaks MeasurePeaks(BenchSettings settings) => new(
        CpuPeak.Measure(1, settings.PeakDuration),
        CpuPeak.Measure(settings.Threads, settings.PeakDuration),
        CpuPeak.IsSupported(PeakInstruction.Avx512Fma) ? CpuPeak.Measure(settings.Threads, settings.PeakDuration, PeakInstruction.Avx512Fma) : null);

    /// <summary>
    /// Each GEMM case on the chosen threads: median time of the repetitions after warm-up, as GFLOP/s (the caller
    /// adds % of peak once the peak is final).
    /// </summary>
    public static IEnumerable<BenchRow> GemmRows(BenchSettings settings)
    {
        var random = new Random(1234);
        foreach (GemmCase g in GemmCases)
        {
            float[] a = RandomValues(random, g.M * g.K), b = RandomValues(random, g.K * g.N), c = new float[g.M * g.N];
            (double median, int repetitions) = MedianSeconds(settings,
                () => Gemm.Multiply(a, b, c, g.M, g.N, g.K, g.TransA, g.TransB, g.Accumulate, settings.Threads));
            double gflops = 2.0 * g.M * g.N * g.K / median / 1e9;
            yield return new BenchRow("gemm", g.Name, g.Detail, settings.Threads, repetitions, median * 1e3, gflops,
                GflopsUnit, PercentOfPeak: null);
        }
    }

    /// <summary>
    /// Training throughput of the CPU backend on the tiny preset (random weights written to a temporary directory): one
    /// optimizer step (forward, backward, clipping, AdamW) over a micro-batch of packed sequences whose every token is
    /// trained, as tokens/s. LoRA r16 on all seven projections, full fine-tuning, and a DPO step (pairs count both sides).
    /// </summary>
    public static IEnumerable<BenchRow> TrainingThroughputRows(BenchSettings settings)
    {
        string directory = Path.Combine(Path.GetTempPath(), "coevo-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "tiny", OutputDirectory = directory, Seed = 1 });
            ModelConfig config = ModelConfig.Load(directory);
            var random = new Random(99);
            TrainingSequence Sequence(int length) =>
                new(Enumerable.Range(0, length).Select(_ => random.Next(config.VocabSize)).ToArray(), Enumerable.Repeat(true, length).ToArray());
            const int SequenceLength = 256, Sequences = 4;
            var batch = Enumerable.Range(0, Sequences).Select(_ => Sequence(SequenceLength)).ToList();
            var pairs = Enumerable.Range(0, Sequences / 2)
                .Select(_ => new DpoStepPair(Sequence(SequenceLength), Sequence(SequenceLength), -100, -100)).ToList();
            var step = new StepSettings(1e-4f, 1f);
            var lora = new LoraConfig { Rank = 16, Alpha = 32 };
            string shape = $"tiny, {Sequences} x {SequenceLength} tokens";

            var cases = new (string Name, LoraConfig? Lora, bool Dpo)[]
            {
                ("sft step, LoRA r16 (all 7)", lora, false),
                ("sft step, full fine-tune", null, false),
                ("dpo step, LoRA r16 (all 7)", lora, true),
            };
            var rows = new List<BenchRow>();
            foreach (var (name, adapter, dpo) in cases)
            {
                // The backend uses every logical processor (its GEMM and row loops); --threads applies to the GEMM rows only.
                using var backend = CpuTrainerBackend.Create(new CpuTrainerBackendOptions { ModelDirectory = directory, Config = config, Lora = adapter });
                (double median, int repetitions) = MedianSeconds(settings with { MaxRepetitions = Math.Min(settings.MaxRepetitions, 20) }, () =>
                {
                    if (dpo)
                        backend.DpoStep([pairs], new PreferenceLossOptions(), step);
                    else
                        backend.SftStep([batch], step);
                });
                double tokens = Sequences * SequenceLength;
                rows.Add(new BenchRow("training", name, shape, Environment.ProcessorCount, repetitions, median * 1e3, tokens / median,
                    TokensUnit, PercentOfPeak: null));
            }
            return rows;
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    private const string TokensUnit = "tokens/s";

    /// <summary>Runs warm-ups, then times repetitions; returns the median seconds and how many repetitions it took.</summary>
    public static (double MedianSeconds, int Repetitions) MedianSeconds(BenchSettings settings, Action run)
    {
        for (int i = 0; i < settings.WarmupRuns; i++) run();
        var seconds = new List<double>();
        var total = Stopwatch.StartNew();
        while (seconds.Count < settings.MinRepetitions
               || (total.Elapsed.TotalSeconds < settings.MinSeconds && seconds.Count < settings.MaxRepetitions))
        {
            long start = Stopwatch.GetTimestamp();
            run();
            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        seconds.Sort();
        int n = seconds.Count;
        double median = n % 2 == 1 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
        return (median, n);
    }

    public static BenchMachine DescribeMachine()
    {
        string model = RuntimeInformation.ProcessArchitecture.ToString();
        const string cpuInfo = "/proc/cpuinfo";
        if (File.Exists(cpuInfo))
        {
            string? line = File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            int colon = line?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (colon >= 0)
                model = line![(colon + 1)..].Trim();
        }
        var simd = new List<string>();
        if (Avx.IsSupported) simd.Add("AVX");
        if (Avx2.IsSupported) simd.Add("AVX2");
        if (Fma.IsSupported) simd.Add("FMA");
        if (Avx512F.IsSupported) simd.Add("AVX-512F");
        if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) simd.Add("AdvSIMD");
        if (simd.Count == 0) simd.Add(Vector128.IsHardwareAccelerated ? "128-bit only" : "none");
        return new BenchMachine(model, Environment.ProcessorCount, $"{string.Join(", ", simd)} (GEMM kernel: {Gemm.KernelDescription})",
            $"{RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}");
    }

    private static void WriteTables(BenchCpuReport r)
    {
        var machine = new KeyValueTable();
        machine.Add("CPU", r.Machine.CpuModel);
        machine.Add("logical processors", r.Machine.LogicalProcessors.ToString(CultureInfo.InvariantCulture));
        machine.Add("SIMD", r.Machine.Simd);
        machine.Add(".NET", r.Machine.Runtime);
        machine.Add("FMA peak, 1 thread", $"{Gflops(r.PeakOneThread.TotalGflops)} ({r.PeakOneThread.Instruction})");
        machine.Add($"FMA peak, {r.Threads} threads", $"{Gflops(r.PeakAllThreads.TotalGflops)} " +
            $"(per thread {string.Join(", ", r.PeakAllThreads.PerThreadGflops.Select(g => g.ToString("0.0", CultureInfo.InvariantCulture)))})");
        if (r.PeakVector512AllThreads is { } wide)
            machine.Add($"AVX-512 peak, {r.Threads} threads", $"{Gflops(wide.TotalGflops)} " +
                $"(per thread {string.Join(", ", wide.PerThreadGflops.Select(g => g.ToString("0.0", CultureInfo.InvariantCulture)))})");
        machine.Add("GEMM % of peak against", $"{r.GemmInstruction}, {r.Threads} threads: {Gflops(r.GemmPeakGflops)}");
        machine.Write();

        // One table per section, its rate column headed by the section's unit: fits an 80-column terminal.
        foreach (IGrouping<string, BenchRow> section in r.Rows.GroupBy(row => row.Section))
        {
            var table = new Table().Border(TableBorder.Rounded)
                .Title(Markup.Escape($"{section.Key}, {section.First().Threads} thread(s)"
                    + (section.First().RateUnit == GflopsUnit ? $", % of the {r.GemmInstruction} peak" : "")))
                .AddColumn("case").AddColumn("shape")
                .AddColumn(new TableColumn("median ms").RightAligned())
                .AddColumn(new TableColumn(Markup.Escape(section.First().RateUnit)).RightAligned())
                .AddColumn(new TableColumn("% of peak").RightAligned());
            foreach (BenchRow row in section)
            {
                table.AddRow(Markup.Escape(row.Name), Markup.Escape(row.Detail),
                    row.MedianMilliseconds.ToString("0.000", CultureInfo.InvariantCulture),
                    row.Rate.ToString("0.0", CultureInfo.InvariantCulture),
                    row.PercentOfPeak is { } percent ? percent.ToString("0.0", CultureInfo.InvariantCulture) : "");
            }
            AnsiConsole.Write(table);
        }
    }

    private static string Gflops(double value) => value.ToString("0.0", CultureInfo.InvariantCulture) + " GFLOP/s";

    /// <summary>The command that reproduces this run (results are quoted with it).</summary>
    private string CommandLine() => "coevo bench cpu" + (Quick ? " --quick" : "")
        + (Threads != 0 ? string.Create(CultureInfo.InvariantCulture, $" --threads {Threads}") : "")
        + (JsonPath is not null ? $" --json {JsonPath}" : "");

    private static float[] RandomValues(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,   // a file, not HTML: keep "+" and "^" readable
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}

/// <summary>One GEMM benchmark case: C[M, N] (+)= op(A) op(B) with depth K.</summary>
public sealed record GemmCase(string Name, int M, int N, int K, bool TransA, bool TransB, bool Accumulate)
{
    /// <summary>Transposes and sizes as "NT 512x1024x256" (m x n x k); accumulating cases say so in their name.</summary>
    public string Detail => $"{(TransA ? 'T' : 'N')}{(TransB ? 'T' : 'N')} {M}x{N}x{K}";
}

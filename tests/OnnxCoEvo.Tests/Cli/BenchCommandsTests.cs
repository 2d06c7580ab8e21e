using System.Text.Json;
using OnnxCoEvo.Cli;
using OnnxCoEvo.Cli.Commands;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo bench cpu` driven in-process: the report's shape, never its speed.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class BenchCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    [Fact]
    public void Bench_cpu_quick_writes_a_json_report_with_machine_peak_and_every_gemm_case()
    {
        string json = _dir.File("results/cpu.json");
        Assert.Equal(0, Coevo("bench", "cpu", "--quick", "--threads", "2", "--json", json));

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = doc.RootElement;
        Assert.Equal($"coevo bench cpu --quick --threads 2 --json {json}", root.GetProperty("command").GetString());
        Assert.Equal(2, root.GetProperty("threads").GetInt32());

        JsonElement machine = root.GetProperty("machine");
        Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty("cpu_model").GetString()));
        Assert.Equal(Environment.ProcessorCount, machine.GetProperty("logical_processors").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty("simd").GetString()));

        JsonElement one = root.GetProperty("peak_one_thread"), all = root.GetProperty("peak_all_threads");
        Assert.Equal(1, one.GetProperty("threads").GetInt32());
        Assert.Equal(2, all.GetProperty("threads").GetInt32());
        Assert.Equal(2, all.GetProperty("per_thread_gflops").GetArrayLength());
        Assert.True(one.GetProperty("total_gflops").GetDouble() > 0);
        Assert.True(all.GetProperty("total_gflops").GetDouble() > 0);
        JsonElement wide = root.GetProperty("peak_vector512_all_threads");
        Assert.Equal(CpuPeak.IsSupported(PeakInstruction.Avx512Fma) ? JsonValueKind.Object : JsonValueKind.Null, wide.ValueKind);
        Assert.Equal(CpuPeak.Describe(PeakInstruction.Vector256), all.GetProperty("instruction").GetString());

        // The GEMM rows' % of peak is against the peak of the instruction the GEMM issues, named in the report.
        Assert.Equal(CpuPeak.Describe(Gemm.Instruction), root.GetProperty("gemm_instruction").GetString());
        double gemmPeak = root.GetProperty("gemm_peak_gflops").GetDouble();
        JsonElement gemmPeakResult = Gemm.Instruction == PeakInstruction.Avx512Fma ? wide : all;
        Assert.Equal(gemmPeakResult.GetProperty("total_gflops").GetDouble(), gemmPeak);

        JsonElement[] allRows = root.GetProperty("rows").EnumerateArray().ToArray();
        JsonElement[] rows = allRows.Where(r => r.GetProperty("section").GetString() == "gemm").ToArray();
        Assert.Equal(BenchCpuCommand.GemmCases.Count, rows.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            JsonElement row = rows[i];
            Assert.Equal("gemm", row.GetProperty("section").GetString());
            Assert.Equal(BenchCpuCommand.GemmCases[i].Detail, row.GetProperty("detail").GetString());
            Assert.Equal(2, row.GetProperty("threads").GetInt32());
            Assert.Equal(3, row.GetProperty("repetitions").GetInt32());
            Assert.Equal("GFLOP/s", row.GetProperty("rate_unit").GetString());
            Assert.True(row.GetProperty("median_milliseconds").GetDouble() > 0);
            Assert.True(row.GetProperty("rate").GetDouble() > 0);
            Assert.Equal(100 * row.GetProperty("rate").GetDouble() / gemmPeak, row.GetProperty("percent_of_peak").GetDouble(), 9);
        }
        Assert.Contains(rows, r => r.GetProperty("detail").GetString() == "NT 512x1024x256");
        Assert.Contains(rows, r => r.GetProperty("detail").GetString() == "TN 1024x256x512");

        // The training section: tokens/s of SFT (LoRA, full) and DPO steps on the tiny preset, no % of peak.
        JsonElement[] training = allRows.Where(r => r.GetProperty("section").GetString() == "training").ToArray();
        Assert.Equal(3, training.Length);
        Assert.All(training, r =>
        {
            Assert.Equal("tokens/s", r.GetProperty("rate_unit").GetString());
            Assert.True(r.GetProperty("rate").GetDouble() > 0);
            Assert.Equal(JsonValueKind.Null, r.GetProperty("percent_of_peak").ValueKind);
        });
    }

    [Fact]
    public void Bench_cpu_rejects_a_negative_thread_count()
    {
        var e = Assert.Throws<ArgumentException>(() => Coevo("bench", "cpu", "--quick", "--threads", "-1"));
        Assert.Contains("--threads", e.Message);
    }

    [Fact]
    public void Bench_group_lists_its_verb()
    {
        var help = new StringWriter();
        Assert.Equal(0, Program.Dispatch(["bench", "--help"], help));
        Assert.Contains("cpu", help.ToString());
    }
}

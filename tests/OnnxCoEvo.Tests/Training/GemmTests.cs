using System.Runtime.Intrinsics.X86;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Training;

/// <summary>
/// Gemm.Multiply against a double-precision triple loop for every transpose combination, sizes that leave partial
/// micro-panels at every edge and cross every blocking boundary (depth 256, columns 4096, rows 3072), and the
/// determinism contract: bit-identical results whatever the thread count or where the inputs live in memory.
/// The kernel depends on the machine: Vector512 8x32 (16x16 where n &lt;= 16) with AVX-512, else Vector256 6x16; the
/// shapes cover the panel edges of all three.
/// </summary>
public sealed class GemmTests
{
    public static TheoryData<int, int, int, bool, bool, bool> Cases()
    {
        (int M, int N, int K)[] shapes =
        [
            (1, 1, 1), (1, 17, 33), (3, 7, 1), (7, 3, 17), (17, 33, 7), (33, 65, 17), (65, 33, 130), (130, 65, 33),
            (1, 130, 65),      // one output row: the matrix-vector path
            (65, 1, 130),      // one output column
            (130, 130, 130),   // packed path, partial panels on both edges
            (65, 17, 300),     // two depth blocks
            (7, 4100, 9),      // two column blocks
            (3080, 17, 5),     // two row slabs
            (64, 96, 64),      // whole 8x32, 16x16 and 6x16 panels: no edge at all
            (2, 2, 2),         // the packed path at its smallest
            (9, 16, 257),      // 16x16 kernel: one 16-wide panel, 9 of 16 rows, depth 256 + 1
            (17, 15, 40),      // 16x16 kernel: partial panel on both edges
            (33, 17, 31),      // 8x32 kernel from n = 17 on: one partial column panel
            (15, 31, 300),     // one row short of two 8-row panels, one column short of a 32 panel
            (8, 33, 513),      // one whole row panel, 32 + 1 columns, 256 + 256 + 1 depth
            (41, 63, 9),       // five row panels + 1, two 32 panels - 1
        ];
        var data = new TheoryData<int, int, int, bool, bool, bool>();
        foreach ((int m, int n, int k) in shapes)
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                        data.Add(m, n, k, transA, transB, accumulate);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_a_double_precision_reference(int m, int n, int k, bool transA, bool transB, bool accumulate)
    {
        var random = new Random(m * 1_000_003 + n * 1009 + k);
        float[] a = RandomValues(random, m * k), b = RandomValues(random, k * n);
        // Without accumulate C starts as NaN: every element must be overwritten, never added to.
        float[] c = accumulate ? RandomValues(random, m * n) : Enumerable.Repeat(float.NaN, m * n).ToArray();
        float[] before = (float[])c.Clone();

        Gemm.Multiply(a, b, c, m, n, k, transA, transB, accumulate);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double product = (double)(transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                    sum += product;
                    magnitude += Math.Abs(product);
                }
                double initial = accumulate ? before[i * n + j] : 0;
                // fp32 summation error grows with k: bound it by (k + 2) units of roundoff on the sum of |products|.
                double tolerance = (k + 2) * Math.Pow(2, -24) * (magnitude + Math.Abs(initial)) + 1e-30;
                double actual = c[i * n + j];
                Assert.True(Math.Abs(actual - (initial + sum)) <= tolerance,
                    $"C[{i}, {j}] = {actual}, expected {initial + sum} (tolerance {tolerance})");
            }
        }
    }

    public static TheoryData<bool, bool, int, int, int> DeterminismCases()
    {
        var data = new TheoryData<bool, bool, int, int, int>();
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                data.Add(transA, transB, 301, 257, 520);   // partial panels on both edges, three depth blocks
                data.Add(transA, transB, 301, 13, 520);    // n <= 16: the narrow kernel where there is one, row shares
                data.Add(transA, transB, 700, 160, 70);    // m > n: the threads' shares split the rows
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(DeterminismCases))]
    public void Results_are_bit_identical_whatever_the_thread_count(bool transA, bool transB, int m, int n, int k)
    {
        var random = new Random(42);
        float[] a = RandomValues(random, m * k), b = RandomValues(random, k * n), start = RandomValues(random, m * n);

        float[] Run(int threads, float[] aInput, float[] bInput)
        {
            float[] c = (float[])start.Clone();
            Gemm.Multiply(aInput, bInput, c, m, n, k, transA, transB, accumulate: true, maxDegreeOfParallelism: threads);
            return c;
        }

        float[] single = Run(1, a, b);
        Assert.Equal(single, Run(1, a, b));
        Assert.Equal(single, Run(-1, a, b));
        Assert.Equal(single, Run(2, a, b));
        Assert.Equal(single, Run(3, a, b));
        Assert.Equal(single, Run(Environment.ProcessorCount * 2, a, b));

        // The same values at another address (offset by one float, so a different alignment) give the same bits.
        float[] aShifted = new float[a.Length + 1], bShifted = new float[b.Length + 1];
        a.CopyTo(aShifted, 1);
        b.CopyTo(bShifted, 1);
        float[] c2 = (float[])start.Clone();
        Gemm.Multiply(aShifted.AsSpan(1), bShifted.AsSpan(1), c2, m, n, k, transA, transB, accumulate: true);
        Assert.Equal(single, c2);
    }

    [Fact]
    public void Concurrent_calls_from_many_threads_each_get_their_own_result()
    {
        const int m = 97, n = 130, k = 300, calls = 8;
        var random = new Random(3);
        float[] a = RandomValues(random, m * k), b = RandomValues(random, k * n);
        float[] expected = new float[m * n];
        Gemm.Multiply(a, b, expected, m, n, k, transB: false);

        // Different shapes interleaved so calls really contend for the packing scratch.
        var outputs = new float[calls][];
        Parallel.For(0, calls, new ParallelOptions { MaxDegreeOfParallelism = calls }, i =>
        {
            var other = new float[(m + i) * n];
            Gemm.Multiply(RandomValues(new Random(i), (m + i) * k), b, other, m + i, n, k);
            outputs[i] = new float[m * n];
            Gemm.Multiply(a, b, outputs[i], m, n, k);
        });
        Assert.All(outputs, output => Assert.Equal(expected, output));
    }

    [Fact]
    public void Matrix_vector_products_are_bit_identical_run_to_run()
    {
        const int n = 1000, k = 777;
        var random = new Random(7);
        float[] x = RandomValues(random, k), w = RandomValues(random, n * k);
        float[] first = new float[n], second = new float[n];
        Gemm.Multiply(x, w, first, 1, n, k, transB: true);
        Gemm.Multiply(x, w.ToArray(), second, 1, n, k, transB: true);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Empty_depth_clears_or_keeps_c_and_empty_outputs_do_nothing()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply([], [], c, 2, 3, 0, accumulate: true);
        Assert.Equal([1f, 2, 3, 4, 5, 6], c);
        Gemm.Multiply([], [], c, 2, 3, 0);
        Assert.All(c, v => Assert.Equal(0f, v));
        Gemm.Multiply([], [1, 2], [], 0, 2, 1);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        float[] a = new float[6], b = new float[6], c = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, b, c, -1, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, b, c, 2, -2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, b, c, 2, 2, -3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, b, c, 2, 2, 3, false, false, false, maxDegreeOfParallelism: 0));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a.AsSpan(1), b, c, 2, 2, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b.AsSpan(1), c, 2, 2, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c.AsSpan(1), 2, 2, 3));

        // C may not overlap A or B, not even partly.
        float[] shared = new float[16];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(shared.AsSpan(0, 6), b, shared.AsSpan(4, 4), 2, 2, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, shared.AsSpan(0, 6), shared.AsSpan(0, 4), 2, 2, 3));
        // Neighbouring slices of one buffer are fine.
        Gemm.Multiply(shared.AsSpan(0, 6), shared.AsSpan(6, 6), shared.AsSpan(12, 4), 2, 2, 3);
    }

    [Fact]
    public void Cpu_peak_reports_each_thread_and_the_total()
    {
        CpuPeakResult peak = CpuPeak.Measure(2, TimeSpan.FromMilliseconds(20));
        Assert.Equal(2, peak.Threads);
        Assert.Equal(2, peak.PerThreadGflops.Count);
        Assert.All(peak.PerThreadGflops, g => Assert.True(g > 0));
        Assert.True(peak.TotalGflops > 0);
        Assert.Equal(CpuPeak.Describe(PeakInstruction.Vector256), peak.Instruction);
        if (!CpuPeak.IsSupported(PeakInstruction.Avx512Fma))
            Assert.Throws<NotSupportedException>(() => CpuPeak.Measure(1, TimeSpan.FromMilliseconds(1), PeakInstruction.Avx512Fma));
    }

    [Fact]
    public void Every_fma_kernel_gives_the_same_bits()
    {
        // The Vector512 kernels and the Vector256 one run the same fused chains over the same depth blocks, so an
        // AVX-512 machine and an AVX2 one agree bit for bit (checked with DOTNET_EnableAVX512=0): pinned here, as one
        // process cannot switch kernels. The portable kernel without FMA (multiply, then add) rounds differently.
        if (!Fma.IsSupported)
            return;
        var random = new Random(11);
        ulong hash = 14695981039346656037;   // FNV-1a over the result bits
        foreach ((int m, int n, int k) in new[] { (37, 45, 300), (130, 70, 33), (29, 97, 517), (300, 13, 700), (9, 16, 257) })
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                {
                    float[] a = RandomValues(random, m * k), b = RandomValues(random, k * n), c = RandomValues(random, m * n);
                    Gemm.Multiply(a, b, c, m, n, k, transA, transB, accumulate: transA);
                    foreach (float v in c)
                        hash = (hash ^ BitConverter.SingleToUInt32Bits(v)) * 1099511628211;
                }
        Assert.Equal(0xFBC22828245F9E41UL, hash);
    }

    [Fact]
    public void Gemm_names_the_instruction_its_kernel_issues()
    {
        // A Vector512 kernel is only chosen where AVX-512 is there to measure, so its peak can be quoted beside it.
        Assert.True(CpuPeak.IsSupported(Gemm.Instruction));
        Assert.StartsWith(Gemm.Instruction == PeakInstruction.Avx512Fma ? "Vector512" : "Vector", Gemm.KernelDescription);
    }

    private static float[] RandomValues(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}

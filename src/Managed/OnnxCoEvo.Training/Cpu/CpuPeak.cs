using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>Measured fp32 multiply-add peak: what each thread reached and what they reached together.</summary>
/// <param name="Instruction">What was timed, e.g. "Vector256 FMA".</param>
/// <param name="PerThreadGflops">Each thread's GFLOP/s over its own run.</param>
/// <param name="TotalGflops">All flops over the wall time from the first start to the last finish.</param>
public sealed record CpuPeakResult(string Instruction, int Threads, IReadOnlyList<double> PerThreadGflops, double TotalGflops);

/// <summary>Which multiply-add <see cref="CpuPeak"/> times; <see cref="Gemm.Instruction"/> says which one the GEMM issues.</summary>
public enum PeakInstruction
{
    /// <summary>
    /// What the Vector256 GEMM microkernel issues: Vector256 FMA with AVX2 + FMA, else Vector128 multiply-add (fused
    /// where the CPU has FMA, as on Arm).
    /// </summary>
    Vector256,

    /// <summary>Vector512 FMA, where the CPU has AVX-512: what the Vector512 GEMM microkernel issues.</summary>
    Avx512Fma,
}

/// <summary>
/// Measures the machine's fp32 multiply-add peak the way the GEMM microkernels issue them: twelve independent
/// accumulator chains (enough to cover FMA latency on two FMA ports), one thread per core, all starting together.
/// Flops are counted as in GEMM: a multiply-add is 2 per lane (16 for a Vector256 FMA, 32 for a Vector512 one).
/// </summary>
public static class CpuPeak
{
    private const int Chains = 12;
    private const long IterationsPerBatch = 1 << 16;

    public static bool IsSupported(PeakInstruction instruction) => instruction == PeakInstruction.Vector256 || Avx512F.IsSupported;

    /// <summary>What <see cref="Measure"/> times for this choice on this CPU, e.g. "Vector256 FMA".</summary>
    public static string Describe(PeakInstruction instruction) => instruction switch
    {
        PeakInstruction.Avx512Fma => "Vector512 FMA (AVX-512)",
        _ when Fma.IsSupported => "Vector256 FMA",
        _ when AdvSimd.IsSupported => "Vector128 FMA",
        _ => "Vector128 multiply+add",
    };

    /// <summary>
    /// Runs the multiply-add loop on <paramref name="threads"/> threads at once for about <paramref name="duration"/>,
    /// after calibrating on the calling thread (which doubles as the JIT and clock warm-up).
    /// </summary>
    /// <exception cref="NotSupportedException">AVX-512 FMA on a CPU without AVX-512.</exception>
    public static CpuPeakResult Measure(int threads, TimeSpan duration, PeakInstruction instruction = PeakInstruction.Vector256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        if (!IsSupported(instruction))
            throw new NotSupportedException("AVX-512 FMA peak asked for on a CPU without AVX-512");
        (Func<long, float> runBatches, int lanes) = instruction switch
        {
            PeakInstruction.Avx512Fma => (RunBatches<Lanes512, Vector512<float>>, Lanes512.Lanes),
            _ when Fma.IsSupported => (RunBatches<Lanes256, Vector256<float>>, Lanes256.Lanes),
            _ => ((Func<long, float>)RunBatches<Lanes128, Vector128<float>>, Lanes128.Lanes),
        };

        runBatches(1);
        var clock = Stopwatch.StartNew();
        long batches = 1;
        while (clock.Elapsed < duration / 8)
        {
            runBatches(batches);
            batches *= 2;
        }
        double secondsPerBatch = clock.Elapsed.TotalSeconds / (batches - 1);   // ran 1 + 2 + ... + batches/2
        long batchesPerThread = Math.Max(1, (long)(duration.TotalSeconds / secondsPerBatch));
        double flopsPerThread = (double)batchesPerThread * IterationsPerBatch * Chains * 2 * lanes;

        var perThread = new double[threads];
        var workers = new Thread[threads];
        using var start = new Barrier(threads + 1);
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                long t0 = Stopwatch.GetTimestamp();
                runBatches(batchesPerThread);
                perThread[index] = flopsPerThread / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9;
            }) { IsBackground = true, Name = $"coevo peak {t}" };
            workers[t].Start();
        }
        start.SignalAndWait();
        long startTicks = Stopwatch.GetTimestamp();
        foreach (Thread w in workers) w.Join();
        double wall = Stopwatch.GetElapsedTime(startTicks).TotalSeconds;
        return new CpuPeakResult(Describe(instruction), threads, perThread, threads * flopsPerThread / wall / 1e9);
    }

    // acc = acc * 0.999999 + 1e-6 converges to 1: no overflow, no denormals, nothing the JIT can fold. The sum of the
    // chains is returned so they stay live. The lanes type is a struct, so the JIT compiles one loop per width with
    // every call inlined and the twelve chains in registers.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float RunBatches<TLanes, TVector>(long batches) where TLanes : struct, IFmaLanes<TVector>
    {
        TVector a0 = TLanes.Start, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0, n = batches * IterationsPerBatch; i < n; i++)
        {
            a0 = TLanes.Step(a0);
            a1 = TLanes.Step(a1);
            a2 = TLanes.Step(a2);
            a3 = TLanes.Step(a3);
            a4 = TLanes.Step(a4);
            a5 = TLanes.Step(a5);
            a6 = TLanes.Step(a6);
            a7 = TLanes.Step(a7);
            a8 = TLanes.Step(a8);
            a9 = TLanes.Step(a9);
            a10 = TLanes.Step(a10);
            a11 = TLanes.Step(a11);
        }
        TVector sum = TLanes.Add(TLanes.Add(TLanes.Add(a0, a1), TLanes.Add(a2, a3)), TLanes.Add(TLanes.Add(a4, a5), TLanes.Add(a6, a7)));
        return TLanes.Sum(TLanes.Add(sum, TLanes.Add(TLanes.Add(a8, a9), TLanes.Add(a10, a11))));
    }

    private interface IFmaLanes<TVector>
    {
        static abstract int Lanes { get; }
        static abstract TVector Start { get; }
        static abstract TVector Step(TVector acc);
        static abstract TVector Add(TVector x, TVector y);
        static abstract float Sum(TVector x);
    }

    /// <summary>The portable microkernel's multiply-add (used where there is no AVX2 + FMA).</summary>
    private readonly struct Lanes128 : IFmaLanes<Vector128<float>>
    {
        public static int Lanes => Vector128<float>.Count;
        public static Vector128<float> Start => Vector128.Create(0.5f);
        public static Vector128<float> Step(Vector128<float> acc) => GemmKernels.MultiplyAdd(acc, Vector128.Create(0.999999f), Vector128.Create(1e-6f));
        public static Vector128<float> Add(Vector128<float> x, Vector128<float> y) => x + y;
        public static float Sum(Vector128<float> x) => Vector128.Sum(x);
    }

    private readonly struct Lanes256 : IFmaLanes<Vector256<float>>
    {
        public static int Lanes => Vector256<float>.Count;
        public static Vector256<float> Start => Vector256.Create(0.5f);
        public static Vector256<float> Step(Vector256<float> acc) => Fma.MultiplyAdd(acc, Vector256.Create(0.999999f), Vector256.Create(1e-6f));
        public static Vector256<float> Add(Vector256<float> x, Vector256<float> y) => x + y;
        public static float Sum(Vector256<float> x) => Vector256.Sum(x);
    }

    private readonly struct Lanes512 : IFmaLanes<Vector512<float>>
    {
        public static int Lanes => Vector512<float>.Count;
        public static Vector512<float> Start => Vector512.Create(0.5f);
        public static Vector512<float> Step(Vector512<float> acc) => Avx512F.FusedMultiplyAdd(acc, Vector512.Create(0.999999f), Vector512.Create(1e-6f));
        public static Vector512<float> Add(Vector512<float> x, Vector512<float> y) => x + y;
        public static float Sum(Vector512<float> x) => Vector512.Sum(x);
    }
}

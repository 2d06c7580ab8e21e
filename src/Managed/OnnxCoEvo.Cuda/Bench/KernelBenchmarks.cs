using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Cuda.Bench;

/// <summary>H100 SXM's rooflines (reference/perf-anchors.md): dense bf16 tensor-core FLOP/s and HBM3 bandwidth.</summary>
public static class H100Roofline
{
    public const double Bf16TeraFlops = 989;
    public const double HbmGigabytesPerSecond = 3350;
}

/// <summary>
/// One timed kernel case: GPU time per call (median over batches of calls, CUDA events), the traffic or arithmetic it
/// must do at least, and what that makes of the rooflines. Exactly one of <see cref="Bytes"/> (memory-bound kernels) and
/// <see cref="Flops"/> (GEMM-bound ones) is set; sampling sets neither. <see cref="ScratchPeakBytes"/> is the memory the
/// call allocates beyond its inputs and outputs (the stream-ordered pool's high-water mark).
/// </summary>
public sealed record KernelTiming(string Name, string Kernel, string Shape, double Milliseconds, double? Bytes, double? Flops,
    long? ScratchPeakBytes, long? OutputBytes)
{
    public double? GigabytesPerSecond => Bytes / (Milliseconds * 1e6);

    public double? TeraFlopsPerSecond => Flops / (Milliseconds * 1e9);

    /// <summary>Fraction of the H100 roofline: bandwidth for memory-bound cases, bf16 FLOP/s for GEMM-bound ones.</summary>
    public double? FractionOfRoofline => GigabytesPerSecond / H100Roofline.HbmGigabytesPerSecond ?? TeraFlopsPerSecond / H100Roofline.Bf16TeraFlops;
}

/// <summary>
/// The kernel benchmark cases on Llama-3.2-1B shapes (8192 tokens unless named), each with the same name as its
/// PyTorch peer in bench/torch/kernels.py so the two can be joined. FLOP conventions: GEMM 2MNK; causal attention
/// forward 2 b s^2 h d (half of 4 b s^2 h d), backward 2.5x forward (FlashAttention's, issue #1525).
/// </summary>
public static class KernelBenchmarks
{
    public const int Dim = 2048, Heads = 32, KvHeads = 8, HeadDim = 64, Ffn = 8192, Vocab = 128256, Rank = 16;

    /// <summary>The case names in run order (the torch script uses the same).</summary>
    public static IReadOnlyList<string> CaseNames { get; } =
    [
        "d2d_copy", "embedding_fwd", "rmsnorm_fwd", "rmsnorm_bwd", "rope_fwd", "swiglu_fwd", "swiglu_bwd",
        "attention_fwd_2k", "attention_bwd_2k", "attention_fwd_8k", "attention_bwd_8k",
        "attention_fwd_2k_tc", "attention_bwd_2k_tc", "attention_fwd_8k_tc", "attention_bwd_8k_tc",
        "linear_fwd", "lora_fwd", "lora_bwd", "token_logprobs_fwd", "token_logprobs_bwd", "token_logprobs_fwd_c64", "token_logprobs_bwd_c64",
        "adamw", "sampling",
    ];

    /// <summary>The PyTorch peer's case name: variants of ours race the same peer call ("_tc": attention on tensor cores;
    /// "_c64": the head in chunks of 64 rows, whose 32 MiB of fp32 logits can stay in the H100's 50 MB L2).</summary>
    public static string PeerName(string caseName) =>
        caseName.EndsWith("_tc", StringComparison.Ordinal) ? caseName[..^3]
        : caseName.EndsWith("_c64", StringComparison.Ordinal) ? caseName[..^4] : caseName;

    /// <summary>Runs the cases whose names pass <paramref name="select"/>, reporting each as it finishes.</summary>
    /// <param name="quick">Few repetitions and 2048 tokens instead of 8192 (smoke runs; numbers not for reporting).</param>
    /// <param name="failed">Told of each case whose kernel call failed (a CudaException); the run goes on.</param>
    public static List<KernelTiming> Run(CudaContext context, Func<string, bool> select, bool quick, Action<KernelTiming>? report = null,
        Action<string, CudaException>? failed = null)
    {
        var bench = new Runner(context, quick);
        var results = new List<KernelTiming>();
        foreach (string name in CaseNames.Where(select))
        {
            try
            {
                KernelTiming timing = bench.Case(name);
                results.Add(timing);
                report?.Invoke(timing);
            }
            catch (CudaException ex) when (failed is not null)
            {
                failed(name, ex);
            }
        }
        return results;
    }

    private sealed class Runner(CudaContext context, bool quick)
    {
        private const long Bf = 2, F = 4; // bytes of a bf16 and an fp32 element
        private readonly int _tokens = quick ? 2048 : 8192;
        private readonly int _repetitions = quick ? 2 : 10;
        private Xoshiro256StarStar _random = new(2026);

        private DeviceBuffer<BFloat16> Bf16(long count, double scale)
        {
            var values = new BFloat16[count];
            for (long i = 0; i < count; i++)
                values[i] = BFloat16.FromSingle((float)(scale * (2 * _random.NextDouble() - 1)));
            return context.Upload<BFloat16>(values);
        }

        private DeviceBuffer<float> F32(long count, double scale, double offset = 0)
        {
            var values = new float[count];
            for (long i = 0; i < count; i++)
                values[i] = (float)(offset + scale * (2 * _random.NextDouble() - 1));
            return context.Upload<float>(values);
        }

        private DeviceBuffer<int> Ints(int count, int below)
        {
            var values = new int[count];
            for (int i = 0; i < count; i++)
                values[i] = (int)(_random.NextUInt64() % (ulong)below);
            return context.Upload<int>(values);
        }

        /// <summary>Median over 5 batches of the GPU milliseconds per call (after warm-up calls).</summary>
        private double Time(Action run)
        {
            for (int i = 0; i < 2; i++)
                run();
            var samples = new List<double>();
            for (int batch = 0; batch < 5; batch++)
            {
                context.StartTimer();
                for (int i = 0; i < _repetitions; i++)
                    run();
                samples.Add(context.StopTimer() / (double)_repetitions);
            }
            samples.Sort();
            return samples[samples.Count / 2];
        }

        private (double Ms, long Peak) TimeWithPeak(Action run)
        {
            context.Memory(resetPeak: true);
            run();
            long peak = context.Memory().ScratchPeakBytes;
            return (Time(run), peak);
        }

        public KernelTiming Case(string name)
        {
            int t = _tokens;
            switch (name)
            {
                case "d2d_copy":
                {
                    const long Bytes = 1L << 30;
                    using DeviceBuffer<byte> a = context.Allocate<byte>((int)Bytes), b = context.Allocate<byte>((int)Bytes);
                    context.Zero(a);
                    return new(name, "cudaMemcpyAsync D2D", "1 GiB", Time(() => context.Copy(b, a, Bytes)), 2.0 * Bytes, null, null, null);
                }
                case "embedding_fwd":
                {
                    using DeviceBuffer<BFloat16> table = Bf16((long)Vocab * Dim, 0.05), y = context.Allocate<BFloat16>(t * Dim);
                    using DeviceBuffer<int> ids = Ints(t, Vocab);
                    double ms = Time(() => context.EmbeddingForward(ids, table, y, t, Vocab, Dim));
                    return new(name, "coevo_embedding_forward", $"ids [{t}], table [{Vocab}, {Dim}]", ms, 2.0 * t * Dim * Bf + t * 4, null, null, null);
                }
                case "rmsnorm_fwd":
                {
                    using DeviceBuffer<BFloat16> x = Bf16((long)t * Dim, 3), w = Bf16(Dim, 1), y = context.Allocate<BFloat16>(t * Dim);
                    using DeviceBuffer<float> rstd = context.Allocate<float>(t);
                    double ms = Time(() => context.RmsNormForward(x, w, y, rstd, t, Dim, 1e-5f));
                    return new(name, "coevo_rmsnorm_forward", $"x [{t}, {Dim}]", ms, 2.0 * t * Dim * Bf + Dim * Bf + t * F, null, null, null);
                }
                case "rmsnorm_bwd":
                {
                    using DeviceBuffer<BFloat16> x = Bf16((long)t * Dim, 3), w = Bf16(Dim, 1), dy = Bf16((long)t * Dim, 1), dx = context.Allocate<BFloat16>(t * Dim);
                    using DeviceBuffer<float> rstd = F32(t, 0.1, 1);
                    double ms = Time(() => context.RmsNormBackward(x, w, rstd, dy, dx, null, t, Dim));
                    return new(name, "coevo_rmsnorm_backward (dx)", $"x [{t}, {Dim}]", ms, 3.0 * t * Dim * Bf + Dim * Bf + t * F, null, null, null);
                }
                case "rope_fwd":
                {
                    var table = new RopeTable(HeadDim, 500000, new RopeScaling(32, 1, 4, 8192), _tokens);
                    using DeviceBuffer<BFloat16> q = Bf16((long)t * Heads * HeadDim, 1), k = Bf16((long)t * KvHeads * HeadDim, 1);
                    using DeviceBuffer<int> positions = context.Upload<int>(Enumerable.Range(0, t).ToArray());
                    using DeviceBuffer<float> cos = context.Upload<float>(table.Cos), sin = context.Upload<float>(table.Sin);
                    double ms = Time(() =>
                    {
                        context.RopeForward(q, positions, cos, sin, t, Heads, HeadDim, t);
                        context.RopeForward(k, positions, cos, sin, t, KvHeads, HeadDim, t);
                    });
                    // q and k read and written once; the cos/sin rows are read once per head (cached: counted once).
                    return new(name, "coevo_rope_forward (q and k)", $"q [{t}, {Heads}, {HeadDim}], k [{t}, {KvHeads}, {HeadDim}]", ms,
                        2.0 * t * (Heads + KvHeads) * HeadDim * Bf + 2.0 * t * HeadDim / 2 * F, null, null, null);
                }
                case "swiglu_fwd":
                {
                    using DeviceBuffer<BFloat16> g = Bf16((long)t * Ffn, 4), u = Bf16((long)t * Ffn, 2), h = context.Allocate<BFloat16>(t * Ffn);
                    double ms = Time(() => context.SwiGluForward(g, u, h, t, Ffn));
                    return new(name, "coevo_swiglu_forward", $"gate, up [{t}, {Ffn}]", ms, 3.0 * t * Ffn * Bf, null, null, null);
                }
                case "swiglu_bwd":
                {
                    using DeviceBuffer<BFloat16> g = Bf16((long)t * Ffn, 4), u = Bf16((long)t * Ffn, 2), dh = Bf16((long)t * Ffn, 1);
                    using DeviceBuffer<BFloat16> dg = context.Allocate<BFloat16>(t * Ffn), du = context.Allocate<BFloat16>(t * Ffn);
                    double ms = Time(() => context.SwiGluBackward(g, u, dh, dg, du, t, Ffn));
                    return new(name, "coevo_swiglu_backward", $"gate, up [{t}, {Ffn}]", ms, 5.0 * t * Ffn * Bf, null, null, null);
                }
                case not null when name.StartsWith("attention_", StringComparison.Ordinal):
                    return Attention(name, name.Contains("_2k", StringComparison.Ordinal) ? 2048 : 8192, name.Contains("bwd", StringComparison.Ordinal),
                        name.EndsWith("_tc", StringComparison.Ordinal) ? AttentionKernel.TensorCores : AttentionKernel.Fma);
                case "linear_fwd":
                {
                    using DeviceBuffer<BFloat16> x = Bf16((long)t * Dim, 1), w = Bf16((long)Ffn * Dim, 0.02), y = context.Allocate<BFloat16>(t * Ffn);
                    double ms = Time(() => context.LinearForward(x, w, null, y, t, Dim, Ffn));
                    return new(name, "coevo_linear_forward (cuBLAS)", $"x [{t}, {Dim}], W [{Ffn}, {Dim}]", ms, null, 2.0 * t * Ffn * Dim, null, null);
                }
                case "lora_fwd" or "lora_bwd":
                {
                    using DeviceBuffer<BFloat16> x = Bf16((long)t * Dim, 1), a = Bf16((long)Rank * Dim, 0.02), b = Bf16((long)Ffn * Rank, 0.02);
                    using DeviceBuffer<BFloat16> xa = context.Allocate<BFloat16>(t * Rank), y = Bf16((long)t * Ffn, 1), dx = Bf16((long)t * Dim, 1);
                    using DeviceBuffer<float> da = context.Allocate<float>(Rank * Dim), db = context.Allocate<float>(Ffn * Rank);
                    string shape = $"x [{t}, {Dim}], A [{Rank}, {Dim}], B [{Ffn}, {Rank}]";
                    if (name == "lora_fwd")
                    {
                        double ms = Time(() => context.LoraForward(x, a, b, 2f, xa, y, t, Dim, Ffn, Rank));
                        // Skinny GEMMs are bandwidth-bound: x read once, y read and written (the += into the base output).
                        return new(name, "coevo_lora_forward", shape, ms, (double)t * (Dim + 2 * Ffn + 2 * Rank) * Bf, null, null, null);
                    }
                    double bwd = Time(() => context.LoraBackward(x, a, b, 2f, xa, y, dx, da, db, t, Dim, Ffn, Rank));
                    // dy read twice (dB, g), x read once (dA), dx read and written.
                    return new(name, "coevo_lora_backward", shape, bwd, (double)t * (2 * Ffn + 3 * Dim + 3 * Rank) * Bf, null, null, null);
                }
                case "token_logprobs_fwd" or "token_logprobs_bwd" or "token_logprobs_fwd_c64" or "token_logprobs_bwd_c64":
                    return TokenLogProbs(name, name.Contains("_bwd", StringComparison.Ordinal), name.EndsWith("_c64", StringComparison.Ordinal) ? 64 : 0);
                case "adamw":
                {
                    // LoRA r16 on all 7 projections of Llama-3.2-1B: 16 layers x r x (sum of in + out) parameters.
                    long n = 16L * Rank * (4 * (Dim + Dim) - 2 * (Dim - 512) + 3 * (Dim + Ffn));
                    using DeviceBuffer<float> p = F32(n, 0.02), g = F32(n, 0.001), m = context.Allocate<float>((int)n), v = context.Allocate<float>((int)n);
                    using DeviceBuffer<BFloat16> copy = context.Allocate<BFloat16>((int)n);
                    context.Zero(m);
                    context.Zero(v);
                    var settings = new AdamWSettings(WeightDecay: 0.01);
                    double ms = Time(() => context.AdamWStep(p, g, m, v, copy, 1e-4f, settings, 1));
                    return new(name, "coevo_adamw_step", $"{n} fp32 masters + bf16 copy", ms, n * (7.0 * F + Bf), null, null, null);
                }
                case "sampling":
                {
                    const int Rows = 64;
                    using DeviceBuffer<float> logits = F32((long)Rows * Vocab, 8), uniforms = F32(Rows, 0.5, 0.5);
                    using DeviceBuffer<int> ids = context.Allocate<int>(Rows);
                    double ms = Time(() => context.SampleTokens(logits, uniforms, ids, Rows, Vocab, 1f, 0, 0.9f));
                    return new(name, "coevo_sample_tokens (T 1, top-p 0.9)", $"logits [{Rows}, {Vocab}]", ms, null, null, null, null);
                }
                default:
                    throw new ArgumentException($"unknown kernel benchmark '{name}'; known: {string.Join(", ", CaseNames)}");
            }
        }

        // Llama-3.2-1B attention over 8192 (2048 in quick runs) tokens packed as sequences of `length`.
        private KernelTiming Attention(string name, int length, bool backward, AttentionKernel kernel)
        {
            context.AttentionKernel = kernel;
            int tokens = Math.Max(_tokens, length), sequences = tokens / length;
            int[] starts = Enumerable.Range(0, sequences + 1).Select(i => i * length).ToArray();
            var shape = AttentionShape.FromStarts(starts, Heads, KvHeads, HeadDim);
            using DeviceBuffer<BFloat16> q = Bf16((long)tokens * Heads * HeadDim, 1), k = Bf16((long)tokens * KvHeads * HeadDim, 1);
            using DeviceBuffer<BFloat16> v = Bf16((long)tokens * KvHeads * HeadDim, 1), o = context.Allocate<BFloat16>(tokens * Heads * HeadDim);
            using DeviceBuffer<float> lse = context.Allocate<float>(tokens * Heads);
            using DeviceBuffer<int> cu = context.Upload<int>(starts);
            double forwardFlops = 2.0 * sequences * length * (double)length * Heads * HeadDim;
            string text = $"{sequences} x {length} tokens, {Heads}/{KvHeads} heads of {HeadDim}, causal, {(kernel == AttentionKernel.TensorCores ? "tensor cores" : "fp32 FMA")}";
            context.AttentionForward(q, k, v, cu, o, lse, shape);
            if (!backward)
                return new(name, "coevo_attention_forward", text, Time(() => context.AttentionForward(q, k, v, cu, o, lse, shape)), null, forwardFlops, null, null);
            using DeviceBuffer<BFloat16> dOut = Bf16((long)tokens * Heads * HeadDim, 1), dq = context.Allocate<BFloat16>(tokens * Heads * HeadDim);
            using DeviceBuffer<BFloat16> dk = context.Allocate<BFloat16>(tokens * KvHeads * HeadDim), dv = context.Allocate<BFloat16>(tokens * KvHeads * HeadDim);
            double ms = Time(() => context.AttentionBackward(q, k, v, o, lse, dOut, cu, dq, dk, dv, shape));
            return new(name, "coevo_attention_backward", text, ms, null, 2.5 * forwardFlops, null, null);
        }

        // The LM head of Llama-3.2-1B over every token (all scored), in chunks of chunkRows rows (0: the library's default,
        // 512 MiB of fp32 logits per chunk).
        private KernelTiming TokenLogProbs(string name, bool backward, int chunkRows)
        {
            int t = _tokens;
            using DeviceBuffer<BFloat16> hidden = Bf16((long)t * Dim, 1), weight = Bf16((long)Vocab * Dim, 0.05);
            using DeviceBuffer<int> targets = Ints(t, Vocab), rows = context.Upload<int>(Enumerable.Range(0, t).ToArray());
            using DeviceBuffer<float> logp = context.Allocate<float>(t), lse = context.Allocate<float>(t), dlogp = F32(t, 1);
            using DeviceBuffer<BFloat16> dHidden = context.Allocate<BFloat16>(t * Dim);
            string shape = $"hidden [{t}, {Dim}], W [{Vocab}, {Dim}], all rows scored, chunks of {(chunkRows > 0 ? chunkRows.ToString(System.Globalization.CultureInfo.InvariantCulture) : "512 MiB")}";
            double forwardFlops = 2.0 * t * Vocab * Dim;
            if (!backward)
            {
                (double ms, long peak) = TimeWithPeak(() => context.TokenLogProbsForward(hidden, weight, targets, rows, logp, lse, t, Dim, Vocab, t, chunkRows));
                return new(name, "coevo_token_logprobs_forward", shape, ms, null, forwardFlops, peak, 2L * t * F);
            }
            context.TokenLogProbsForward(hidden, weight, targets, rows, logp, lse, t, Dim, Vocab, t, chunkRows);
            (double bwd, long bwdPeak) = TimeWithPeak(() =>
                context.TokenLogProbsBackward(hidden, weight, targets, rows, lse, dlogp, dHidden, t, Dim, Vocab, t, chunkRows));
            return new(name, "coevo_token_logprobs_backward (dhidden)", shape, bwd, null, 2 * forwardFlops, bwdPeak, (long)t * Dim * Bf);
        }
    }
}

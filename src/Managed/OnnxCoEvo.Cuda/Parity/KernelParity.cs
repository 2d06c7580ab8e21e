using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Cpu;
using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Cuda.Parity;

/// <summary>
/// Every kernel of libcoevo_cuda against its CPU twin on random inputs, under DESIGN.md's parity rule (FlashAttention's):
/// the device's max error against the fp32 twin is at most twice that of the same computation done naively in bf16
/// (each op's output rounded to bf16, as PyTorch eager does; emulated here op by op), plus an fp32 floor. Inputs are
/// bf16-exact (rounded before use), so the twin and the kernel see the same numbers. Shared by the xunit GPU tests and
/// `coevo bench kernels --check`, which runs it on the GPU machine (no dotnet there).
/// </summary>
public static partial class KernelParity
{
    /// <summary>The kernel families, in the order they run (names for <c>--kernels</c>).</summary>
    public static IReadOnlyList<string> Kernels { get; } =
        ["embedding", "rmsnorm", "rope", "swiglu", "attention", "attention_tc", "linear", "lora", "token_logprobs", "losses", "adamw", "sampling"];

    private const float RmsEps = 1e-5f;
    private const float LoraScaling = 2f;

    /// <summary>Runs the selected kernel families (all when <paramref name="kernels"/> is null), reporting each result as
    /// it comes.</summary>
    public static List<ParityResult> Run(IKernelDevice device, ParityShapes shapes, SamplerTwin sampler, IReadOnlyCollection<string>? kernels = null,
        Action<ParityResult>? report = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentNullException.ThrowIfNull(sampler);
        if (kernels is not null && kernels.FirstOrDefault(k => !Kernels.Contains(k)) is { } unknown)
            throw new ArgumentException($"unknown kernel '{unknown}'; known: {string.Join(", ", Kernels)}", nameof(kernels));
        var results = new List<ParityResult>();
        foreach (string kernel in Kernels)
        {
            if (kernels is not null && !kernels.Contains(kernel))
                continue;
            IEnumerable<ParityResult> outputs = kernel switch
            {
                "embedding" => Embedding(device, shapes),
                "rmsnorm" => RmsNormCase(device, shapes),
                "rope" => RopeCase(device, shapes),
                "swiglu" => SwiGluCase(device, shapes),
                "attention" => Attention(device, shapes, AttentionKernel.Fma),
                "attention_tc" => Attention(device, shapes, AttentionKernel.TensorCores),
                "linear" => LinearCase(device, shapes),
                "lora" => Lora(device, shapes),
                "token_logprobs" => TokenLogProbsCase(device, shapes),
                "losses" => Losses(device, shapes),
                "adamw" => AdamWCase(device, shapes),
                _ => Sampling(device, shapes, sampler),
            };
            try
            {
                foreach (ParityResult r in outputs)
                {
                    results.Add(r);
                    report?.Invoke(r);
                }
            }
            catch (CudaException ex)
            {
                // A kernel that fails to run is a failed check, not the end of the run (the next families may still
                // tell something; after a sticky error such as an illegal address they fail the same way).
                var failed = new ParityResult(kernel, "(kernel call)", "", shapes.Name, double.NaN, double.NaN, 0, false, ex.Message);
                results.Add(failed);
                report?.Invoke(failed);
            }
        }
        return results;
    }

    // ---- the rule ----

    private static float R(float x) => BFloat16.Round(x);

    private static float R(double x) => BFloat16.Round((float)x);

    private static float[] RoundAll(ReadOnlySpan<float> values)
    {
        var r = new float[values.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = R(values[i]);
        return r;
    }

    /// <summary>Checks one output: finite, and max |device - reference| &lt;= 2 max |naive - reference| + 2^-20 max |reference|.</summary>
    public static ParityResult Check(string kernel, string output, string twin, string shape, ReadOnlySpan<float> device,
        ReadOnlySpan<float> reference, ReadOnlySpan<float> naive, string? note = null)
    {
        if (device.Length != reference.Length || naive.Length != reference.Length)
            return new ParityResult(kernel, output, twin, shape, double.NaN, double.NaN, 0, false,
                $"lengths differ: device {device.Length}, reference {reference.Length}, naive {naive.Length}");
        double kernelError = 0, naiveError = 0, scale = 0;
        int worst = -1;
        for (int i = 0; i < reference.Length; i++)
        {
            double e = Math.Abs((double)device[i] - reference[i]);
            if (!double.IsFinite(device[i]))
                return new ParityResult(kernel, output, twin, shape, double.PositiveInfinity, naiveError, 0, false,
                    $"element {i} is {device[i]} (reference {reference[i]})");
            if (e > kernelError)
            {
                kernelError = e;
                worst = i;
            }
            naiveError = Math.Max(naiveError, Math.Abs((double)naive[i] - reference[i]));
            scale = Math.Max(scale, Math.Abs((double)reference[i]));
        }
        double budget = 2 * naiveError + Math.ScaleB(scale, -20);
        bool passed = kernelError <= budget;
        string? detail = passed ? note : $"worst element {worst}: device {device[worst]:R}, reference {reference[worst]:R}" + (note is null ? "" : "; " + note);
        return new ParityResult(kernel, output, twin, shape, kernelError, naiveError, budget, passed, detail);
    }

    private static ParityResult CheckScalar(string kernel, string output, string twin, string shape, double device, double reference, double naive)
    {
        double kernelError = Math.Abs(device - reference), naiveError = Math.Abs(naive - reference);
        double budget = 2 * naiveError + Math.ScaleB(Math.Abs(reference), -20);
        bool passed = double.IsFinite(device) && kernelError <= budget;
        return new ParityResult(kernel, output, twin, shape, kernelError, naiveError, budget, passed,
            passed ? null : $"device {device:R}, reference {reference:R}");
    }

    // ---- inputs ----

    /// <summary>Seeded bf16-exact random inputs (xoshiro256**: the same numbers on every machine).</summary>
    private sealed class Inputs(ulong seed)
    {
        private Xoshiro256StarStar _random = new(seed);

        public float[] Bf16(long count, double scale, double offset = 0)
        {
            var values = new float[count];
            for (long i = 0; i < count; i++)
                values[i] = R(offset + scale * (2 * _random.NextDouble() - 1));
            return values;
        }

        public float[] Normal(long count, double std)
        {
            var values = new float[count];
            DeterministicRandom.FillNormal(values, _random.NextUInt64(), 0, std);
            BFloat16.RoundInPlace(values);
            return values;
        }

        public int Int(int below) => (int)(_random.NextUInt64() % (ulong)below);

        public double Uniform() => _random.NextDouble();
    }

    private static string Dims(params int[] dims) => "[" + string.Join(", ", dims) + "]";

    // ---- embedding ----

    private static IEnumerable<ParityResult> Embedding(IKernelDevice device, ParityShapes s)
    {
        var inputs = new Inputs(11);
        int tokens = s.Tokens;
        float[] table = inputs.Bf16((long)s.Vocab * s.Dim, 0.05);
        // Half the ids from a small range, so ids repeat and the backward's per-id order matters.
        int[] ids = Enumerable.Range(0, tokens).Select(t => t % 2 == 0 ? inputs.Int(16) : inputs.Int(s.Vocab)).ToArray();
        string shape = $"ids {Dims(tokens)}, table {Dims(s.Vocab, s.Dim)}";

        var y = new float[tokens * s.Dim];
        Training.Cpu.Embedding.Forward(ids, table, y, s.Vocab, s.Dim);
        yield return Check("embedding", "forward y", "Embedding.Forward", shape, device.EmbeddingForward(ids, table, s.Vocab, s.Dim), y, y);

        float[] dy = inputs.Bf16((long)tokens * s.Dim, 1);
        float[] start = inputs.Bf16((long)s.Vocab * s.Dim, 0.01);
        float[] dTable = (float[])start.Clone();
        Training.Cpu.Embedding.Backward(ids, dy, dTable, s.Vocab, s.Dim);
        yield return Check("embedding", "backward dtable (+=)", "Embedding.Backward", shape,
            device.EmbeddingBackward(ids, dy, start, s.Vocab, s.Dim), dTable, RoundAll(dTable));
    }

    // ---- rmsnorm ----

    // The model's width (the kernels' 16-byte path) and one that is not a multiple of 8 (their scalar path).
    private static IEnumerable<ParityResult> RmsNormCase(IKernelDevice device, ParityShapes s) =>
        RmsNormAt(device, s.Tokens, s.Dim).Concat(RmsNormAt(device, s.Tokens / 4, s.Dim + 4));

    private static IEnumerable<ParityResult> RmsNormAt(IKernelDevice device, int rows, int dim)
    {
        var inputs = new Inputs(12);
        float[] x = inputs.Bf16((long)rows * dim, 3);
        float[] w = inputs.Bf16(dim, 0.25, 1);
        string shape = $"x {Dims(rows, dim)}";

        var y = new float[rows * dim];
        var rstd = new float[rows];
        RmsNorm.Forward(x, w, y, rstd, rows, dim, RmsEps);
        // HF LlamaRMSNorm in bf16: variance in fp32, then weight * (x * rstd).to(bf16), rounded again.
        var naiveY = new float[y.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < dim; c++)
                naiveY[r * dim + c] = R(w[c] * R(x[r * dim + c] * rstd[r]));
        (float[] dY, float[] dRstd) = device.RmsNormForward(x, w, rows, dim, RmsEps);
        yield return Check("rmsnorm", "forward y", "RmsNorm.Forward", shape, dY, y, naiveY);
        yield return Check("rmsnorm", "forward rstd", "RmsNorm.Forward", shape, dRstd, rstd, RoundAll(rstd));

        float[] dy = inputs.Bf16((long)rows * dim, 1);
        float[] dxIn = inputs.Bf16((long)rows * dim, 0.5);
        var dx = (float[])dxIn.Clone();
        var dw = new float[dim];
        RmsNorm.Backward(x, w, rstd, dy, dx, dw, rows, dim, accumulateDx: true);
        var naiveDx = new float[dx.Length];
        for (int i = 0; i < dx.Length; i++)
            naiveDx[i] = R(dxIn[i] + R(dx[i] - dxIn[i]));
        (float[] devDx, float[] devDw) = device.RmsNormBackward(x, w, rstd, dy, dxIn, rows, dim);
        yield return Check("rmsnorm", "backward dx (+=)", "RmsNorm.Backward", shape, devDx, dx, naiveDx);
        yield return Check("rmsnorm", "backward dweight", "RmsNorm.Backward", shape, devDw, dw, RoundAll(dw));
    }

    // ---- rope ----

    private static IEnumerable<ParityResult> RopeCase(IKernelDevice device, ParityShapes s)
    {
        var inputs = new Inputs(13);
        int tokens = s.Tokens, half = s.HeadDim / 2;
        var table = new RopeTable(s.HeadDim, 500000, new RopeScaling(32, 1, 4, 8192), positionCount: 8192);
        int[] positions = Positions(s.SequenceStarts);
        foreach ((string name, int heads) in new[] { ("q", s.Heads), ("k", s.KvHeads) })
        {
            float[] x = inputs.Bf16((long)tokens * heads * s.HeadDim, 2);
            string shape = $"{name} {Dims(tokens, heads, s.HeadDim)}";
            foreach (bool backward in new[] { false, true })
            {
                var expected = (float[])x.Clone();
                if (backward)
                    table.Backward(expected, positions, tokens, heads);
                else
                    table.Forward(expected, positions, tokens, heads);
                // HF apply_rotary_pos_emb in bf16: cos/sin cast to bf16, x * cos + rotate_half(x) * sin, each op rounded.
                float sign = backward ? -1f : 1f;
                var naive = new float[x.Length];
                for (int row = 0; row < tokens * heads; row++)
                {
                    int p = positions[row / heads];
                    for (int i = 0; i < half; i++)
                    {
                        float c = R(table.Cos[p * half + i]), sn = R(table.Sin[p * half + i]);
                        float a = x[row * s.HeadDim + i], b = x[row * s.HeadDim + half + i];
                        naive[row * s.HeadDim + i] = R(R(a * c) - sign * R(b * sn));
                        naive[row * s.HeadDim + half + i] = R(R(b * c) + sign * R(a * sn));
                    }
                }
                yield return Check("rope", $"{(backward ? "backward" : "forward")} {name}", backward ? "Rope.Backward" : "Rope.Forward", shape,
                    device.Rope(x, positions, table.Cos, table.Sin, tokens, heads, s.HeadDim, backward), expected, naive);
            }
        }
    }

    /// <summary>Each token's position inside its sequence.</summary>
    private static int[] Positions(int[] starts)
    {
        var positions = new int[starts[^1]];
        for (int q = 0; q + 1 < starts.Length; q++)
            for (int t = starts[q]; t < starts[q + 1]; t++)
                positions[t] = t - starts[q];
        return positions;
    }

    // ---- swiglu ----

    // The MLP's shape (16-byte path) and an odd element count (the scalar path).
    private static IEnumerable<ParityResult> SwiGluCase(IKernelDevice device, ParityShapes s) =>
        SwiGluAt(device, s.Tokens, s.Ffn).Concat(SwiGluAt(device, s.Tokens / 4 - 1, s.Ffn + 1));

    private static IEnumerable<ParityResult> SwiGluAt(IKernelDevice device, int rows, int width)
    {
        var inputs = new Inputs(14);
        float[] gate = inputs.Bf16((long)rows * width, 4), up = inputs.Bf16((long)rows * width, 2), dh = inputs.Bf16((long)rows * width, 1);
        string shape = $"gate, up {Dims(rows, width)}";
        var h = new float[gate.Length];
        SwiGlu.Forward(gate, up, h, rows, width);
        var naive = new float[h.Length];
        for (int i = 0; i < h.Length; i++)
            naive[i] = R(R(gate[i] / (1 + Math.Exp(-gate[i]))) * up[i]); // F.silu(gate) in bf16, then * up
        yield return Check("swiglu", "forward h", "SwiGlu.Forward", shape, device.SwiGluForward(gate, up, rows, width), h, naive);

        var dGate = new float[h.Length];
        var dUp = new float[h.Length];
        SwiGlu.Backward(gate, up, dh, dGate, dUp, rows, width);
        (float[] devGate, float[] devUp) = device.SwiGluBackward(gate, up, dh, rows, width);
        yield return Check("swiglu", "backward dgate", "SwiGlu.Backward", shape, devGate, dGate, RoundAll(dGate));
        yield return Check("swiglu", "backward dup", "SwiGlu.Backward", shape, devUp, dUp, RoundAll(dUp));
    }
}

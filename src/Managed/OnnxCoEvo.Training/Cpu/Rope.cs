using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// Rotary position embedding, fp32 CPU reference, Hugging Face Llama's rotate-half convention. Twin of
/// native/kernels/rope.cu. Applied in place to q [T, heads, headDim] and k [T, kvHeads, headDim].
/// </summary>
public static class Rope
{
    // Frequencies (HF _compute_default_rope_parameters, then _compute_llama3_parameters when scaled):
    //   inv_freq[i] = 1 / theta^(2i / headDim),  i in [0, half), half = headDim / 2
    //   llama3: wavelen = 2 pi / inv_freq; low_wl = orig / low_freq_factor; high_wl = orig / high_freq_factor
    //     wavelen < high_wl          -> inv_freq                                (high frequencies kept)
    //     wavelen > low_wl           -> inv_freq / factor                       (low frequencies stretched)
    //     otherwise, s = (orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor):
    //                                -> (1 - s) * inv_freq / factor + s * inv_freq
    // Tables: angle[p, i] = p * inv_freq[i] (fp32 product, as HF's fp32 matmul), cos/sin[p, i] of it; [positions, half].
    // Forward (pairs (i, i + half) of each head rotated by angle[pos[t], i]):
    //   y[i]        = x[i] * cos - x[i + half] * sin
    //   y[i + half] = x[i + half] * cos + x[i] * sin
    // Backward: the rotation is orthogonal, so dx = R(-angle) dy:
    //   dx[i]        = dy[i] * cos + dy[i + half] * sin
    //   dx[i + half] = dy[i + half] * cos - dy[i] * sin
    // Layout: x [T, heads, headDim] row-major (token t, head h at (t * heads + h) * headDim); positions [T].

    /// <summary>inv_freq [headDim / 2] for a theta and optional llama3 scaling, rounded to fp32 as HF keeps it.</summary>
    public static float[] InverseFrequencies(int headDim, double theta, RopeScaling? scaling)
    {
        if (headDim < 2 || headDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "RoPE needs an even head dimension");
        if (!(theta > 0) || double.IsInfinity(theta))
            throw new ArgumentOutOfRangeException(nameof(theta), theta, "rope_theta must be positive and finite");
        int half = headDim / 2;
        var inverse = new float[half];
        for (int i = 0; i < half; i++)
        {
            double frequency = (float)(1.0 / Math.Pow(theta, 2.0 * i / headDim));
            inverse[i] = (float)(scaling is null ? frequency : Llama3Scaled(frequency, scaling));
        }
        return inverse;
    }

    private static double Llama3Scaled(double frequency, RopeScaling scaling)
    {
        double original = scaling.OriginalMaxPositionEmbeddings;
        double lowFrequencyWavelength = original / scaling.LowFreqFactor;
        double highFrequencyWavelength = original / scaling.HighFreqFactor;
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < highFrequencyWavelength)
            return frequency;
        if (wavelength > lowFrequencyWavelength)
            return frequency / scaling.Factor;
        double smooth = (original / wavelength - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
        return (1 - smooth) * frequency / scaling.Factor + smooth * frequency;
    }

    /// <summary>Fills cos/sin [positionCount, half] for positions 0 .. positionCount - 1.</summary>
    public static void BuildTables(ReadOnlySpan<float> inverseFrequencies, int positionCount, Span<float> cos, Span<float> sin)
    {
        int half = inverseFrequencies.Length;
        long needed = (long)positionCount * half;
        if (cos.Length < needed || sin.Length < needed)
            throw new ArgumentException($"cos and sin [positions, half] need {needed} elements; have {cos.Length} and {sin.Length}");
        for (int p = 0; p < positionCount; p++)
        {
            for (int i = 0; i < half; i++)
            {
                float angle = p * inverseFrequencies[i];
                cos[p * half + i] = (float)Math.Cos(angle);
                sin[p * half + i] = (float)Math.Sin(angle);
            }
        }
    }

    /// <summary>Rotates each head of each token in place by the angles of its position.</summary>
    public static void Forward(Span<float> x, ReadOnlySpan<int> positions, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        int tokens, int heads, int headDim) => Rotate(x, positions, cos, sin, tokens, heads, headDim, inverse: false);

    /// <summary>Rotates each head's gradient in place by minus the angles of its position.</summary>
    public static void Backward(Span<float> dx, ReadOnlySpan<int> positions, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        int tokens, int heads, int headDim) => Rotate(dx, positions, cos, sin, tokens, heads, headDim, inverse: true);

    private static unsafe void Rotate(Span<float> x, ReadOnlySpan<int> positions, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        int tokens, int heads, int headDim, bool inverse)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        if (headDim < 2 || headDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "RoPE needs an even head dimension");
        int half = headDim / 2;
        long width = (long)heads * headDim;
        if (x.Length < tokens * width)
            throw new ArgumentException($"x [T, heads, headDim] has {x.Length} elements but {tokens * width} are needed", nameof(x));
        if (positions.Length < tokens)
            throw new ArgumentException($"positions [T] has {positions.Length} entries for {tokens} tokens", nameof(positions));
        int tablePositions = Math.Min(cos.Length, sin.Length) / half;
        for (int t = 0; t < tokens; t++)
        {
            if ((uint)positions[t] >= (uint)tablePositions)
                throw new ArgumentException($"position {positions[t]} of token {t} is outside the cos/sin tables [0, {tablePositions})", nameof(positions));
        }

        // The sign of sin selects the direction: forward rotates by +angle, backward by -angle.
        float sinSign = inverse ? -1f : 1f;
        fixed (float* px = x, pc = cos, ps = sin)
        fixed (int* pp = positions)
        {
            var xs = new Pinned<float>(px, (int)(tokens * width));
            var cs = new Pinned<float>(pc, cos.Length);
            var ss = new Pinned<float>(ps, sin.Length);
            var pos = new Pinned<int>(pp, tokens);
            RowParallel.For(tokens, 6 * width, (first, end) =>
            {
                for (int t = first; t < end; t++)
                {
                    Span<float> c = cs.Slice((long)pos[t] * half, half);
                    Span<float> s = ss.Slice((long)pos[t] * half, half);
                    for (int h = 0; h < heads; h++)
                    {
                        Span<float> head = xs.Slice(t * width + h * headDim, headDim);
                        for (int i = 0; i < half; i++)
                        {
                            float a = head[i], b = head[i + half], sn = sinSign * s[i];
                            head[i] = a * c[i] - b * sn;
                            head[i + half] = b * c[i] + a * sn;
                        }
                    }
                }
            });
        }
    }
}

/// <summary>Precomputed RoPE cos/sin tables [PositionCount, HeadDim / 2] for one model's frequencies.</summary>
public sealed class RopeTable
{
    public RopeTable(int headDim, double theta, RopeScaling? scaling, int positionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(positionCount, 1);
        HeadDim = headDim;
        InverseFrequencies = Rope.InverseFrequencies(headDim, theta, scaling);
        PositionCount = positionCount;
        Cos = new float[positionCount * (headDim / 2)];
        Sin = new float[positionCount * (headDim / 2)];
        Rope.BuildTables(InverseFrequencies, positionCount, Cos, Sin);
    }

    public int HeadDim { get; }

    public int PositionCount { get; }

    /// <summary>[HeadDim / 2]</summary>
    public float[] InverseFrequencies { get; }

    /// <summary>[PositionCount, HeadDim / 2]</summary>
    public float[] Cos { get; }

    /// <summary>[PositionCount, HeadDim / 2]</summary>
    public float[] Sin { get; }

    public void Forward(Span<float> x, ReadOnlySpan<int> positions, int tokens, int heads) =>
        Rope.Forward(x, positions, Cos, Sin, tokens, heads, HeadDim);

    public void Backward(Span<float> dx, ReadOnlySpan<int> positions, int tokens, int heads) =>
        Rope.Backward(dx, positions, Cos, Sin, tokens, heads, HeadDim);
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace OnnxCoEvo.Core.Models;

/// <summary>
/// Random numbers that are bit-identical on every machine and runtime: xoshiro256** seeded through SplitMix64, and
/// normals by Marsaglia's polar method with a logarithm computed here from + - * / only (the platform's Math.Log may
/// differ in the last bit between C libraries; sqrt is exactly rounded everywhere). Independent streams come from
/// hashing (seed, name, index), so chunks of a tensor can be generated in parallel in any order.
/// </summary>
public static class DeterministicRandom
{
    /// <summary>A 64-bit seed for the stream of (seed, name, index): FNV-1a over the name, mixed by SplitMix64.</summary>
    public static ulong DeriveSeed(ulong seed, string name, ulong index = 0)
    {
        ulong hash = 0xCBF29CE484222325;
        foreach (byte b in Encoding.UTF8.GetBytes(name))
            hash = (hash ^ b) * 0x100000001B3;
        ulong state = seed;
        ulong mixed = SplitMix64.Next(ref state) ^ hash;
        mixed = SplitMix64.Mix(mixed + 0x9E3779B97F4A7C15 * (index + 1));
        return SplitMix64.Mix(mixed ^ seed);
    }

    private const int PairsPerBatch = 256;
    private const double Ln2 = 0.69314718055994530942;
    private const double Sqrt2 = 1.41421356237309504880;
    private const ulong MantissaBits = 0x000F_FFFF_FFFF_FFFFUL;
    private const ulong ExponentOfOne = 0x3FF0_0000_0000_0000UL;
    private const ulong TwoPow52Bits = 0x4330_0000_0000_0000UL;
    private const double TwoPow52PlusBias = 4503599627370496.0 + 1023;

    /// <summary>Fills <paramref name="destination"/> with Normal(<paramref name="mean"/>, <paramref name="std"/>) samples from the stream <paramref name="seed"/>.</summary>
    public static void FillNormal(Span<float> destination, ulong seed, double mean, double std)
    {
        var random = new Xoshiro256StarStar(seed);
        Span<double> u = stackalloc double[PairsPerBatch];
        Span<double> v = stackalloc double[PairsPerBatch];
        Span<double> scale = stackalloc double[PairsPerBatch];
        int i = 0;
        while (i < destination.Length)
        {
            // Polar method: a point uniform in the unit disc gives two independent standard normals. The points are
            // drawn first and their scales computed in a batch, so the logarithm runs vectorised.
            int pairs = Math.Min(PairsPerBatch, (destination.Length - i + 1) / 2);
            for (int p = 0; p < pairs;)
            {
                double x = 2 * random.NextDouble() - 1;
                double y = 2 * random.NextDouble() - 1;
                double s = x * x + y * y;
                if (s >= 1 || s == 0)
                    continue;
                u[p] = x;
                v[p] = y;
                scale[p++] = s;
            }
            PolarScales(scale[..pairs]);
            for (int p = 0; p < pairs; p++)
            {
                destination[i++] = (float)(mean + std * u[p] * scale[p]);
                if (i < destination.Length)
                    destination[i++] = (float)(mean + std * v[p] * scale[p]);
            }
        }
    }

    /// <summary>Replaces each s by sqrt(-2 log(s) / s); the vector and scalar paths do the same IEEE operations, so agree bit for bit.</summary>
    private static void PolarScales(Span<double> values)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector256<double>.Count; i += Vector256<double>.Count)
            {
                Vector256<double> s = Vector256.Create<double>(values[i..]);
                Vector256.Sqrt(Vector256.Create(-2.0) * Log(s) / s).CopyTo(values[i..]);
            }
        }
        for (; i < values.Length; i++)
            values[i] = Math.Sqrt(-2 * Log(values[i]) / values[i]);
    }

    /// <summary>Natural log of a positive normal double, to about 1 ulp, using only IEEE basic operations (deterministic).</summary>
    public static double Log(double x)
    {
        if (!(x > 0) || !double.IsNormal(x))
            throw new ArgumentOutOfRangeException(nameof(x), x, "must be a positive normal double");
        ulong bits = BitConverter.DoubleToUInt64Bits(x);
        double exponent = BitConverter.UInt64BitsToDouble((bits >> 52) | TwoPow52Bits) - TwoPow52PlusBias; // exact
        double m = BitConverter.UInt64BitsToDouble((bits & MantissaBits) | ExponentOfOne); // [1, 2)
        if (m > Sqrt2)
        {
            m *= 0.5;
            exponent += 1;
        }
        // log(m) = 2 atanh(t), t = (m-1)/(m+1), |t| <= 0.1716: the odd series converges below 1e-18 by t^23.
        double t = (m - 1) / (m + 1);
        double t2 = t * t;
        double series = 1.0 / 23;
        foreach (double coefficient in AtanhSeries)
            series = series * t2 + coefficient;
        return exponent * Ln2 + 2 * t * series;
    }

    /// <summary><see cref="Log(double)"/> on four positive normal doubles, operation for operation.</summary>
    private static Vector256<double> Log(Vector256<double> x)
    {
        Vector256<ulong> bits = x.AsUInt64();
        Vector256<double> exponent = (Vector256.ShiftRightLogical(bits, 52) | Vector256.Create(TwoPow52Bits)).AsDouble() - Vector256.Create(TwoPow52PlusBias);
        Vector256<double> m = ((bits & Vector256.Create(MantissaBits)) | Vector256.Create(ExponentOfOne)).AsDouble();
        Vector256<double> above = Vector256.GreaterThan(m, Vector256.Create(Sqrt2));
        m = Vector256.ConditionalSelect(above, m * 0.5, m);
        exponent = Vector256.ConditionalSelect(above, exponent + Vector256<double>.One, exponent);
        Vector256<double> t = (m - Vector256<double>.One) / (m + Vector256<double>.One);
        Vector256<double> t2 = t * t;
        Vector256<double> series = Vector256.Create(1.0 / 23);
        foreach (double coefficient in AtanhSeries)
            series = series * t2 + Vector256.Create(coefficient);
        return exponent * Vector256.Create(Ln2) + Vector256.Create(2.0) * t * series;
    }

    // 1/21, 1/19, ..., 1/3, 1: Horner coefficients after the leading 1/23.
    private static readonly double[] AtanhSeries = [1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0];
}

/// <summary>SplitMix64: seeds other generators and mixes 64-bit keys.</summary>
public static class SplitMix64
{
    public static ulong Next(ref ulong state) => Mix(state += 0x9E3779B97F4A7C15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}

/// <summary>xoshiro256** (Blackman and Vigna): fast, 256-bit state, good statistical quality.</summary>
public struct Xoshiro256StarStar
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256StarStar(ulong seed)
    {
        ulong state = seed;
        _s0 = SplitMix64.Next(ref state);
        _s1 = SplitMix64.Next(ref state);
        _s2 = SplitMix64.Next(ref state);
        _s3 = SplitMix64.Next(ref state);
    }

    private Xoshiro256StarStar(ulong s0, ulong s1, ulong s2, ulong s3) => (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);

    /// <summary>The four state words, for checkpoints: <see cref="FromState"/> resumes the stream exactly where it stands.</summary>
    public readonly ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>A generator continuing from <see cref="GetState"/>'s words. The all-zero state is xoshiro's one fixed point (it
    /// would return zeros forever) and no seeded generator reaches it, so it is rejected.</summary>
    public static Xoshiro256StarStar FromState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4)
            throw new ArgumentException($"xoshiro256** state is 4 words; {state.Length} were given", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("xoshiro256** state must not be all zeros", nameof(state));
        return new Xoshiro256StarStar(state[0], state[1], state[2], state[3]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

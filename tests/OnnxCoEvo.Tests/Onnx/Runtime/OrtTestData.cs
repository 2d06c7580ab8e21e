using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

/// <summary>Seeded tensors, the C# reference of the tiny models, and single-threaded session settings (the test
/// machine's cores are shared).</summary>
internal static class OrtTestData
{
    public const int K = 4;
    public const int N = 3;

    public static readonly OrtSessionSettings OneThread = new() { IntraOpThreads = 1, InterOpThreads = 1 };

    public static float[] Normal(int count, ulong seed)
    {
        var values = new float[count];
        DeterministicRandom.FillNormal(values, seed, 0, 1);
        return values;
    }

    /// <summary>Y[r, j] = sum_i X[r, i] W[i, j] + B[j] (+ the LoRA term when A [k, rank] and Bl [rank, n] are given).</summary>
    public static float[] Reference(float[] x, float[] w, float[] b, int rows, float[]? a = null, float[]? bl = null, int rank = 0)
    {
        var y = new float[rows * N];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < N; j++)
            {
                double sum = b[j];
                for (int i = 0; i < K; i++)
                {
                    sum += x[r * K + i] * w[i * N + j];
                }

                for (int q = 0; q < rank; q++)
                {
                    double xa = 0;
                    for (int i = 0; i < K; i++)
                    {
                        xa += x[r * K + i] * a![i * rank + q];
                    }

                    sum += xa * bl![q * N + j];
                }

                y[r * N + j] = (float)sum;
            }
        }

        return y;
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    /// <summary>Runs Y for X [rows, K] through a MatMul+Add session and returns Y's data.</summary>
    public static float[] RunY(OrtInferenceSession session, float[] x, int rows, OrtRunOptions? options = null)
    {
        using var input = OrtValue.FromMemory<float>(x, [rows, K]);
        OrtValue[] outputs = session.Run([new("X", input)], ["Y"], options);
        using OrtValue y = Assert.Single(outputs);
        Assert.Equal([rows, N], y.Shape);
        return y.AsSpan<float>().ToArray();
    }
}

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// fp32 matrix multiply, row-major: C[m, n] = op(A)[m, k] * op(B)[k, n] (+ C when accumulate), where op(A) = A [m, k]
/// or, with transA, A^T for A stored [k, m]; op(B) = B [k, n] or, with transB, B^T for B stored [n, k].
/// The three uses in a linear layer y = x W^T: forward (x, W, transB), input grad dx = dy W (plain), weight grad
/// dW += dy^T x (transA, accumulate).
/// Determinism contract: every C element is summed over k in the same order whatever the thread count, so results
/// are bit-identical run to run (bit-identical resume depends on it).
/// </summary>
public static class Gemm
{
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA = false, bool transB = false, bool accumulate = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a.Length < (long)m * k) throw new ArgumentException($"A holds {a.Length} values, needs {(long)m * k}", nameof(a));
        if (b.Length < (long)k * n) throw new ArgumentException($"B holds {b.Length} values, needs {(long)k * n}", nameof(b));
        if (c.Length < (long)m * n) throw new ArgumentException($"C holds {c.Length} values, needs {(long)m * n}", nameof(c));

        // Plain reference loops (a blocked, vectorised, multi-threaded kernel replaces this body).
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * m + i] : a[i * k + p];
                    float bv = transB ? b[j * k + p] : b[p * n + j];
                    sum += av * bv;
                }
                c[i * n + j] = accumulate ? c[i * n + j] + sum : sum;
            }
        }
    }
}

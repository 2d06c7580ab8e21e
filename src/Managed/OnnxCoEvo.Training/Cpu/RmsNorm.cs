using System.Numerics.Tensors;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// RMSNorm, fp32 CPU reference. Twin of native/kernels/rmsnorm.cu (coevo_rmsnorm_forward_f32): same maths, same
/// order of operations, same name; parity tests compare the two.
/// </summary>
public static class RmsNorm
{
    // Forward:
    //   rstd[r]  = 1 / sqrt(sum_c x[r, c]^2 / dim + eps)        (fp32 sum of squares)
    //   y[r, c]  = (x[r, c] * rstd[r]) * w[c]
    // Backward (from x, w and the saved rstd; y is not needed):
    //   with g = dy * w and r = rstd[row],
    //   dx[c] = r * g[c] - x[c] * (r^3 / dim) * sum_k g[k] * x[k]      (dr/dx_c = -r^3 x_c / dim)
    //   dw[c] = sum over rows of dy[c] * x[c] * r                       (rows added in order 0, 1, ...: deterministic)
    // Layout: x, y [rows, dim] row-major (element (r, c) at r * dim + c); weight [dim]; rstd [rows].

    /// <summary>
    /// y = x * rstd * weight per row, rstd = 1/sqrt(mean(x^2) + eps) per row (kept for the backward pass).
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, a dimension is below 1, eps is negative or
    /// not finite, or y/rstd overlap an input (the kernel forbids aliasing too).</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, Span<float> rstd,
        int rows, int dim, float eps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        if (!float.IsFinite(eps) || eps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be finite and >= 0");
        }

        long n = (long)rows * dim;
        RequireLength(x.Length, n, nameof(x), "[rows, dim]");
        RequireLength(weight.Length, dim, nameof(weight), "[dim]");
        RequireLength(y.Length, n, nameof(y), "[rows, dim]");
        RequireLength(rstd.Length, rows, nameof(rstd), "[rows]");
        if (y.Overlaps(x) || y.Overlaps(weight) || rstd.Overlaps(x) || rstd.Overlaps(weight) || rstd.Overlaps(y))
        {
            throw new ArgumentException("y and rstd must not overlap each other, x or weight");
        }

        ReadOnlySpan<float> w = weight[..dim];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * dim, dim);
            Span<float> yr = y.Slice(r * dim, dim);
            float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xr) / dim + eps);
            rstd[r] = inv;
            TensorPrimitives.Multiply(xr, inv, yr);
            TensorPrimitives.Multiply(yr, w, yr);
        }
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/>: dx (written, or added when <paramref name="accumulateDx"/>: the residual
    /// stream's gradient) and, when <paramref name="dWeight"/> is not empty, dWeight += (a frozen weight passes empty).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, int rows, int dim, bool accumulateDx = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        long n = (long)rows * dim;
        RequireLength(x.Length, n, nameof(x), "[rows, dim]");
        RequireLength(weight.Length, dim, nameof(weight), "[dim]");
        RequireLength(rstd.Length, rows, nameof(rstd), "[rows]");
        RequireLength(dy.Length, n, nameof(dy), "[rows, dim]");
        RequireLength(dx.Length, n, nameof(dx), "[rows, dim]");
        if (!dWeight.IsEmpty)
        {
            RequireLength(dWeight.Length, dim, nameof(dWeight), "[dim]");
        }

        // Each row's dx is independent: rows run in parallel blocks. dWeight sums over rows, so it runs serially after.
        unsafe
        {
            fixed (float* px = x, pw = weight, pr = rstd, pdy = dy, pdx = dx)
            {
                var xs = new Pinned<float>(px, (int)n);
                var ws = new Pinned<float>(pw, dim);
                var rs = new Pinned<float>(pr, rows);
                var dys = new Pinned<float>(pdy, (int)n);
                var dxs = new Pinned<float>(pdx, (int)n);
                RowParallel.For(rows, 4L * dim, (first, end) =>
                {
                    float[] g = new float[dim];
                    for (int r = first; r < end; r++)
                    {
                        ReadOnlySpan<float> xr = xs.Slice((long)r * dim, dim);
                        Span<float> dxr = dxs.Slice((long)r * dim, dim);
                        float inv = rs[r];
                        TensorPrimitives.Multiply(dys.Slice((long)r * dim, dim), ws.Span, g);
                        float coefficient = inv * inv * inv / dim * TensorPrimitives.Dot(g, xr);
                        TensorPrimitives.Multiply(g, inv, g);
                        TensorPrimitives.MultiplyAdd(xr, -coefficient, g, g);
                        if (accumulateDx)
                        {
                            TensorPrimitives.Add(dxr, g, dxr);
                        }
                        else
                        {
                            g.CopyTo(dxr);
                        }
                    }
                });
            }
        }

        if (!dWeight.IsEmpty)
        {
            Span<float> normalized = dim <= 1024 ? stackalloc float[dim] : new float[dim];
            Span<float> dw = dWeight[..dim];
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Multiply(x.Slice(r * dim, dim), rstd[r], normalized); // as in Forward: x * rstd
                TensorPrimitives.MultiplyAdd(dy.Slice(r * dim, dim), normalized, dw, dw);
            }
        }
    }

    private static void RequireLength(int actual, long needed, string name, string shape)
    {
        if (actual < needed)
        {
            throw new ArgumentException($"{name} {shape} has {actual} elements but {needed} are needed", name);
        }
    }
}

using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Optim;

/// <summary>Gradient clipping by the global L2 norm over all trainable parameters, as torch.nn.utils.clip_grad_norm_.</summary>
public static class GradientClipping
{
    /// <summary>torch's guard against dividing by a zero norm.</summary>
    public const double NormEpsilon = 1e-6;

    /// <summary>
    /// Scales every gradient by max_norm / (norm + 1e-6) when that is below 1 and returns the norm before clipping. A
    /// non-finite norm (an overflow or NaN somewhere) is returned with the gradients untouched: the caller stops or skips
    /// the step, since no scale can repair them.
    /// </summary>
    public static double ClipByGlobalNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        if (!(maxNorm > 0) || double.IsInfinity(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max norm must be finite and > 0 (to not clip, call GlobalNorm)");
        double norm = GlobalNorm(parameters);
        if (!double.IsFinite(norm))
            return norm;
        double scale = maxNorm / (norm + NormEpsilon);
        if (scale < 1)
        {
            foreach (Parameter p in parameters)
                if (p.Trainable)
                    TensorPrimitives.Multiply(p.Grad, (float)scale, p.Grad);
        }
        return norm;
    }

    /// <inheritdoc cref="ClipByGlobalNorm(IReadOnlyList{Parameter}, double)"/>
    public static double ClipByGlobalNorm(ParameterSet parameters, double maxNorm) => ClipByGlobalNorm(parameters.Trainable, maxNorm);

    /// <summary>
    /// sqrt of the sum of every trainable gradient element squared, accumulated in double in a fixed order (parameters in
    /// list order, four fixed lanes within each), so the value is the same on every machine whatever its vector width.
    /// </summary>
    public static double GlobalNorm(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sumOfSquares = 0;
        foreach (Parameter p in parameters)
            if (p.Trainable)
                sumOfSquares += SumOfSquares(p.Grad);
        return Math.Sqrt(sumOfSquares);
    }

    /// <inheritdoc cref="GlobalNorm(IReadOnlyList{Parameter})"/>
    public static double GlobalNorm(ParameterSet parameters) => GlobalNorm(parameters.Trainable);

    // Vector256 arithmetic is IEEE per lane whether or not the CPU accelerates it, so this sum is the same everywhere.
    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        ReadOnlySpan<Vector128<float>> blocks = MemoryMarshal.Cast<float, Vector128<float>>(values);
        Vector256<double> lanes = Vector256<double>.Zero;
        foreach (Vector128<float> block in blocks)
        {
            Vector256<double> wide = Vector256.Create(Vector128.WidenLower(block), Vector128.WidenUpper(block));
            lanes += wide * wide;
        }
        double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        for (int i = blocks.Length * Vector128<float>.Count; i < values.Length; i++)
            sum += (double)values[i] * values[i];
        return sum;
    }
}

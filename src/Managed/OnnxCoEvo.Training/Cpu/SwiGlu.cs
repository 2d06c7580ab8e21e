using System.Numerics.Tensors;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// The SwiGLU gate of a Llama MLP, fp32 CPU reference: h = silu(gate) * up. Twin of native/kernels/swiglu.cu.
/// </summary>
public static class SwiGlu
{
    // Forward:  sig = 1 / (1 + exp(-g));  h = (g * sig) * u
    // Backward: dsilu/dg = sig * (1 + g * (1 - sig))
    //           dg = dh * u * sig * (1 + g * (1 - sig))
    //           du = dh * g * sig
    // Only gate and up are saved: h (the down projection's input) is cheap to recompute with Forward.
    // Layout: gate, up, h, dh, dGate, dUp [rows, width] row-major, all the same length (elementwise).

    public static unsafe void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> h, int rows, int width)
    {
        long n = Require(rows, width, gate.Length, up.Length, h.Length);
        fixed (float* pg = gate, pu = up, ph = h)
        {
            var gs = new Pinned<float>(pg, (int)n);
            var us = new Pinned<float>(pu, (int)n);
            var hs = new Pinned<float>(ph, (int)n);
            RowParallel.For(rows, 8L * width, (first, end) =>
            {
                long start = (long)first * width;
                int count = (end - first) * width;
                Span<float> hr = hs.Slice(start, count);
                TensorPrimitives.Sigmoid(gs.Slice(start, count), hr);
                TensorPrimitives.Multiply(hr, gs.Slice(start, count), hr);
                TensorPrimitives.Multiply(hr, us.Slice(start, count), hr);
            });
        }
    }

    /// <summary>dGate and dUp (written) from the saved gate and up and the output gradient.</summary>
    public static unsafe void Backward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> dh,
        Span<float> dGate, Span<float> dUp, int rows, int width)
    {
        long n = Require(rows, width, gate.Length, up.Length, dh.Length);
        Require(rows, width, dGate.Length, dUp.Length, dUp.Length);
        fixed (float* pg = gate, pu = up, pdh = dh, pdg = dGate, pdu = dUp)
        {
            var gs = new Pinned<float>(pg, (int)n);
            var us = new Pinned<float>(pu, (int)n);
            var dhs = new Pinned<float>(pdh, (int)n);
            var dgs = new Pinned<float>(pdg, (int)n);
            var dus = new Pinned<float>(pdu, (int)n);
            RowParallel.For(rows, 16L * width, (first, end) =>
            {
                long start = (long)first * width;
                int count = (end - first) * width;
                ReadOnlySpan<float> g = gs.Slice(start, count), u = us.Slice(start, count), d = dhs.Slice(start, count);
                Span<float> dg = dgs.Slice(start, count), du = dus.Slice(start, count);
                TensorPrimitives.Sigmoid(g, dg); // dg holds sig until its last line
                for (int i = 0; i < count; i++)
                {
                    float sig = dg[i], gi = g[i], di = d[i];
                    du[i] = di * gi * sig;
                    dg[i] = di * u[i] * sig * (1f + gi * (1f - sig));
                }
            });
        }
    }

    private static long Require(int rows, int width, int first, int second, int third)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        long n = (long)rows * width;
        if (first < n || second < n || third < n)
            throw new ArgumentException($"every SwiGLU buffer [rows, width] needs {n} elements; have {first}, {second} and {third}");
        return n;
    }
}

using OnnxCoEvo.Training.Cpu;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Model;

/// <summary>
/// One linear module of a Llama block bound to its parameters: weight [out, in], optional bias [out], and the LoRA
/// factors A [r, in], B [out, r] when the adapter targets it. Gradients go only to trainable parameters.
/// </summary>
internal sealed class Projection
{
    public Projection(Parameter weight, Parameter? bias, Parameter? loraA, Parameter? loraB, float loraScaling)
    {
        Weight = weight;
        Bias = bias;
        LoraA = loraA;
        LoraB = loraB;
        LoraScaling = loraScaling;
        OutFeatures = weight.Shape[0];
        InFeatures = weight.Shape[1];
        LoraRank = loraA?.Shape[0] ?? 0;
    }

    public Parameter Weight { get; }

    public Parameter? Bias { get; }

    public Parameter? LoraA { get; }

    public Parameter? LoraB { get; }

    public float LoraScaling { get; }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    /// <summary>0 when the adapter does not target this module.</summary>
    public int LoraRank { get; }

    /// <summary>y [rows, out] = x W^T + b (+ the LoRA term when <paramref name="adapter"/>, which writes xa [rows, r]).</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y, int rows, bool adapter, Span<float> xa)
    {
        Linear.Forward(x, Weight.Value, Bias is null ? default : Bias.Value, y, rows, InFeatures, OutFeatures);
        if (adapter && LoraA is not null)
            Linear.LoraForward(x, LoraA.Value, LoraB!.Value, LoraScaling, xa, y, rows, InFeatures, OutFeatures, LoraRank);
    }

    /// <summary>Parameter gradients += (trainable ones only); dx written or added (skipped when empty).</summary>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, bool accumulateDx, int rows, bool adapter, ReadOnlySpan<float> xa)
    {
        Linear.Backward(x, Weight.Value, dy, dx, Weight.Grad, Bias is null ? default : Bias.Grad, rows, InFeatures, OutFeatures, accumulateDx);
        if (adapter && LoraA is not null)
            Linear.LoraBackward(x, LoraA.Value, LoraB!.Value, LoraScaling, xa, dy, dx, LoraA.Grad, LoraB.Grad, rows, InFeatures, OutFeatures, LoraRank);
    }
}

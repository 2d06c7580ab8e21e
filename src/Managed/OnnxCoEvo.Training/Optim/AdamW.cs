using System.Numerics;
using System.Runtime.InteropServices;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Optim;

/// <summary>AdamW hyperparameters; the defaults are torch.optim.AdamW's except weight decay, which is 0 as in HF's TrainingArguments.</summary>
public sealed record AdamWOptions
{
    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double Epsilon { get; init; } = 1e-8;

    public double WeightDecay { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (!(Beta1 is >= 0 and < 1))
            throw new ArgumentException($"AdamW beta1 must be in [0, 1), is {Beta1}");
        if (!(Beta2 is >= 0 and < 1))
            throw new ArgumentException($"AdamW beta2 must be in [0, 1), is {Beta2}");
        if (!(Epsilon >= 0) || double.IsInfinity(Epsilon))
            throw new ArgumentException($"AdamW epsilon must be finite and >= 0, is {Epsilon}");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new ArgumentException($"AdamW weight decay must be finite and >= 0, is {WeightDecay}");
    }
}

/// <summary>
/// The optimizer's state for a checkpoint: the number of updates done and, per trainable parameter p, the first and
/// second moment as fp32 tensors named "{p}.exp_avg" and "{p}.exp_avg_sq" (torch's state keys), in parameter order.
/// </summary>
public sealed record AdamWState(long Step, IReadOnlyList<NamedTensor> Tensors);

/// <summary>
/// AdamW with decoupled weight decay (Loshchilov and Hutter), the update torch.optim.AdamW makes, with fp32 moments per
/// trainable parameter. The parameters are those trainable when the optimizer is built, in <see cref="ParameterSet"/> order.
/// </summary>
public sealed class AdamW
{
    public const string FirstMomentSuffix = ".exp_avg";
    public const string SecondMomentSuffix = ".exp_avg_sq";

    private readonly float[][] _firstMoments;
    private readonly float[][] _secondMoments;

    public AdamW(ParameterSet parameters, AdamWOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Options = options ?? new AdamWOptions();
        Options.Validate();
        Parameters = parameters.Trainable;
        _firstMoments = Parameters.Select(p => new float[p.Length]).ToArray();
        _secondMoments = Parameters.Select(p => new float[p.Length]).ToArray();
    }

    public AdamWOptions Options { get; }

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Updates done so far (torch's per-parameter "step", the same for every parameter here).</summary>
    public long StepCount { get; private set; }

    /// <summary>Name and shape of every state tensor, in the order <see cref="ExportState"/> gives them.</summary>
    public IEnumerable<(string Name, int[] Shape)> StateLayout => StateTensors().Select(t => (t.Name, t.Shape));

    /// <summary>One update of every parameter from its accumulated gradient (gradients are left as they are).</summary>
    public void Step(float learningRate)
    {
        if (!float.IsFinite(learningRate) || learningRate < 0)
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "learning rate must be finite and >= 0");
        long t = StepCount + 1;
        // Scalars in double, as torch computes them from Python floats, then rounded once to fp32:
        //   p      <- p * (1 - lr * wd)                                   (decoupled decay, before the Adam step)
        //   m      <- b1 m + (1 - b1) g
        //   v      <- b2 v + (1 - b2) g^2
        //   p      <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
        // which is p - lr * mhat / (sqrt(vhat) + eps) with mhat = m / (1 - b1^t), vhat = v / (1 - b2^t).
        double b1 = Options.Beta1, b2 = Options.Beta2;
        var scalars = new UpdateScalars(
            Decay: (float)(1 - learningRate * Options.WeightDecay),
            Beta1: (float)b1,
            OneMinusBeta1: (float)(1 - b1),
            Beta2: (float)b2,
            OneMinusBeta2: (float)(1 - b2),
            StepSize: (float)(learningRate / (1 - Math.Pow(b1, t))),
            InverseBias2Sqrt: (float)(1 / Math.Sqrt(1 - Math.Pow(b2, t))),
            Epsilon: (float)Options.Epsilon);
        foreach (Parameter p in Parameters)
            if (p.Grad.Length != p.Length)
                throw new InvalidOperationException($"parameter '{p.Name}' was made frozen after the optimizer was built; it has no gradient");
        for (int i = 0; i < Parameters.Count; i++)
            Update(Parameters[i].Value, Parameters[i].Grad, _firstMoments[i], _secondMoments[i], scalars);
        StepCount = t;
    }

    private readonly record struct UpdateScalars(float Decay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float StepSize, float InverseBias2Sqrt, float Epsilon);

    // One fused pass per parameter (each element read and written once); the vector body and the scalar tail do the
    // same IEEE operations in the same order, so the result does not depend on where the tail starts.
    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, UpdateScalars s)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Span<Vector<float>> pv = MemoryMarshal.Cast<float, Vector<float>>(p);
            ReadOnlySpan<Vector<float>> gv = MemoryMarshal.Cast<float, Vector<float>>(g);
            Span<Vector<float>> mv = MemoryMarshal.Cast<float, Vector<float>>(m);
            Span<Vector<float>> vv = MemoryMarshal.Cast<float, Vector<float>>(v);
            var decay = new Vector<float>(s.Decay);
            var beta1 = new Vector<float>(s.Beta1);
            var oneMinusBeta1 = new Vector<float>(s.OneMinusBeta1);
            var beta2 = new Vector<float>(s.Beta2);
            var oneMinusBeta2 = new Vector<float>(s.OneMinusBeta2);
            var stepSize = new Vector<float>(s.StepSize);
            var inverseBias2Sqrt = new Vector<float>(s.InverseBias2Sqrt);
            var epsilon = new Vector<float>(s.Epsilon);
            for (int k = 0; k < pv.Length; k++)
            {
                Vector<float> grad = gv[k];
                Vector<float> first = beta1 * mv[k] + oneMinusBeta1 * grad;
                Vector<float> second = beta2 * vv[k] + oneMinusBeta2 * (grad * grad);
                mv[k] = first;
                vv[k] = second;
                pv[k] = pv[k] * decay - stepSize * first / (Vector.SquareRoot(second) * inverseBias2Sqrt + epsilon);
            }
            i = pv.Length * Vector<float>.Count;
        }
        for (; i < p.Length; i++)
        {
            float grad = g[i];
            float first = s.Beta1 * m[i] + s.OneMinusBeta1 * grad;
            float second = s.Beta2 * v[i] + s.OneMinusBeta2 * (grad * grad);
            m[i] = first;
            v[i] = second;
            p[i] = p[i] * s.Decay - s.StepSize * first / (MathF.Sqrt(second) * s.InverseBias2Sqrt + s.Epsilon);
        }
    }

    /// <summary>A copy of the step count and both moments of every parameter.</summary>
    public AdamWState ExportState() => new(StepCount,
        StateTensors().Select(t => new NamedTensor(t.Name, (int[])t.Shape.Clone(), (float[])t.Values.Clone())).ToList());

    /// <summary>The live moment buffers in <see cref="StateLayout"/> order, uncopied (checkpoints stream them to disk).</summary>
    internal IReadOnlyList<NamedTensor> StateTensors()
    {
        var tensors = new List<NamedTensor>(2 * Parameters.Count);
        for (int i = 0; i < Parameters.Count; i++)
        {
            tensors.Add(new NamedTensor(Parameters[i].Name + FirstMomentSuffix, Parameters[i].Shape, _firstMoments[i]));
            tensors.Add(new NamedTensor(Parameters[i].Name + SecondMomentSuffix, Parameters[i].Shape, _secondMoments[i]));
        }
        return tensors;
    }

    /// <summary>
    /// Replaces the state with <paramref name="state"/>, which must hold exactly both moments of every parameter with the
    /// parameter's shape. Everything is checked before anything changes; a bad state throws <see cref="ArgumentException"/>
    /// naming the tensor.
    /// </summary>
    public void ImportState(AdamWState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Step < 0)
            throw new ArgumentException($"AdamW state step must be >= 0, is {state.Step}");
        var byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (NamedTensor tensor in state.Tensors)
            if (!byName.TryAdd(tensor.Name, tensor))
                throw new ArgumentException($"AdamW state tensor '{tensor.Name}' is given twice");
        var expected = StateLayout.ToList();
        foreach ((string name, int[] shape) in expected)
        {
            if (!byName.TryGetValue(name, out NamedTensor? tensor))
                throw new ArgumentException($"AdamW state tensor '{name}' is missing");
            if (!tensor.Shape.AsSpan().SequenceEqual(shape))
                throw new ArgumentException($"AdamW state tensor '{name}' has shape {TensorShape.Format(tensor.Shape)} but the parameter is {TensorShape.Format(shape)}");
        }
        if (byName.Keys.Except(expected.Select(e => e.Name)).FirstOrDefault() is { } unknown)
            throw new ArgumentException($"AdamW state tensor '{unknown}' belongs to no trainable parameter");
        for (int i = 0; i < Parameters.Count; i++)
        {
            byName[Parameters[i].Name + FirstMomentSuffix].Values.CopyTo(_firstMoments[i], 0);
            byName[Parameters[i].Name + SecondMomentSuffix].Values.CopyTo(_secondMoments[i], 0);
        }
        StepCount = state.Step;
    }
}

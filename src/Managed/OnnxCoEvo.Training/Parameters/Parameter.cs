using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Training.Parameters;

/// <summary>
/// One named fp32 tensor of a model: its values and, when trainable, its gradient (same length, row-major, the
/// shape's last dimension contiguous). Names are Hugging Face state-dict names ("model.layers.0.self_attn.q_proj.weight");
/// LoRA factors are "{module}.lora_A.weight" [r, in] and "{module}.lora_B.weight" [out, r] (PEFT's names without
/// the "base_model.model." prefix).
/// </summary>
public sealed class Parameter
{
    public Parameter(string name, int[] shape, float[] value, bool trainable)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 1)
                throw new ArgumentException($"parameter '{name}': dimension {d} in shape {TensorShape.Format(shape)} is below 1");
            count *= d;
        }
        if (count != value.Length)
            throw new ArgumentException($"parameter '{name}': shape {TensorShape.Format(shape)} holds {count} values but {value.Length} were given");
        Name = name;
        Shape = shape;
        Value = value;
        Trainable = trainable;
    }

    public string Name { get; }

    public int[] Shape { get; }

    public float[] Value { get; }

    public int Length => Value.Length;

    /// <summary>Accumulated gradient; allocated when the parameter is trainable, empty otherwise.</summary>
    public float[] Grad { get; private set; } = [];

    /// <summary>Frozen parameters carry no gradient buffer; backward passes skip their weight gradients.</summary>
    public bool Trainable
    {
        get => Grad.Length == Value.Length && Value.Length > 0;
        set => Grad = value ? (Grad.Length == Value.Length ? Grad : new float[Value.Length]) : [];
    }

    public void ZeroGrad() => Array.Clear(Grad);

    public override string ToString() => $"{Name} {TensorShape.Format(Shape)}{(Trainable ? " trainable" : "")}";
}

namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>Element types of the safetensors format that this toolkit reads and writes.</summary>
public enum TensorDType
{
    Bool,
    U8,
    I8,
    U16,
    I16,
    F16,
    BF16,
    U32,
    I32,
    F32,
    U64,
    I64,
    F64,
}

public static class TensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ByteSize(this TensorDType dtype) => dtype switch
    {
        TensorDType.Bool or TensorDType.U8 or TensorDType.I8 => 1,
        TensorDType.U16 or TensorDType.I16 or TensorDType.F16 or TensorDType.BF16 => 2,
        TensorDType.U32 or TensorDType.I32 or TensorDType.F32 => 4,
        TensorDType.U64 or TensorDType.I64 or TensorDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>The spelling in a safetensors header: "F32", "BF16", "BOOL", ...</summary>
    public static string ToHeaderString(this TensorDType dtype) => dtype switch
    {
        TensorDType.Bool => "BOOL",
        _ when Enum.IsDefined(dtype) => dtype.ToString(),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>Parses a header spelling exactly (case-sensitive, as the format is).</summary>
    public static bool TryParseHeaderString(string text, out TensorDType dtype)
    {
        foreach (TensorDType candidate in Enum.GetValues<TensorDType>())
        {
            if (candidate.ToHeaderString() == text)
            {
                dtype = candidate;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>True for the types <see cref="SafeTensorsFile.ReadAsFloat32"/> converts: F32, F16, BF16.</summary>
    public static bool IsFloat32Convertible(this TensorDType dtype) =>
        dtype is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16;

    /// <summary>The PyTorch name HF config.json uses in "torch_dtype" ("float32", "bfloat16", ...).</summary>
    public static string ToTorchName(this TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => "float32",
        TensorDType.F16 => "float16",
        TensorDType.BF16 => "bfloat16",
        TensorDType.F64 => "float64",
        TensorDType.Bool => "bool",
        TensorDType.U8 => "uint8",
        TensorDType.I8 => "int8",
        TensorDType.I16 => "int16",
        TensorDType.U16 => "uint16",
        TensorDType.I32 => "int32",
        TensorDType.U32 => "uint32",
        TensorDType.I64 => "int64",
        TensorDType.U64 => "uint64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };
}
